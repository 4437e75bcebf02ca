"""The out-of-core LSH banding proposes `lsh_pairs`'s pairs, in its order."""

from __future__ import annotations

import numpy as np

from ingest.dedup import part_files
from ingest.dedup.lsh import band_keys, lsh_pairs
from ingest.dedup.spilled_lsh import spilled_lsh_pairs


def signatures_with_shared_bands(docs: int, seed: int) -> np.ndarray:
    """Originals and copies that keep some of their bands, in shuffled order; a few
    hundred documents in one bucket (a template page) too."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 2**32, size=(docs // 2, 32), dtype=np.uint64)
    copies = np.where(rng.random(base.shape) < 0.85, base, base + 1)
    signatures = np.concatenate([base, copies]).astype(np.uint32)
    signatures[rng.choice(len(signatures), 300, replace=False), :4] = 7
    return signatures[rng.permutation(len(signatures))]


def test_spilled_banding_gives_the_in_memory_pairs_in_order(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(part_files, "DOCS_PER_PART", 64)  # many ranges over a small input
    signatures = signatures_with_shared_bands(4000, seed=5)
    expected = lsh_pairs(signatures, 8, 4)
    assert len(expected) > 2000
    keys = (band_keys(signatures, band, 4) for band in range(8))
    blocks = list(spilled_lsh_pairs(keys, len(signatures), tmp_path))
    assert len(blocks) > 1 and np.array_equal(np.concatenate(blocks), expected)
    assert list(tmp_path.iterdir()) == []  # the spilled codes are deleted


def test_spilled_banding_of_no_pairs_is_empty(tmp_path) -> None:
    signatures = np.arange(40, dtype=np.uint32).reshape(5, 8)
    assert sum(len(b) for b in spilled_lsh_pairs((band_keys(signatures, b, 4) for b in range(2)), 5, tmp_path)) == 0
