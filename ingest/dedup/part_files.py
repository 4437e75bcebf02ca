"""Arrays spilled to one file per part, read back part by part: the out-of-core central steps.

`spilled_lsh.py` and `spilled_anchors.py` hand their values here instead of holding
them: each value goes to the file of its part, and the files are read back one at a
time, each deleted once read. Pair codes (a * n + b, a < b) are split by ranges of
their first document a (`first_ranges`): all the codes of a pair land in one part, so
a part can be counted or made unique alone, and the parts in order give the codes in
sorted order, the order of the in-memory steps.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np

# Documents per part: a part's codes or anchors are a few MB at a few hundred a document.
DOCS_PER_PART = 4096
# At most this many parts of pair codes or anchors: at 256, a part of 10 million news
# documents' anchors is about 30 MB.
MOST_PARTS = 256


def parts_for(n: int) -> int:
    """How many parts a spilled step over `n` documents uses: a power of two."""
    return 1 << (max(2, min(MOST_PARTS, math.ceil(n / DOCS_PER_PART))) - 1).bit_length()


def first_ranges(codes: np.ndarray, n: int, parts: int) -> np.ndarray:
    """The part of each pair code a * n + b: the range of a it falls in."""
    return (codes // n) * parts // n


def part_path(folder: Path, name: str, part: int) -> Path:
    """The file of one part."""
    return folder / f"{name}-{part:05d}.bin"


class PartFiles:
    """Values of one `dtype` spilled to `parts` files in `folder`, named after `name`."""

    def __init__(self, folder: Path, name: str, parts: int, dtype: np.dtype) -> None:
        self._dtype = np.dtype(dtype)
        self._paths = [part_path(folder, name, p) for p in range(parts)]
        for path in self._paths:
            path.write_bytes(b"")

    def add(self, values: np.ndarray, part: np.ndarray) -> None:
        """Append each value to the file of its part (`part`, one per value)."""
        if len(values) == 0:
            return
        order = np.argsort(part, kind="stable")
        ends = np.cumsum(np.bincount(part.astype(np.intp), minlength=len(self._paths)))
        ordered = values[order].astype(self._dtype, copy=False)
        for path, lo, hi in zip(self._paths, np.r_[0, ends[:-1]].tolist(), ends.tolist()):
            if hi > lo:
                # Opened for each append: the parts may be more than a process's open files.
                with open(path, "ab") as f:
                    ordered[lo:hi].tofile(f)

    def parts(self) -> Iterator[np.ndarray]:
        """Each part's values in the order added, part 0 first."""
        for path in self._paths:
            values = np.fromfile(path, dtype=self._dtype)
            path.unlink()
            yield values

    def discard(self) -> None:
        """Delete the files left (after a failure, or parts not read)."""
        for path in self._paths:
            path.unlink(missing_ok=True)
