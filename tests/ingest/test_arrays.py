"""The sorted distinct values give what `np.unique` gives, on hashes, codes and edge cases."""

from __future__ import annotations

import numpy as np
import pytest

from ingest import arrays

CASES = [
    np.empty(0, dtype=np.int64),
    np.array([7], dtype=np.uint64),
    np.array([3, 3, 3], dtype=np.int64),
    np.array([2**64 - 1, 0, 2**63, 0, 2**64 - 1], dtype=np.uint64),  # the unsigned ends
    np.array([-5, 4, -5, 2**62, 4], dtype=np.int64),
    np.random.default_rng(1).integers(0, 50, 1000).astype(np.int64),  # many repeats
    np.random.default_rng(2).integers(0, 2**63, 5000, dtype=np.int64),  # nearly all distinct
]


@pytest.mark.parametrize("values", CASES, ids=range(len(CASES)))
def test_distinct_values_are_those_of_np_unique(values: np.ndarray) -> None:
    expected, index, inverse, counts = np.unique(values, return_index=True, return_inverse=True, return_counts=True)
    assert np.array_equal(arrays.unique(values), expected)
    assert arrays.unique(values).dtype == values.dtype
    got, got_counts = arrays.unique_counts(values)
    assert np.array_equal(got, expected) and np.array_equal(got_counts, counts)
    got, got_inverse = arrays.unique_inverse(values)
    assert np.array_equal(got, expected) and np.array_equal(got_inverse, inverse.ravel())
    assert np.array_equal(expected[got_inverse], values)
    ordered = np.sort(values, kind="stable")
    got, starts = arrays.unique_index(ordered)
    assert np.array_equal(got, expected) and np.array_equal(starts, np.unique(ordered, return_index=True)[1])


@pytest.mark.parametrize("values", CASES, ids=range(len(CASES)))
def test_runs_are_where_each_distinct_value_starts_and_how_often(values: np.ndarray) -> None:
    ordered = np.sort(values)
    starts, sizes = arrays.runs_of(ordered)
    expected, index, counts = np.unique(ordered, return_index=True, return_counts=True)
    assert np.array_equal(starts, index) and np.array_equal(sizes, counts)
