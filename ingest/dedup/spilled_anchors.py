"""Passage candidate pairs out of core: `passages.candidate_pairs` with its arrays spilled.

In memory, every story's anchors are packed into one array and sorted, and their pair
codes held (about 3 KB a news document at the peak, measured at 20,000 documents by
bench/central_memory.py). Here the packed anchors are spilled as they come,
partitioned by the top bits of their mixed hash (`part_files.py`): the documents of one
anchor land in one partition, which is sorted and bucketed alone. Its pair codes are
spilled by ranges of the first document, and each range is counted alone. The same
pairs come out, in the same order, with one partition or range in memory at a time,
and stay spilled until read back a range at a time.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np

from ingest.dedup.part_files import PartFiles, first_ranges, parts_for
from ingest.dedup.passages import anchor_buckets, doc_bits, packed_anchors, pairs_shared, times_counted
from ingest.dedup.stock_phrases import NO_STOCK, StockAnchors

# Stories whose anchors are packed and spilled at a time.
_STORIES_AT_ONCE = 4096
_CODE = np.dtype(np.int64)  # a spilled candidate pair: a * n + b


class SpilledPairs:
    """Candidate pairs of `n` stories, spilled in order to one file as codes a * n + b,
    read back a range at a time (`read`). The file goes with `discard`."""

    def __init__(self, path: Path, n: int) -> None:
        self.path, self.n = path, n
        path.write_bytes(b"")

    def __len__(self) -> int:
        return self.path.stat().st_size // _CODE.itemsize

    def add(self, codes: np.ndarray) -> None:
        with open(self.path, "ab") as f:
            codes.astype(_CODE, copy=False).tofile(f)

    def read(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        """The pairs from `start` to `stop` (positions in the order found): their first
        and second stories."""
        codes = np.fromfile(self.path, dtype=_CODE, count=stop - start, offset=start * _CODE.itemsize)
        return (codes // self.n).astype(np.int32), (codes % self.n).astype(np.int32)

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)



def spilled_candidate_pairs(anchor_sets: Iterable[np.ndarray], n: int, min_shared: int, stock_over: int,
                            folder: Path, rare_at_most: int = 0) -> tuple[SpilledPairs, StockAnchors]:
    """`candidate_pairs` of the `n` stories whose anchors `anchor_sets` yields in order,
    spilling to `folder`; the pairs stay there (`SpilledPairs`), one part of them in
    memory at a time (at a million bench documents they would be hundreds of MB)."""
    chosen = SpilledPairs(folder / "candidate-pairs.bin", n)
    if n < 2:
        return chosen, NO_STOCK
    bits, parts = doc_bits(n), parts_for(n)
    top = np.uint64(64 - (parts - 1).bit_length())  # the partition: the hash's top bits
    anchors = PartFiles(folder, "anchors", parts, np.uint64)
    codes = PartFiles(folder, "anchor-pairs", parts, np.int64)
    try:
        first, pending = 0, []
        for found in anchor_sets:
            pending.append(found)
            if len(pending) == _STORIES_AT_ONCE:
                packed = packed_anchors(pending, first, bits)
                anchors.add(packed, packed >> top)
                first, pending = first + len(pending), []
        packed = packed_anchors(pending, first, bits)
        anchors.add(packed, packed >> top)
        del packed, pending
        stock = []
        for part in anchors.parts():
            buckets, part_stock = anchor_buckets(part, bits, stock_over)
            stock.append(part_stock.keys)
            for members, lo_at, hi_at in buckets:
                pair = members[:, lo_at].ravel().astype(np.int64) * n + members[:, hi_at].ravel()
                ranges = first_ranges(pair, n, parts)
                for _ in range(times_counted(len(members[0]), min_shared, rare_at_most)):
                    codes.add(pair, ranges)
        # The parts are ranges of the first document: their codes in order are sorted.
        for part in codes.parts():
            chosen.add(pairs_shared(part, min_shared))
    except BaseException:
        chosen.discard()
        raise
    finally:
        anchors.discard()
        codes.discard()
    return chosen, StockAnchors(np.concatenate(stock), bits)
