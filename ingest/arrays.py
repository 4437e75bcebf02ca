"""The distinct values of integer arrays (hashes, codes) by sorting, as numpy's `np.unique` gave them.

numpy 2 finds the distinct values of an integer array with a hash table: on this
machine (numpy 2.4.6) 1.4 s for a million distinct int64 values, where sorting them
and keeping the first of each run takes 12 ms, and 65 µs against 18 µs for a
document's 300 shingles (docs/benchmarks/speed.md). These return what `np.unique`
returns, sorted, with any numpy.
"""

from __future__ import annotations

import numpy as np


def _firsts(ordered: np.ndarray) -> np.ndarray:
    """Where each run of equal values of a sorted array starts, as a mask."""
    firsts = np.empty(len(ordered), dtype=bool)
    firsts[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=firsts[1:])
    return firsts


def runs_of(ordered: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each run of equal values of a sorted array starts, and its length."""
    starts = np.flatnonzero(_firsts(ordered))
    return starts, np.diff(np.append(starts, len(ordered)))


def unique(values: np.ndarray) -> np.ndarray:
    """`np.unique(values)`."""
    ordered = np.sort(values)
    return ordered[_firsts(ordered)]


def unique_counts(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`np.unique(values, return_counts=True)`."""
    ordered = np.sort(values)
    starts, sizes = runs_of(ordered)
    return ordered[starts], sizes


def unique_inverse(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`np.unique(values, return_inverse=True)`: the distinct values, and where each of
    `values` is among them."""
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    firsts = _firsts(ordered)
    inverse = np.empty(len(values), dtype=np.intp)
    inverse[order] = np.cumsum(firsts) - 1
    return ordered[firsts], inverse


def unique_index(ordered: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`np.unique(ordered, return_index=True)` of an array sorted already: its distinct
    values, and where each first occurs."""
    starts, _ = runs_of(ordered)
    return ordered[starts], starts
