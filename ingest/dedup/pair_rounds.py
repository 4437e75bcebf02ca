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

A verdict is a function of the two texts' words and marks alone, and copies of one
text (an exact copy re-wrapped) meet the same other texts again and again. Each
document has a text class (`text_class`, a hash of its words and marks); a pair whose
two classes, in that order, were refused in an earlier round (`RefusalMemo`), or were
judged earlier in the same chunk, is given that verdict without being compared. A
refused pair changes no component, so the pairs verified, and the counts of what was
done, are those of comparing it again.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass, fields

import numpy as np

from ingest.arrays import unique_index, unique_inverse
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
# What was found before of a pair's two text classes: nothing, refused, refused for a conflict.
UNKNOWN, REFUSED, CONFLICT = 0, 1, 2


@dataclass
class ChunkVerdicts:
    """What verifying a chunk of candidate pairs found."""

    verified: np.ndarray  # the chunk's rows that are one story, in order
    counts: np.ndarray  # their `Comparison`s, one row of `COUNTS` each
    refused: np.ndarray  # the rows found not one story, in order
    conflicted: np.ndarray  # of those, whether refused for a figure or a name replaced
    contained: int  # verified rows that are "contained"
    skipped: int  # rows connected by the chunk's earlier verified rows
    remembered: int  # rows given the verdict found before for their two text classes, not compared


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


def text_class(tokens: np.ndarray, marks: np.ndarray) -> int:
    """A document's text class: the first 8 bytes of the BLAKE2b hash of its word hashes
    and word marks, all that verifying it reads. Two texts of one class are the same
    words and marks but for a collision of 64-bit hashes: among a million distinct
    texts, a chance of about 3e-8 that any two collide (n^2 / 2^65), the only way a
    remembered verdict can differ from comparing again. (A word is 4 bytes of hash and 1
    of marks: the bytes' length fixes where the marks begin.)"""
    digest = hashlib.blake2b(np.ascontiguousarray(tokens).tobytes() + np.ascontiguousarray(marks).tobytes(),
                             digest_size=8).digest()
    return int.from_bytes(digest, "little", signed=True)


