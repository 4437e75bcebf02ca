"""Candidate pairs verified in rounds, each pair skipped when verified pairs connect it already.

Clusters are the connected components of the verified pairs (`clusters.py`): a
candidate pair whose two documents are connected by verified pairs already cannot
change them, so it is not verified. In a cluster of m copies LSH proposes up to
m(m-1)/2 pairs; about m-1 of them connect it. The candidates are tried in their
sorted order (`Deduplicator.candidate_pairs`), `ROUND_PAIRS` at a time: before a
round, its pairs connected by the earlier rounds' verified pairs are skipped; the rest
are cut into chunks of at most `CHUNK_PAIRS`, which can be verified at once (in the
workers: `ingest/run/decide.verify_pair_chunk`), each chunk in its order, skipping the
pairs that its own earlier verified pairs connected. These constants, never the number
of workers, fix which pairs are verified: the decisions are the same with any number
of workers, in memory and out of core.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass, fields

import numpy as np

from ingest.config import DedupConfig
from ingest.dedup.verify import Comparison, compare, kind_of, may_be_one_story

Words = tuple[np.ndarray, np.ndarray]  # a document's word hashes and their marks
# Every count a `Comparison` holds, in its fields' order.
COUNTS = tuple(f.name for f in fields(Comparison))
# Candidate pairs a round (before its connected pairs are skipped) and pairs a chunk at
# most (about 1 s of verifying: small enough that the workers finish together).
ROUND_PAIRS = 131_072
CHUNK_PAIRS = 8_192
# Documents whose words a chunk keeps at hand (a few MB).
_WORDS_CACHED = 4096


@dataclass
class ChunkVerdicts:
    """What verifying a chunk of candidate pairs found."""

    verified: np.ndarray  # the chunk's rows that are one story, in order
    counts: np.ndarray  # their `Comparison`s, one row of `COUNTS` each
    refused: int  # rows compared and found not one story
    conflicts: int  # of those, refused for a figure or a name replaced
    contained: int  # verified rows that are "contained"
    skipped: int  # rows connected by the chunk's earlier verified rows


def find(parent: dict, x: Hashable) -> Hashable:
    """x's root in a union-find held as a dict (a key absent is its own root)."""
    root = x
    while (up := parent.get(root, root)) != root:
        root = up
    while x != root:  # path compression
        parent[x], x = root, parent[x]
    return root


def one_story(words_a: Words, words_b: Words, config: DedupConfig) -> tuple[Comparison | None, bool]:
    """Two texts verified: their `Comparison` when one story (else None), and whether
    a conflict (a figure or a name replaced) refused them."""
    if not may_be_one_story(words_a, words_b, config):
        return None, False
    c = compare(words_a[0], words_a[1], words_b[0], words_b[1], config)
    if kind_of(c, config) is None:
        return None, c.conflicts > 0
    return c, False


def verify_chunk(firsts: Sequence[Hashable], seconds: Sequence[Hashable], roots: np.ndarray,
                 words_of: Callable[[Hashable], Words], config: DedupConfig) -> ChunkVerdicts:
    """Verify the pairs (firsts[i], seconds[i]) in order; `roots`: each pair's two
    components (rows of two) when the chunk's round began. A pair whose components the
    chunk's earlier verified pairs joined is skipped. `words_of`: a document's words."""
    words_of = functools.lru_cache(maxsize=_WORDS_CACHED)(words_of)  # a document meets several partners
    parent: dict[int, int] = {}
    verified, counts = [], []
    refused = conflicts = contained = skipped = 0
    for i, (a, b, (root_a, root_b)) in enumerate(zip(firsts, seconds, roots.tolist())):
        root_a, root_b = find(parent, root_a), find(parent, root_b)
        if root_a == root_b:
            skipped += 1
            continue
        c, conflict = one_story(words_of(a), words_of(b), config)
        if c is None:
            refused += 1
            conflicts += conflict
            continue
        parent[max(root_a, root_b)] = min(root_a, root_b)
        verified.append(i)
        counts.append([getattr(c, name) for name in COUNTS])
        contained += kind_of(c, config) == "contained"
    return ChunkVerdicts(np.array(verified, dtype=np.int32), np.array(counts, dtype=np.int32).reshape(-1, len(COUNTS)),
                         refused, conflicts, contained, skipped)


# Verifies chunks of rows (first, second, root of first, root of second: positions of
# the documents), in order: in this process, or in the workers.
ChunkVerifier = Callable[[list[np.ndarray]], list[ChunkVerdicts]]


def verify_in_rounds(pairs: Iterable[np.ndarray], n: int,
                     verify_chunks: ChunkVerifier) -> tuple[np.ndarray, np.ndarray, dict[str, int], np.ndarray]:
    """The candidate `pairs` of documents 0..n-1 (sorted, in blocks of rows (a, b)),
    verified in rounds (see the module docstring): the verified pairs as rows (first,
    second), their `Comparison` counts, the counts of what was done, and each
    document's component (its smallest connected position)."""
    root = np.arange(n, dtype=np.int32)  # each position's component, fully compressed between rounds
    found: list[np.ndarray] = []
    found_counts: list[np.ndarray] = []
    stats = {"lsh_candidates": 0, "skipped_as_connected": 0, "lsh_false_positives": 0,
             "refused_for_figures_or_names": 0, "contained_pairs": 0}
    for batch in _rounds(pairs):
        rows = np.hstack((batch, root[batch]))
        open_ = rows[rows[:, 2] != rows[:, 3]]
        stats["lsh_candidates"] += len(batch)
        stats["skipped_as_connected"] += len(batch) - len(open_)
        chunks = np.array_split(open_, -(-len(open_) // CHUNK_PAIRS)) if len(open_) else []
        for chunk, verdicts in zip(chunks, verify_chunks(chunks)):
            stats["skipped_as_connected"] += verdicts.skipped
            stats["lsh_false_positives"] += verdicts.refused
            stats["refused_for_figures_or_names"] += verdicts.conflicts
            stats["contained_pairs"] += verdicts.contained
            found.append(chunk[verdicts.verified, :2])
            found_counts.append(verdicts.counts)
            for a, b in chunk[verdicts.verified, 2:].tolist():
                a, b = _root_of(root, a), _root_of(root, b)
                root[max(a, b)] = min(a, b)
        while not np.array_equal(root, up := root[root]):
            root = up
    if not found:
        return np.empty((0, 2), np.int32), np.empty((0, len(COUNTS)), np.int32), stats, root
    return np.concatenate(found), np.concatenate(found_counts), stats, root


def _rounds(blocks: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
    """The rows of `blocks`, in order, `ROUND_PAIRS` at a time (the last round fewer)."""
    held: list[np.ndarray] = []
    for block in blocks:
        held.append(np.asarray(block, dtype=np.int32).reshape(-1, 2))
        if sum(len(b) for b in held) >= ROUND_PAIRS:
            rows = np.concatenate(held)
            whole = len(rows) - len(rows) % ROUND_PAIRS
            yield from np.split(rows[:whole], whole // ROUND_PAIRS)
            held = [rows[whole:]]
    if sum(len(b) for b in held):
        yield np.concatenate(held)


def _root_of(root: np.ndarray, x: int) -> int:
    while root[x] != x:
        x = int(root[x])
    return x
