"""LSH banding of MinHash signatures: candidate pairs, and band keys for an index.

The same banding as datasketch's `MinHashLSH` (a test checks that both propose the same
pairs), done on sorted numpy arrays. Candidates are only candidates: every one is
verified on the two texts' words (`ingest/dedup/verify.py`), so an LSH false positive
never reaches the output.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator

import numpy as np
import xxhash

from ingest.arrays import runs_of, unique
from ingest.dedup.shingles import NGRAM_MULTIPLIER

# A bucket holding more documents than this (a template page copied everywhere) is
# linked as a chain, not as all its pairs: union-find needs only connectivity.
_MAX_BUCKET_PAIRS = 50
# Pair codes held before they are made distinct (`keyed_pairs`): 8 MB.
_CODES_AT_ONCE = 1 << 20
# Bands whose keys are made together from the signatures in memory: 8 bands of 2 rows
# are 64 bytes of a signature, and their keys 6.4 MB at 100,000 documents.
_BANDS_AT_ONCE = 8
# Signatures in blocks: (positions of the documents among all, a block of signatures as
# rows, the row of each of those positions in the block).
SignatureBlocks = Iterable[tuple[np.ndarray, np.ndarray, np.ndarray]]


def lsh_pairs(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """Index pairs (a < b) whose signatures agree on all rows of at least one band, as
    rows (a, b).

    The same banding as datasketch's MinHashLSH, done on sorted numpy arrays: its
    dict-of-sets buckets cost about 10 KB a document in memory (measured), these about
    8 bytes a band, and the result does not depend on insertion order. Sorted by a,
    then b (`ingest/dedup/spilled_lsh.py` gives the same pairs out of core).
    """
    return keyed_pairs((band_keys(signatures, band, rows) for band in range(bands)), len(signatures))


def keyed_pairs(keys_by_band: Iterable[np.ndarray], n: int) -> np.ndarray:
    """`lsh_pairs` of `n` documents from each band's keys in turn (`band_keys`).

    The bands' codes are made distinct every _CODES_AT_ONCE codes, not all at once: a
    pair is found in many bands (4.6 million codes, 383,000 pairs at 100,000 news
    documents), and arrays of all of them, 37 MB each, are fresh memory every run,
    whose first touch cost more than sorting them.
    """
    found, pending, held = np.empty(0, dtype=np.int64), [], 0
    for keys in keys_by_band:
        for codes in band_pair_codes(keys, n):
            pending.append(codes)
            held += len(codes)
        if held >= _CODES_AT_ONCE:
            found, pending, held = unique(np.concatenate((found, *pending))), [], 0
    return pairs_of(unique(np.concatenate((found, *pending))), n)


def held_keys_by_band(blocks: list[tuple[np.ndarray, np.ndarray, np.ndarray]], n: int, bands: int,
                      rows: int) -> Iterator[np.ndarray]:
    """The band keys of `n` documents band by band, made from their signatures held in
    memory in `blocks` (`SignatureBlocks`), _BANDS_AT_ONCE bands at a time: gathering
    the signatures into one array first (51 MB at 100,000 documents) cost more than the
    banding, in fresh memory."""
    for first in range(0, bands, _BANDS_AT_ONCE):
        count = min(_BANDS_AT_ONCE, bands - first)
        keys = np.empty((count, n), dtype=np.uint64)
        for positions, signatures, at in blocks:
            keys[:, positions] = bands_keys(signatures, first, count, rows)[at].T
        yield from keys


def pairs_of(codes: np.ndarray, n: int) -> np.ndarray:
    """Pair codes a * n + b as rows (a, b) of document positions (int32)."""
    return np.stack((codes // n, codes % n), axis=1).astype(np.int32)


def band_keys(signatures: np.ndarray, band: int, rows: int) -> np.ndarray:
    """Each signature's bucket in one band: the band's rows folded into one uint64."""
    return bands_keys(signatures, band, 1, rows).ravel()


def bands_keys(signatures: np.ndarray, first: int, count: int, rows: int) -> np.ndarray:
    """`band_keys` of `count` bands from `first`, as columns: a signature's values are
    read together for all of them, not once a band, 512 bytes apart."""
    block = signatures[:, first * rows : (first + count) * rows]
    keys = block[:, 0::rows].astype(np.uint64)
    with np.errstate(over="ignore"):
        for r in range(1, rows):
            keys *= NGRAM_MULTIPLIER
            keys += block[:, r::rows]
    return keys


def band_pair_codes(keys: np.ndarray, n: int) -> list[np.ndarray]:
    """The pairs of documents in the same bucket of one band (`keys`, one a document),
    as codes a * n + b (a < b), unsorted and possibly repeated."""
    codes = []
    # Equal keys in any order (a stable argsort took five times longer): a pair's code
    # does not depend on it, and a chain's members are put in order below.
    order = np.argsort(keys)
    starts, sizes = runs_of(keys[order])
    for members, first, second in same_size_buckets(order, starts, sizes, _MAX_BUCKET_PAIRS):
        codes.append(_pair_codes(members[:, first].ravel(), members[:, second].ravel(), n))
    for start, size in zip(starts[sizes > _MAX_BUCKET_PAIRS].tolist(), sizes[sizes > _MAX_BUCKET_PAIRS].tolist()):
        members = np.sort(order[start : start + size])  # linked in the order of the documents
        codes.append(_pair_codes(members[:-1], members[1:], n))
    return codes


def same_size_buckets(members: np.ndarray, starts: np.ndarray, sizes: np.ndarray,
                      largest: int) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Buckets of 2 to `largest` members, grouped by size: for each size, the members of
    its buckets as rows (in the order of their starts) and the (first, second) member
    positions of every pair. A bucket is `sizes[i]` consecutive members from
    `starts[i]`. One array operation per size, not a Python loop over (millions of)
    buckets."""
    paired = (sizes >= 2) & (sizes <= largest)
    sizes = sizes[paired].astype(np.min_scalar_type(largest))  # a radix sort's small numbers
    starts = starts[paired][np.argsort(sizes, kind="stable")]
    counts = np.bincount(sizes, minlength=largest + 1)
    ends = np.cumsum(counts).tolist()
    return [(members[starts[ends[size] - counts[size] : ends[size]][:, None] + np.arange(size)],
             *np.triu_indices(size, k=1)) for size in np.flatnonzero(counts).tolist()]


def _pair_codes(a: np.ndarray, b: np.ndarray, n: int) -> np.ndarray:
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    return lo.astype(np.int64) * n + hi


def band_key(band: int, data: bytes) -> int:
    """A band's bucket as one signed 64-bit integer (SQLite's INTEGER)."""
    return struct.unpack("<q", struct.pack("<Q", xxhash.xxh3_64_intdigest(data, seed=band)))[0]
