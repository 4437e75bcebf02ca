"""MinHash signatures, and the sketch of one document that dedup compares."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ingest.arrays import unique
from ingest.config import DedupConfig
from ingest.dedup.marks import NO_MARKS, word_marks
from ingest.dedup.shingles import NO_HASHES, hashes_and_spans, shingle_set


# Hashes permuted at a time by `MinHasher.signatures`: 1 MiB at 128 permutations, which
# stays in cache (a quarter less CPU than 8 MiB, bench figures in docs/benchmarks/speed.md).
_HASHES_AT_ONCE = 1024


class MinHasher:
    """MinHash signatures of uint64 shingle hashes, vectorised over permutations.

    Each permutation is a multiply-shift hash `(a * x + b) mod 2^64 >> 32` with
    odd `a`, which is universal and needs no modular arithmetic in numpy.
    """

    def __init__(self, num_perm: int, seed: int) -> None:
        rng = np.random.Generator(np.random.PCG64(seed))
        self.num_perm = num_perm
        self.seed = seed
        self._a = rng.integers(1, 2**63, size=num_perm, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
        self._b = rng.integers(0, 2**63, size=num_perm, dtype=np.uint64)

    def signature(self, shingles: np.ndarray) -> np.ndarray:
        """The minimum of each permutation: 32-bit values (the top half of the product)."""
        return self.signatures(shingles, np.array([0, len(shingles)]))[0]

    def signatures(self, hashes: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        """The `signature` of each document's hashes, `hashes[offsets[i]:offsets[i + 1]]`,
        one row a document, a few hundred documents at a time. Repeated hashes need not
        be dropped first: they change no minimum."""
        out = np.full((len(offsets) - 1, self.num_perm), np.iinfo(np.uint32).max, dtype=np.uint32)
        filled = np.flatnonzero(np.diff(offsets))
        ends = offsets[filled + 1]
        # One buffer for every block (7 % less CPU than a new array each): a block
        # holds more than _HASHES_AT_ONCE hashes when one document alone has more.
        buffer = np.empty(self.num_perm * min(int(offsets[-1]), 4 * _HASHES_AT_ONCE), dtype=np.uint64)
        at = 0
        while at < len(filled):
            # Documents whose hashes make at most _HASHES_AT_ONCE rows, one at least.
            last = max(at + 1, int(np.searchsorted(ends, offsets[filled[at]] + _HASHES_AT_ONCE, "right")))
            docs = filled[at:last]
            first = offsets[docs[0]]
            block = hashes[first : offsets[docs[-1] + 1]]
            # A permutation a row: each document's values lie side by side, where
            # reducing them is four times faster than down columns.
            size = self.num_perm * len(block)
            permuted = (buffer[:size] if size <= len(buffer) else np.empty(size, np.uint64)).reshape(self.num_perm, -1)
            with np.errstate(over="ignore"):
                np.multiply(self._a[:, None], block, out=permuted)
                permuted += self._b[:, None]
            # The shift is monotonic: shifting the minimums gives the minimums of the
            # shifted values, over a row instead of the whole matrix (a quarter faster).
            out[docs] = (np.minimum.reduceat(permuted, offsets[docs] - first, axis=1) >> np.uint64(32)).T
            at = last
        return out


@dataclass(slots=True)
class Sketch:
    """What dedup needs of one document; built in the workers, compared centrally.

    With slots: a run holds one a document in the flow's process (96 bytes instead of
    208 with an instance dict)."""

    id: str
    length: int  # characters of clean text
    created: str | None
    added: str
    source: str
    # Word hashes in order, 32 bits each (passages are found from them).
    tokens: np.ndarray
    signature: np.ndarray  # MinHash values, uint32
    # Where the run spilled the document's words: batch and row in that batch.
    batch: int = -1
    row: int = -1
    # The shingle set the signature was made of (`shingle_set`); empty in a run's
    # sketches, which need only the signature.
    shingles: np.ndarray = field(default_factory=lambda: NO_HASHES)
    # Which words are figures and names (`word_marks`), for verification; empty in a
    # run's sketches, whose marks are read when a pair is verified (`Deduplicator`).
    marks: np.ndarray = field(default_factory=lambda: NO_MARKS)


def sketch(doc_id: str, text: str, created: str | None, added: str, source: str,
           config: DedupConfig, hasher: MinHasher, tokens: np.ndarray | None = None,
           ngrams: np.ndarray | None = None, marks: np.ndarray | None = None) -> Sketch:
    """`tokens`, `ngrams`, `marks`: the `token_hashes` of `text`, their `ngram_hashes` of
    `config.shingle_size` and the words' `word_marks`, when the caller has them already."""
    if tokens is None or marks is None:
        tokens, spans = hashes_and_spans(text)
        marks = word_marks(text, spans, tokens, config.figure_words, config.not_names)
    shingles = unique(ngrams) if ngrams is not None else shingle_set(tokens, config.shingle_size)
    return Sketch(doc_id, len(text), created, added, source, tokens, hasher.signature(shingles),
                  shingles=shingles, marks=marks)
