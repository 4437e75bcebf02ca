"""Reused passages: runs of words that two distinct stories share (a quote, a paragraph).

Three steps, so that the expensive one can run on the workers:

1. `anchors`, per document while it is cleaned: its winnowed n-gram hashes (the
   smallest hash of every `window` consecutive n-grams). Two documents that share a
   run of `anchor_words` words share that run's smallest hash, so such a run is never
   missed, and every document picks the same anchors from the same text.
2. `candidate_pairs`, centrally: stories that share enough anchors to hold a passage
   (or one rare anchor, which a quote split into short parts may be all they share),
   and the run's stock anchors, found in more stories than `stock_limit`.
3. `match_pairs`, over chunks of pairs: the shared word runs of each pair, merged
   across an inserted attribution into passages of at least `min_words` words that
   stock anchors do not cover (a stock phrase, or two side by side, is no passage);
   the runs and their merging in `shared_runs.py`.

`find_passages` strings the three together in one process.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from ingest.arrays import runs_of
from ingest.config import PassageConfig
from ingest.dedup.lsh import same_size_buckets
from ingest.dedup.minhash import Sketch
from ingest.dedup.shingles import ngram_hashes
from ingest.dedup.shared_runs import Run, merged_passages, shared_runs
from ingest.dedup.stock_phrases import ANCHOR_MIX, NO_STOCK, StockAnchors, stock_limit

# Anchors shared by more documents than this pair nobody, whatever `stock_limit` says:
# the pairs of one anchor grow with the square of its documents.
MAX_ANCHOR_DOCS = 50
_EMPTY = np.empty(0, dtype=np.uint64)
_GRAMS_CACHED = 8192
_CODES_AT_ONCE = 4_000_000
# n-grams of second documents searched at once (`match_pairs`): arrays of a few MB.
_B_GRAMS_AT_ONCE = 1 << 19


@dataclass(frozen=True)
class PassageMatch:
    """A reused passage, in word positions: words [start, end) of one document."""

    start: int
    end: int
    other_id: str
    other_start: int
    other_end: int
    similarity: float  # share of the passage's words found in the other span


def window(config: PassageConfig) -> int:
    """n-grams per winnowing window: a run of `anchor_words` words spans one window."""
    return max(1, config.anchor_words - config.ngram + 1)


def min_shared_anchors(config: PassageConfig) -> int:
    """A passage of min_words words spans at least two disjoint windows when it is that
    long, so it shares at least two anchors: pairs with one shared anchor cannot hold one."""
    return 2 if config.min_words >= 2 * window(config) + config.ngram - 1 else 1


def grams(tokens: np.ndarray, config: PassageConfig) -> np.ndarray:
    """A document's n-gram hashes in order, what passages are made of (none below n words)."""
    return ngram_hashes(tokens, config.ngram) if len(tokens) >= config.ngram else _EMPTY


def anchors(tokens: np.ndarray, config: PassageConfig) -> np.ndarray:
    """Sorted unique anchor hashes of a document's word hashes (none below n words)."""
    return winnow(grams(tokens, config), config)


def winnow(grams: np.ndarray, config: PassageConfig) -> np.ndarray:
    """Sorted unique anchors of a document's n-gram hashes."""
    return texts_winnow(grams, np.array([0, len(grams)]), config)[0]