def text_classes(tokens: np.ndarray, marks: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """The `text_class` of each document, document i's words from offsets[i] (int64)."""
    return np.array([text_class(tokens[lo:hi], marks[lo:hi]) for lo, hi in zip(offsets[:-1].tolist(),
                                                                                offsets[1:].tolist())],
                    dtype=np.int64)


class RefusalMemo:
    """The pairs of text classes refused so far, in order (first's class, second's),
    as a sorted array of keys (8 bytes and a flag each): only those that can recur,
    where a side's class has more than one document."""

    def __init__(self, classes: np.ndarray) -> None:
        """`classes`: the text class of each document 0..n-1."""
        distinct, inverse = unique_inverse(classes)
        self.documents = len(classes)
        self._class_of = inverse.astype(np.int64)  # numbered 0.. by class
        self._classes = len(distinct)
        self._shared = np.bincount(inverse, minlength=len(distinct))[inverse] > 1
        self._keys = np.empty(0, np.int64)
        self._conflict = np.empty(0, bool)

    def __len__(self) -> int:
        return len(self._keys)

    def rows(self, pairs: np.ndarray) -> np.ndarray:
        """Rows (a, b, ...) with three columns more: a's and b's classes, and what was
        found before of that pair of classes (`UNKNOWN`, `REFUSED`, `CONFLICT`)."""
        before = np.full(len(pairs), UNKNOWN)
        at, found = self._find(self._key(pairs))
        before[found] = np.where(self._conflict[at[found]], CONFLICT, REFUSED)
        return np.column_stack((pairs, self._class_of[pairs[:, 0]], self._class_of[pairs[:, 1]],
                                before)).astype(np.int32)

    def remember(self, pairs: np.ndarray, conflicted: np.ndarray) -> None:
        """Refused pairs (a, b, ...), and whether each was refused for a conflict."""
        recur = self._shared[pairs[:, 0]] | self._shared[pairs[:, 1]]
        keys = self._key(pairs[recur])
        order = np.argsort(keys, kind="stable")
        keys, first = unique_index(keys[order])  # one pair of classes, one verdict
        conflict = conflicted[recur][order][first]
        at, found = self._find(keys)
        self._keys = np.insert(self._keys, at[~found], keys[~found])
        self._conflict = np.insert(self._conflict, at[~found], conflict[~found])

    def _key(self, pairs: np.ndarray) -> np.ndarray:
        return self._class_of[pairs[:, 0]] * self._classes + self._class_of[pairs[:, 1]]

    def _find(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Where `keys` are, or would go, in the sorted keys, and whether they are there."""
        at = np.searchsorted(self._keys, keys)
        if not len(self._keys):
            return at, np.zeros(len(keys), bool)
        return at, self._keys[np.minimum(at, len(self._keys) - 1)] == keys


def verify_chunk(firsts: Sequence[Hashable], seconds: Sequence[Hashable], rows: np.ndarray,
                 words_of: Callable[[Hashable], Words], config: DedupConfig) -> ChunkVerdicts:
    """Verify the pairs (firsts[i], seconds[i]) in order; `rows`: each pair's two
    components when the chunk's round began, its two text classes and what was found
    before of them (`RefusalMemo.rows`). A pair whose components the chunk's earlier
    verified pairs joined is skipped; one whose classes were refused before, or judged
    earlier in the chunk, is given that verdict. `words_of`: a document's words."""
    words_of = functools.lru_cache(maxsize=_WORDS_CACHED)(words_of)  # a document meets several partners
    parent: dict[int, int] = {}
    judged: dict[tuple[int, int], tuple[Comparison | None, bool]] = {}  # this chunk's verdicts by classes
    verified, counts, refused, conflicted = [], [], [], []
    contained = skipped = remembered = 0
    for i, (a, b, (root_a, root_b, class_a, class_b, before)) in enumerate(zip(firsts, seconds, rows.tolist())):
        root_a, root_b = find(parent, root_a), find(parent, root_b)
        if root_a == root_b:
            skipped += 1
            continue
        if before != UNKNOWN:
            c, conflict = None, before == CONFLICT
            remembered += 1
        elif (class_a, class_b) in judged:
            c, conflict = judged[(class_a, class_b)]
            remembered += 1
        else:
            judged[(class_a, class_b)] = c, conflict = one_story(words_of(a), words_of(b), config)
        if c is None:
            refused.append(i)
            conflicted.append(conflict)
            continue
        parent[max(root_a, root_b)] = min(root_a, root_b)
        verified.append(i)
        counts.append([getattr(c, name) for name in COUNTS])
        contained += kind_of(c, config) == "contained"
    return ChunkVerdicts(np.array(verified, dtype=np.int32), np.array(counts, dtype=np.int32).reshape(-1, len(COUNTS)),
                         np.array(refused, dtype=np.int32), np.array(conflicted, dtype=bool), contained, skipped,
                         remembered)


# Verifies chunks of rows (first, second, root of first, root of second: positions of
# the documents; then `RefusalMemo.rows`'s columns), in order: in this process, or in
# the workers.
ChunkVerifier = Callable[[list[np.ndarray]], list[ChunkVerdicts]]


def verify_in_rounds(pairs: Iterable[np.ndarray], memo: RefusalMemo,
                     verify_chunks: ChunkVerifier) -> tuple[np.ndarray, np.ndarray, dict[str, int], np.ndarray]:
    """The candidate `pairs` of documents 0..n-1 (sorted, in blocks of rows (a, b)),
    verified in rounds (see the module docstring), `memo` holding the n documents'
    text classes and the refusals: the verified pairs as rows (first, second), their
    `Comparison` counts, the counts of what was done, and each document's component
    (its smallest connected position)."""
    root = np.arange(memo.documents, dtype=np.int32)  # each position's component, fully compressed between rounds
    found: list[np.ndarray] = []
    found_counts: list[np.ndarray] = []
    stats = {"lsh_candidates": 0, "skipped_as_connected": 0, "lsh_false_positives": 0,
             "refused_for_figures_or_names": 0, "contained_pairs": 0, "verdicts_remembered": 0}
    for batch in _rounds(pairs):
        rows = np.hstack((batch, root[batch]))
        open_ = rows[rows[:, 2] != rows[:, 3]]
        stats["lsh_candidates"] += len(batch)
        stats["skipped_as_connected"] += len(batch) - len(open_)
        # Cut as if nothing were remembered: a chunk's bounds decide what it skips.
        chunks = [memo.rows(c) for c in np.array_split(open_, -(-len(open_) // CHUNK_PAIRS))] if len(open_) else []
        refused: list[np.ndarray] = []
        conflicted: list[np.ndarray] = []
        for chunk, verdicts in zip(chunks, verify_chunks(chunks)):
            stats["skipped_as_connected"] += verdicts.skipped
            stats["lsh_false_positives"] += len(verdicts.refused)
            stats["refused_for_figures_or_names"] += int(verdicts.conflicted.sum())
            stats["contained_pairs"] += verdicts.contained
            stats["verdicts_remembered"] += verdicts.remembered
            refused.append(chunk[verdicts.refused])
            conflicted.append(verdicts.conflicted)
            found.append(chunk[verdicts.verified, :2])
            found_counts.append(verdicts.counts)
            for a, b in chunk[verdicts.verified, 2:4].tolist():
                a, b = _root_of(root, a), _root_of(root, b)
                root[max(a, b)] = min(a, b)
        if refused:
            memo.remember(np.concatenate(refused), np.concatenate(conflicted))
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
