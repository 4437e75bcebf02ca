"""LSH banding of MinHash signatures: candidate pairs, and band keys for an index.

The same banding as datasketch's `MinHashLSH` (a test checks that both propose the same
pairs), done on sorted numpy arrays. Candidates are only candidates: every one is
verified on the two texts' words (`ingest/dedup/verify.py`), so an LSH false positive
never reaches the output.
"""

from __future__ import annotations

import struct

import numpy as np
import xxhash

from ingest.dedup.shingles import NGRAM_MULTIPLIER

# A bucket holding more documents than this (a template page copied everywhere) is
# linked as a chain, not as all its pairs: union-find needs only connectivity.
_MAX_BUCKET_PAIRS = 50


def lsh_pairs(signatures: np.ndarray, bands: int, rows: int) -> list[tuple[int, int]]:
    """Index pairs (a < b) whose signatures agree on all rows of at least one band.

    The same banding as datasketch's MinHashLSH, done on sorted numpy arrays: its
    dict-of-sets buckets cost about 10 KB a document in memory (measured), these about
    8 bytes a band, and the result does not depend on insertion order.
    """
    return pairs_sharing_keys(band_keys(signatures, bands, rows))


def band_keys(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """Each document's bucket in each band: a (documents, bands) uint64 array, the rows
    of a band hashed together."""
    keys = np.empty((len(signatures), bands), dtype=np.uint64)
    for band in range(bands):
        block = signatures[:, band * rows : (band + 1) * rows].astype(np.uint64)
        key = block[:, 0].copy()
        with np.errstate(over="ignore"):
            for r in range(1, rows):
                key = key * NGRAM_MULTIPLIER + block[:, r]
        keys[:, band] = key
    return keys


def pairs_sharing_keys(keys: np.ndarray) -> list[tuple[int, int]]:
    """Index pairs (a < b) of documents with the same key in at least one band
    (column) of `keys`, as `band_keys` makes them."""
    n = len(keys)
    codes: list[np.ndarray] = []
    for band in range(keys.shape[1]):
        column = keys[:, band]
        order = np.argsort(column, kind="stable")
        starts, sizes = runs_of(column[order])
        for members, first, second in same_size_buckets(order, starts, sizes, _MAX_BUCKET_PAIRS):
            codes.append(_pair_codes(members[:, first].ravel(), members[:, second].ravel(), n))
        for start, size in zip(starts[sizes > _MAX_BUCKET_PAIRS].tolist(), sizes[sizes > _MAX_BUCKET_PAIRS].tolist()):
            members = order[start : start + size]
            codes.append(_pair_codes(members[:-1], members[1:], n))
    unique = np.unique(np.concatenate(codes)) if codes else np.empty(0, dtype=np.int64)
    return [(c // n, c % n) for c in unique.tolist()]


def runs_of(ordered: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each run of equal values of a sorted array starts, and its length."""
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    return starts, np.diff(np.r_[starts, len(ordered)])


def same_size_buckets(members: np.ndarray, starts: np.ndarray, sizes: np.ndarray,
                      largest: int) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Buckets of 2 to `largest` members, grouped by size: for each size, the members of
    its buckets as rows and the (first, second) member positions of every pair. A bucket
    is `sizes[i]` consecutive members from `starts[i]`. One array operation per size,
    not a Python loop over (millions of) buckets."""
    return [(members[starts[sizes == size][:, None] + np.arange(size)], *np.triu_indices(size, k=1))
            for size in np.unique(sizes[(sizes >= 2) & (sizes <= largest)]).tolist()]


def _pair_codes(a: np.ndarray, b: np.ndarray, n: int) -> np.ndarray:
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    return lo.astype(np.int64) * n + hi


def band_key(band: int, data: bytes) -> int:
    """A band's bucket as one signed 64-bit integer (SQLite's INTEGER)."""
    return struct.unpack("<q", struct.pack("<Q", xxhash.xxh3_64_intdigest(data, seed=band)))[0]
