"""The passage phase: candidate story pairs centrally, their passages in the workers."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ingest.arrays import unique, unique_inverse
from ingest.config import Config
from ingest.dedup.clusters import Deduplicator
from ingest.dedup.decisions import DedupResult
from ingest.dedup.part_files import PartFiles, part_path
from ingest.dedup.passages import (
    anchor_buckets,
    bucket_pairs,
    doc_bits,
    match_pairs,
    min_shared_anchors,
    pack_anchors,
)
from ingest.dedup.spilled_anchors import spilled_candidate_pairs
from ingest.dedup.stock_phrases import StockAnchors, stock_limit
from ingest.run.spill import SpilledWords
from ingest.workspace import Workspace

# One passage between two documents, located by (batch, row) and character offsets.
PASSAGE = np.dtype([("a_batch", "i4"), ("a_row", "i4"), ("b_batch", "i4"), ("b_row", "i4"),
                    ("a_start", "i4"), ("a_end", "i4"), ("b_start", "i4"), ("b_end", "i4"),
                    ("a_share", "f8"), ("b_share", "f8")])
# About this many pairs a chunk (a batch of the passage phase): small enough that the
# workers finish together.
_PAIRS_PER_CHUNK = 50_000
# Documents whose word spans a passage task holds at a time (a few MB).
_SPANS_AT_ONCE = 4096


def passage_tasks(dedup: Deduplicator, result: DedupResult, config: Config, words: SpilledWords,
                  workers: int, spill_to: Workspace | None = None) -> tuple[list[np.ndarray | None], StockAnchors]:
    """The candidate pairs of stories for passage search, as chunks of (a_batch, a_row,
    b_batch, b_row) rows: the batches of the passage phase; and the run's stock anchors,
    which every batch needs. `spill_to`: the workspace where the anchors and their pairs
    are spilled (`spilled_anchors.py`) and each chunk saved (None in the list:
    `passage_batch` reads it), None to find and hold them in memory."""
    passages = config.dedup.passages
    where = _stories(dedup, result.cluster_of, words, passages.ngram)
    n = len(where)
    min_shared, stock_over = min_shared_anchors(passages), stock_limit(n, passages)
    if spill_to is None:
        packed = pack_anchors(*_anchors(where, words), 0, doc_bits(n))
        buckets, stock = anchor_buckets(packed, doc_bits(n), stock_over)
        del packed
        first, second = bucket_pairs(buckets, n, min_shared, passages.rare_anchor_documents)
        return [np.hstack((where[first[lo:hi]], where[second[lo:hi]]))
                for lo, hi in _chunk_bounds(len(first), workers)], stock
    anchor_sets = (words.anchors(batch, row) for batch, row in where.tolist())
    pairs, stock = spilled_candidate_pairs(anchor_sets, n, min_shared, stock_over, spill_to.root,
                                           passages.rare_anchor_documents)
    try:
        chunks: list[np.ndarray | None] = []
        for lo, hi in _chunk_bounds(len(pairs), workers):
            first, second = pairs.read(lo, hi)
            np.save(_chunk_path(spill_to, len(chunks)), np.hstack((where[first], where[second])))
            chunks.append(None)
    finally:
        pairs.discard()
    return chunks, stock


def _stories(dedup: Deduplicator, cluster_of: dict[str, str], words: SpilledWords, ngram: int) -> np.ndarray:
    """(batch, row) of the documents passages are searched in (`passages.stories`), in
    the order of their ids, from the sketches' columns and each batch's word offsets (a
    `Sketch` made a document cost 0.25 s of the flow's at 100,000)."""
    ids = sorted(doc_id for doc_id in dedup.ids() if cluster_of.get(doc_id, doc_id) == doc_id)
    where = np.array([dedup.location(doc_id) for doc_id in ids], dtype=np.int32).reshape(-1, 2)
    long = np.zeros(len(where), dtype=bool)
    for batch in unique(where[:, 0]).tolist():
        at = np.flatnonzero(where[:, 0] == batch)
        long[at] = np.diff(words.array(batch, "offsets"))[where[at, 1]] >= ngram
    return where[long]


def _anchors(where: np.ndarray, words: SpilledWords) -> tuple[np.ndarray, np.ndarray]:
    """The anchors of the documents at `where` one after another, in its order, and how
    many each has: each batch's read whole and its documents' copied into place (a read
    a document cost 0.1 s of the flow's at 100,000, and its arrays were concatenated
    again)."""
    batches = unique(where[:, 0]).tolist()
    starts, sizes = np.zeros(len(where), dtype=np.int64), np.zeros(len(where), dtype=np.int64)
    for batch in batches:
        at = np.flatnonzero(where[:, 0] == batch)
        offsets = words.array(batch, "anchor-offsets")
        starts[at] = offsets[where[at, 1]]
        sizes[at] = offsets[where[at, 1] + 1] - starts[at]
    ends = np.cumsum(sizes)
    anchors = np.empty(int(ends[-1]) if len(ends) else 0, dtype=np.uint64)
    for batch in batches:
        at = np.flatnonzero(where[:, 0] == batch)
        into = np.repeat(ends[at] - sizes[at] - starts[at], sizes[at])  # a place minus its source
        source = np.arange(len(into)) - np.repeat(np.cumsum(sizes[at]) - sizes[at] - starts[at], sizes[at])
        anchors[source + into] = words.whole(batch, "anchors")[source]
    return anchors, sizes


def _chunk_bounds(pairs: int, workers: int) -> list[tuple[int, int]]:
    """The passage phase's chunks of `pairs` pairs, as (start, stop): at least two a
    worker, about _PAIRS_PER_CHUNK each, none empty (`np.array_split`'s sizes)."""
    chunks = max(2 * workers, -(-pairs // _PAIRS_PER_CHUNK))
    size, larger = divmod(pairs, chunks)
    stops = np.cumsum([size + 1] * larger + [size] * (chunks - larger)).tolist()
    return [(lo, hi) for lo, hi in zip([0, *stops], stops) if hi > lo]


def _chunk_path(workspace: Workspace, chunk: int) -> Path:
    return workspace.words(chunk, "passage-pairs")


def passage_batch(pairs: np.ndarray | None, stock: StockAnchors, config: Config, workspace: Workspace,
                  spill_as: int | None = None) -> np.ndarray | int:
    """The passages of these pairs (rows of a_batch, a_row, b_batch, b_row), in
    character offsets, read from the spilled words of the clean phase, the words of the
    run's `stock` anchors not counted towards a passage's length. With `spill_as`
    (when the central steps spill): their count, the passages saved in the workspace
    as that chunk's (`spill_sides` reads them); `pairs` None: that chunk's, as
    `passage_tasks` saved them."""
    if pairs is None:
        pairs = np.load(_chunk_path(workspace, spill_as))
    words = SpilledWords(workspace)
    try:
        found = match_pairs(((tuple(p[:2]), tuple(p[2:])) for p in pairs.tolist()),
                            lambda ref: words.grams(*ref), config.dedup.passages, stock)
        found = np.array([(*a, *b, *rest) for a, b, *rest in found], dtype=PASSAGE)
        _in_characters(found, words)
        if spill_as is None:
            return found
        np.save(workspace.words(spill_as, "passages"), found)
        return len(found)
    finally:
        words.close()


def _in_characters(found: np.ndarray, words: SpilledWords) -> None:
    """Passages' word positions turned into character offsets, in place, every document's
    word spans read once, _SPANS_AT_ONCE documents at a time (a chunk's 35,000 passages
    at 100,000 documents meet 23,000 documents; read per passage through a cache of
    4,096, 32,000 reads)."""
    docs = np.concatenate([found[f"{me}_batch"].astype(np.int64) << 32 | found[f"{me}_row"] for me in "ab"])
    starts = np.concatenate([found[f"{me}_start"] for me in "ab"])
    ends = np.concatenate([found[f"{me}_end"] for me in "ab"]) - 1
    distinct, inverse = unique_inverse(docs)
    order = np.argsort(inverse, kind="stable")
    sides_before = np.searchsorted(inverse[order], np.arange(0, len(distinct) + _SPANS_AT_ONCE, _SPANS_AT_ONCE))
    for part, first in enumerate(range(0, len(distinct), _SPANS_AT_ONCE)):
        spans = [words.spans(doc >> 32, doc & 0xFFFFFFFF) for doc in distinct[first : first + _SPANS_AT_ONCE].tolist()]
        sizes = np.fromiter(map(len, spans), dtype=np.int64, count=len(spans))
        base = np.cumsum(sizes) - sizes
        spans = np.concatenate(spans)
        at = order[sides_before[part] : sides_before[part + 1]]
        doc_base = base[inverse[at] - first]
        starts[at] = spans[doc_base + starts[at], 0]
        ends[at] = spans[doc_base + ends[at], 1]
    for me, side in zip("ab", (slice(0, len(found)), slice(len(found), None))):
        found[f"{me}_start"], found[f"{me}_end"] = starts[side], ends[side]


# One side of a passage as the batch of its document writes it.
PASSAGE_SIDE = np.dtype([("row", "i4"), ("start", "i4"), ("end", "i4"), ("other_batch", "i4"),
                         ("other_row", "i4"), ("other_start", "i4"), ("other_end", "i4"), ("similarity", "f8")])


def passages_by_batch(found: Sequence[np.ndarray], batches: int) -> list[np.ndarray]:
    """Every passage twice, once from each side, grouped by the batch of that side."""
    allp = np.concatenate(found) if found else np.empty(0, dtype=PASSAGE)
    out = []
    for b in range(batches):
        out.append(np.concatenate([_side(allp[allp[f"{me}_batch"] == b], me) for me in ("a", "b")]))
    return out


def spill_sides(workspace: Workspace, chunks: int, batches: int) -> None:
    """`passages_by_batch` out of core: the passages the chunks saved (`passage_batch`
    with `spill_as`), each side appended to its batch's file (`batch_sides`) in the
    same order, a chunk in memory at a time; the chunks' files are deleted."""
    sides = PartFiles(workspace.root, _SIDES, batches, PASSAGE_SIDE)
    for me in ("a", "b"):
        for chunk in range(chunks):
            found = np.load(workspace.words(chunk, "passages"))
            sides.add(_side(found, me), found[f"{me}_batch"])
    for chunk in range(chunks):
        workspace.words(chunk, "passages").unlink()
        _chunk_path(workspace, chunk).unlink(missing_ok=True)


def batch_sides(workspace: Workspace, batch: int) -> np.ndarray:
    """One batch's sides of passages, as `spill_sides` left them."""
    return np.fromfile(part_path(workspace.root, _SIDES, batch), dtype=PASSAGE_SIDE)


_SIDES = "passage-sides"


def _side(mine: np.ndarray, me: str) -> np.ndarray:
    """The `me` side ("a" or "b") of passages, as its batch writes it."""
    other = "b" if me == "a" else "a"
    side = np.empty(len(mine), dtype=PASSAGE_SIDE)
    side["row"], side["start"], side["end"] = mine[f"{me}_row"], mine[f"{me}_start"], mine[f"{me}_end"]
    side["other_batch"], side["other_row"] = mine[f"{other}_batch"], mine[f"{other}_row"]
    side["other_start"], side["other_end"] = mine[f"{other}_start"], mine[f"{other}_end"]
    side["similarity"] = mine[f"{me}_share"]
    return side
