"""The verified pairs of a run's dedup as columns, and their connected components."""

from __future__ import annotations

from array import array

import numpy as np

from ingest.arrays import runs_of
from ingest.dedup.pair_rounds import COUNTS
from ingest.dedup.verify import Comparison


class Codes:
    """A number for each document id met by one decision: the run's documents first,
    numbered as in `run_codes`."""

    def __init__(self, run_codes: dict[str, int]) -> None:
        self.ids = list(run_codes)
        self._run_codes = run_codes
        self._earlier: dict[str, int] = {}

    def __call__(self, doc_id: str) -> int:
        code = self._run_codes.get(doc_id)
        if code is None:
            code = self._earlier.get(doc_id)
        if code is None:  # a document of an earlier run
            code = self._earlier[doc_id] = len(self.ids)
            self.ids.append(doc_id)
        return code


class VerifiedPairs:
    """The verified pairs as columns, 4 bytes a code or count (40 bytes a pair: two codes
    and `Comparison`'s eight counts), where a dict of id tuples and `Comparison`s took
    about 300 bytes a pair: about one pair a clustered document (`pair_rounds.py`)."""

    def __init__(self) -> None:
        self.first, self.second = array("i"), array("i")  # document codes (`Codes`)
        self._counts = array("i")  # each pair's `COUNTS`

    def add(self, a: int, b: int, c: Comparison) -> None:
        self.first.append(a)
        self.second.append(b)
        self._counts.extend([getattr(c, name) for name in COUNTS])

    def extend(self, first: np.ndarray, second: np.ndarray, counts: np.ndarray) -> None:
        """Pairs as columns: codes, and `COUNTS` rows."""
        self.first.extend(first.tolist())
        self.second.extend(second.tolist())
        self._counts.extend(counts.ravel().tolist())

    def __len__(self) -> int:
        return len(self.first)

    def comparison(self, i: int) -> Comparison:
        return Comparison(*self._counts[len(COUNTS) * i : len(COUNTS) * (i + 1)])


def components(n: int, pairs: VerifiedPairs) -> np.ndarray:
    """Each of the `n` codes' connected component over the pairs, named by its
    smallest code (union-find)."""
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = x = parent[parent[x]]  # path halving
        return x

    for a, b in zip(pairs.first, pairs.second):
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return np.fromiter((find(x) for x in range(n)), dtype=np.int32, count=n)


def grouped(keys: np.ndarray) -> dict[int, np.ndarray]:
    """The positions of `keys` grouped by key, in increasing keys (in order in a group)."""
    if len(keys) == 0:
        return {}
    order = np.argsort(keys, kind="stable").astype(np.int32)  # 12 million pairs: 48 MB, not 96
    ordered_keys = keys[order]
    starts, sizes = runs_of(ordered_keys)
    ends = starts + sizes
    return {k: order[a:b] for k, a, b in zip(ordered_keys[starts].tolist(), starts.tolist(), ends.tolist())}


def shortest_links(kept: str, graph: dict[str, dict[str, float]]) -> dict[str, str]:
    """Document -> the neighbour it is linked to, over the verified pairs in `graph`
    (their similarities), by breadth-first search from the kept document.

    A document's neighbour is one step nearer the kept document (so the kept one
    itself for those similar to it), the most similar of those, the smaller id on a
    tie: the links depend on the pairs alone, never on the order of the input.
    """
    links: dict[str, str] = {}
    reached, layer = {kept}, {kept}
    while layer:
        following = {other for doc in layer for other in graph[doc] if other not in reached}
        for doc in following:
            links[doc] = min((p for p in graph[doc] if p in layer), key=lambda p: (-graph[doc][p], p))
        reached |= following
        layer = following
    return links