def texts_winnow(grams: np.ndarray, offsets: np.ndarray, config: PassageConfig) -> tuple[np.ndarray, np.ndarray]:
    """`winnow` of each document's n-grams (`grams[offsets[i]:offsets[i + 1]]`), in one set
    of array operations: the anchors concatenated, and where each document's start."""
    w = window(config)
    sizes = np.diff(offsets)
    owner = np.repeat(np.arange(len(sizes)), sizes)
    count = max(0, len(grams) - w + 1)
    # The minimum of the window at every n-gram (across documents' ends too): w - 1
    # element-wise minimums of shifted views, cheaper than a sliding-window view's reduction.
    smallest = grams[:count].copy()
    for k in range(1, w):
        np.minimum(smallest, grams[k : k + count], out=smallest)
    inside = np.arange(count) + w <= offsets[1:][owner[:count]]
    few = (sizes <= w)[owner]  # a document of one window or less: all its n-grams
    found = np.concatenate((smallest[inside], grams[few]))
    found_owner = np.concatenate((owner[:count][inside], owner[few]))
    # A window's minimum is mostly the next one's too: the repeats go before sorting.
    changed = np.ones(len(found), dtype=bool)
    changed[1:] = (found[1:] != found[:-1]) | (found_owner[1:] != found_owner[:-1])
    found, found_owner = found[changed], found_owner[changed]
    # By document, then anchor: the anchors sorted (equal ones in any order), then a
    # stable sort by document, a radix sort on 16-bit numbers: five times faster than
    # `np.lexsort` on a batch's few hundred documents.
    order = np.argsort(found)
    order = order[np.argsort(found_owner[order].astype(np.uint16 if len(sizes) <= 1 << 16 else np.int64),
                             kind="stable")]
    found, found_owner = found[order], found_owner[order]
    first = np.ones(len(found), dtype=bool)
    first[1:] = (found[1:] != found[:-1]) | (found_owner[1:] != found_owner[:-1])
    return found[first], np.concatenate(([0], np.cumsum(np.bincount(found_owner[first], minlength=len(sizes)))))


def candidate_pairs(anchor_sets: Sequence[np.ndarray], min_shared: int, stock_over: int = MAX_ANCHOR_DOCS,
                    rare_at_most: int = 0) -> tuple[np.ndarray, np.ndarray, StockAnchors]:
    """Index pairs (first < second) of the documents sharing at least `min_shared` anchors
    other than stock ones, or one rare anchor (of at most `rare_at_most` documents), and
    the stock anchors: those of more than `stock_over` documents.

    Vectorised per bucket size (`same_size_buckets`), and in parts by the first document
    of a pair, so that no more than about _CODES_AT_ONCE pair codes are held at a time
    (18 million codes at 100,000 news documents). `spilled_anchors.py` finds the same
    pairs out of core.
    """
    n = len(anchor_sets)
    if n < 2:
        return np.empty(0, dtype=np.int32), np.empty(0, dtype=np.int32), NO_STOCK
    packed = packed_anchors(anchor_sets, 0, doc_bits(n))
    buckets, stock = anchor_buckets(packed, doc_bits(n), stock_over)
    del packed
    return *bucket_pairs(buckets, n, min_shared, rare_at_most), stock


