"""The LSH's buckets: every pair of a bucket, a large bucket as a chain in document order."""

from __future__ import annotations

import numpy as np

from ingest.arrays import runs_of
from ingest.dedup import lsh


def expected_codes(keys: np.ndarray, n: int) -> set[int]:
    """The pair codes of each bucket, from its members in ascending order (a stable
    argsort): all pairs of a bucket up to _MAX_BUCKET_PAIRS members, else the chain of
    consecutive members."""
    codes: set[int] = set()
    for key in np.unique(keys).tolist():
        members = np.flatnonzero(keys == key).tolist()
        if len(members) > lsh._MAX_BUCKET_PAIRS:
            codes.update(a * n + b for a, b in zip(members, members[1:]))
        else:
            codes.update(a * n + b for i, a in enumerate(members) for b in members[i + 1 :])
    return codes


def test_bucket_pairs_with_many_ties_are_those_of_a_stable_order() -> None:
    rng = np.random.default_rng(3)
    for n, distinct in ((3000, 40), (3000, 600), (500, 3), (2, 1)):
        keys = rng.integers(0, distinct, n).astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        codes = lsh.band_pair_codes(keys, n)
        found = np.concatenate(codes) if codes else np.empty(0, np.int64)
        assert len(found) == len(set(found.tolist()))  # a band gives each pair once
        assert set(found.tolist()) == expected_codes(keys, n)


def test_same_size_buckets_are_grouped_in_the_order_of_their_starts() -> None:
    rng = np.random.default_rng(4)
    ordered = np.sort(rng.integers(0, 900, 4000))
    members = rng.permutation(4000)
    starts, sizes = runs_of(ordered)
    found = lsh.same_size_buckets(members, starts, sizes, 6)
    assert [len(rows[0]) for rows, _, _ in found] == sorted({s for s in sizes.tolist() if 2 <= s <= 6})
    for rows, first, second in found:
        size = rows.shape[1]
        expected = [members[s : s + size].tolist() for s in starts[sizes == size].tolist()]
        assert rows.tolist() == expected
        assert (first < second).all() and len(first) == size * (size - 1) // 2


def test_pairs_made_distinct_in_parts_are_those_made_distinct_at_once(monkeypatch) -> None:
    rng = np.random.default_rng(5)
    signatures = rng.integers(0, 3, size=(400, 16)).astype(np.uint32)
    whole = lsh.lsh_pairs(signatures, 8, 2)
    monkeypatch.setattr(lsh, "_CODES_AT_ONCE", 1000)
    assert len(whole) > 1000 and np.array_equal(lsh.lsh_pairs(signatures, 8, 2), whole)


def test_keys_of_several_bands_are_each_band_s_keys() -> None:
    signatures = np.random.default_rng(6).integers(0, 2**32, size=(50, 24), dtype=np.uint64).astype(np.uint32)
    for rows in (1, 2, 3, 4):
        bands = 24 // rows
        each = [lsh.band_keys(signatures, band, rows) for band in range(bands)]
        expected = []
        for band in range(bands):  # folded as datasketch's bands would be hashed: the rows in turn
            keys = signatures[:, band * rows].astype(np.uint64)
            for r in range(1, rows):
                keys = keys * lsh.NGRAM_MULTIPLIER + signatures[:, band * rows + r]
            expected.append(keys)
        assert [k.tolist() for k in each] == [k.tolist() for k in expected]
        for first, count in ((0, bands), (1, bands - 2), (bands - 1, 1)):
            together = lsh.bands_keys(signatures, first, count, rows)
            assert together.T.tolist() == [k.tolist() for k in each[first : first + count]]
