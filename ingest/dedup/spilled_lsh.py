"""LSH candidate pairs out of core: `lsh.lsh_pairs`'s banding with its pairs spilled to disk.

The in-memory banding stacks every signature (512 bytes a document at 128
permutations) and holds all bands' pair codes at once. Here each band's keys (8 bytes
a document) come in one at a time, its buckets are found by sorting them alone, and
its pair codes are spilled by ranges of the first document (`part_files.py`), as
datatrove's bucket stages spill sorted runs and merge them. Each range is then made
unique in turn: the pairs come out in `lsh_pairs`'s order (by first, then second
document), with one band's keys and one range's codes in memory at a time.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from ingest.arrays import unique
from ingest.dedup.lsh import SignatureBlocks, band_pair_codes, bands_keys, pairs_of
from ingest.dedup.part_files import PartFiles, first_ranges, parts_for


def spilled_lsh_pairs(keys_by_band: Iterable[np.ndarray], n: int, folder: Path) -> Iterator[np.ndarray]:
    """Index pairs (a < b) of the `n` documents that share a bucket in at least one band,
    sorted, as blocks of rows (a, b) (a part's each): the rows of `lsh_pairs`.
    `keys_by_band`: for each band in turn, the n documents' bucket keys
    (`lsh.band_keys`); `folder`: where the codes are spilled."""
    parts = parts_for(n)
    spill = PartFiles(folder, "lsh-pairs", parts, np.int64)
    try:
        for keys in keys_by_band:
            for codes in band_pair_codes(keys, n):
                spill.add(codes, first_ranges(codes, n, parts))
        for codes in spill.parts():
            yield pairs_of(unique(codes), n)
    finally:
        spill.discard()


def spilled_keys_by_band(blocks: SignatureBlocks, n: int, bands: int, rows: int, folder: Path) -> Iterator[np.ndarray]:
    """The band keys of `n` documents band by band, from their signatures in `blocks`
    (read once, a block at a time), spilled first to one file a band in `folder`, and
    put in the documents' order a band at a time."""
    paths = [folder / f"band-keys-{band:03d}.bin" for band in range(bands)]
    try:
        files = [open(path, "wb") for path in paths]  # noqa: SIM115 (closed below)
        try:
            order = []
            for positions, signatures, at in blocks:
                order.append(positions)
                # A band's keys as contiguous rows: `tofile` writes a strided column a value at a time.
                keys = np.ascontiguousarray(bands_keys(signatures, 0, bands, rows)[at].T)
                for band, f in enumerate(files):
                    keys[band].tofile(f)
        finally:
            for f in files:
                f.close()
        order = np.concatenate(order)
        for path in paths:
            keys = np.empty(n, dtype=np.uint64)
            keys[order] = np.fromfile(path, dtype=np.uint64)
            path.unlink()
            yield keys
    finally:
        for path in paths:
            path.unlink(missing_ok=True)