def bucket_pairs(buckets: list[tuple[np.ndarray, np.ndarray, np.ndarray]], n: int, min_shared: int,
                 rare_at_most: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """`candidate_pairs` of `n` documents from their `anchor_buckets`."""
    if not buckets:
        return np.empty(0, dtype=np.int32), np.empty(0, dtype=np.int32)
    total = sum(len(members) * len(first) * times_counted(len(members[0]), min_shared, rare_at_most)
                for members, first, _ in buckets)
    parts = max(1, -(-total // _CODES_AT_ONCE))
    found = []
    for part in range(parts):
        codes = []
        for members, first, second in buckets:
            lo, hi = members[:, first].ravel(), members[:, second].ravel()
            mine = lo % parts == part
            codes.extend([lo[mine].astype(np.int64) * n + hi[mine]]
                         * times_counted(len(members[0]), min_shared, rare_at_most))
        found.append(pairs_shared(np.concatenate(codes), min_shared))
        del codes
    chosen = np.sort(np.concatenate(found))
    return (chosen // n).astype(np.int32), (chosen % n).astype(np.int32)


def doc_bits(n: int) -> int:
    """Bits of a document number among n, the low bits of `packed_anchors`."""
    return max(1, (n - 1).bit_length())


def packed_anchors(anchor_sets: Sequence[np.ndarray], first_doc: int, bits: int) -> np.ndarray:
    """Each anchor of documents first_doc, first_doc + 1, ... and its document in one
    integer: the top bits of the mixed hash above the document number (`bits` of them).

    Sorted, this costs a third of the memory of an argsort, and the documents of one
    anchor come out in ascending order. A hash keeps 47 of its 64 bits at 100,000
    documents: a few chance equalities, which only cost a comparison later."""
    return pack_anchors(np.concatenate(anchor_sets) if len(anchor_sets) else _EMPTY.copy(),
                        [len(found) for found in anchor_sets], first_doc, bits)


def pack_anchors(anchors: np.ndarray, sizes: Sequence[int] | np.ndarray, first_doc: int, bits: int) -> np.ndarray:
    """`packed_anchors` of documents whose anchors are one after another in `anchors`,
    `sizes[i]` each: packed in place."""
    with np.errstate(over="ignore"):
        anchors *= ANCHOR_MIX  # odd, so one-to-one: the high bits now depend on every bit
    anchors >>= np.uint64(bits)
    anchors <<= np.uint64(bits)
    # The documents as 32-bit numbers, as `anchor_buckets` reads them back: half the fresh memory.
    anchors |= np.repeat(np.arange(first_doc, first_doc + len(sizes), dtype=np.uint32), sizes)
    return anchors


def anchor_buckets(packed: np.ndarray, bits: int,
                   stock_over: int) -> tuple[list[tuple[np.ndarray, np.ndarray, np.ndarray]], StockAnchors]:
    """The buckets of documents sharing an anchor (`same_size_buckets`, at most
    `stock_over` and MAX_ANCHOR_DOCS documents), from `packed_anchors` (sorted here, in
    place), and the stock anchors: those of more than `stock_over` documents."""
    packed.sort()
    docs = packed.astype(np.int32)  # the low 32 bits
    docs &= (1 << bits) - 1
    packed >>= np.uint64(bits)
    starts, sizes = repeated_runs(packed)  # stock_over is at least 1: a stock anchor repeats
    stock = StockAnchors(packed[starts[sizes > stock_over]], bits)
    return same_size_buckets(docs, starts, sizes, min(stock_over, MAX_ANCHOR_DOCS)), stock


def repeated_runs(ordered: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each run of two or more equal values of a sorted array starts, and its length.

    `runs_of` without the runs of one: most anchors are a single story's, and their runs'
    starts and lengths were two thirds of the passage candidates' peak (28 of 43 MiB at
    20,000 documents)."""
    same = (ordered[1:] == ordered[:-1]).view(np.int8)
    edges = np.diff(same, prepend=np.int8(0), append=np.int8(0))  # 1: a run of repeats starts; -1: it ended
    starts = np.flatnonzero(edges == 1)
    return starts, np.flatnonzero(edges == -1) - starts + 1


def times_counted(size: int, min_shared: int, rare_at_most: int) -> int:
    """How often a pair sharing an anchor of `size` documents counts it towards
    `min_shared`: once, or enough on its own when the anchor is rare (a quote split by
    an attribution into parts shorter than `anchor_words` may share only one)."""
    return min_shared if size <= rare_at_most else 1


def pairs_shared(codes: np.ndarray, min_shared: int) -> np.ndarray:
    """The distinct pair codes found at least `min_shared` times (sorted in place)."""
    codes.sort()
    runs, shared = runs_of(codes)
    return codes[runs[shared >= min_shared]]


class _Grams:
    """Per document, its n-gram hashes in order, in a small LRU: the second documents of
    the pairs are the same stories over and over."""

    def __init__(self, grams_of: Callable[[Hashable], np.ndarray]) -> None:
        self._grams_of = grams_of
        self._cache: OrderedDict[Hashable, np.ndarray] = OrderedDict()

    def __call__(self, key: Hashable) -> np.ndarray:
        found = self._cache.get(key)
        if found is not None:
            self._cache.move_to_end(key)
            return found
        found = self._cache[key] = self._grams_of(key)
        if len(self._cache) > _GRAMS_CACHED:
            self._cache.popitem(last=False)
        return found


def match_pairs(pairs: Iterable[tuple[Hashable, Hashable]], grams_of: Callable[[Hashable], np.ndarray],
                config: PassageConfig, stock: StockAnchors = NO_STOCK) -> list[tuple]:
    """The passages of each pair (a, b): tuples (a, b, a_start, a_end, b_start, b_end,
    a_share, b_share) in word positions, where a share is the part of that side's span
    covered by shared n-grams. `grams_of` gives a document's n-gram hashes in order;
    words that `stock` anchors cover do not count towards `min_words`.

    Consecutive pairs with the same first document form a group, and the groups of about
    _B_GRAMS_AT_ONCE n-grams of second documents are searched together, in one set of
    array operations (`shared_runs`): the fixed cost of numpy calls, not the work,
    dominated a group (42,000 groups at 100,000 documents).
    """
    cached = _Grams(grams_of)
    out: list[tuple] = []
    block: list[tuple[Hashable, list[Hashable]]] = []
    grams_as: list[np.ndarray] = []
    grams_bs: list[list[np.ndarray]] = []
    size = 0
    for a, group in itertools.groupby(pairs, key=lambda pair: pair[0]):
        others = [b for _, b in group]
        block.append((a, others))
        grams_as.append(cached(a))
        grams_bs.append([cached(b) for b in others])
        size += sum(map(len, grams_bs[-1]))
        if size >= _B_GRAMS_AT_ONCE:
            _add_passages(out, block, shared_runs(grams_as, grams_bs, config, stock), config)
            block, grams_as, grams_bs, size = [], [], [], 0
    if block:
        _add_passages(out, block, shared_runs(grams_as, grams_bs, config, stock), config)
    return out


def _add_passages(out: list[tuple], block: list[tuple[Hashable, list[Hashable]]], runs: list[list[Run]],
                  config: PassageConfig) -> None:
    """The passages of the block's pairs, in order, from their runs (`shared_runs`)."""
    for (a, b), found in zip(((a, b) for a, others in block for b in others), runs):
        if len(found) == 1:  # most pairs: one run, as long on both sides, all of it shared
            a_start, a_end, b_start, b_end, stock = found[0]
            if a_end - a_start - stock >= config.min_words:
                out.append((a, b, a_start, a_end, b_start, b_end, 1.0, 1.0))
        elif found:
            for p in merged_passages(found, config):
                out.append((a, b, *p[:6]))


def stories(sketches: Iterable[Sketch], cluster_of: dict[str, str], config: PassageConfig) -> list[Sketch]:
    """The documents passages are searched in, by id: one per duplicate cluster (the kept
    one stands for its copies, which are linked to it already) and none shorter than an
    n-gram."""
    return sorted((s for s in sketches if cluster_of.get(s.id, s.id) == s.id and len(s.tokens) >= config.ngram),
                  key=lambda s: s.id)


def find_passages(sketches: dict[str, Sketch], cluster_of: dict[str, str],
                  config: PassageConfig) -> dict[str, list[PassageMatch]]:
    """Passages of at least `min_words` words shared between distinct stories, by document:
    the three steps in this process."""
    chosen = stories(sketches.values(), cluster_of, config)
    first, second, stock = candidate_pairs([anchors(s.tokens, config) for s in chosen], min_shared_anchors(config),
                                           stock_limit(len(chosen), config), config.rare_anchor_documents)
    ids = [s.id for s in chosen]

    def grams_of(doc_id: str) -> np.ndarray:
        return ngram_hashes(sketches[doc_id].tokens, config.ngram)

    pairs = ((ids[a], ids[b]) for a, b in zip(first.tolist(), second.tolist()))
    result: dict[str, list[PassageMatch]] = defaultdict(list)
    for a, b, a_start, a_end, b_start, b_end, a_share, b_share in match_pairs(pairs, grams_of, config, stock):
        result[a].append(PassageMatch(a_start, a_end, b, b_start, b_end, a_share))
        result[b].append(PassageMatch(b_start, b_end, a, a_start, a_end, b_share))
    for matches in result.values():
        matches.sort(key=lambda p: (p.start, p.other_id))
    return dict(result)
