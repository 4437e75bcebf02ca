"""The out-of-core LSH banding proposes `lsh_pairs`'s pairs, in its order; band keys from blocks of signatures."""

from __future__ import annotations

import numpy as np

from ingest.dedup import part_files
from ingest.dedup.lsh import band_keys, held_keys_by_band, lsh_pairs
from ingest.dedup.spilled_lsh import spilled_keys_by_band, spilled_lsh_pairs


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


def shuffled_blocks(signatures: np.ndarray, seed: int) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The signatures cut into blocks as batches hold them: each block's documents in
    an order of its own, some of its rows not asked for."""
    rng = np.random.default_rng(seed)
    positions = rng.permutation(len(signatures))
    blocks = []
    for part in np.array_split(positions, 5):
        held = np.concatenate([signatures[part], rng.integers(0, 2**32, (3, signatures.shape[1])).astype(np.uint32)])
        order = rng.permutation(len(held))  # row `order[i]` of the block holds `held[i]`
        block = np.empty_like(held)
        block[order] = held
        blocks.append((part, block, order[: len(part)]))
    return blocks


def test_band_keys_from_blocks_are_each_band_s_keys_in_the_documents_order(tmp_path) -> None:
    signatures = signatures_with_shared_bands(600, seed=8)
    expected = [band_keys(signatures, band, 4) for band in range(8)]
    blocks = shuffled_blocks(signatures, seed=9)
    held = list(held_keys_by_band(blocks, len(signatures), 8, 4))
    spilled = list(spilled_keys_by_band(iter(blocks), len(signatures), 8, 4, tmp_path))
    assert [k.tolist() for k in held] == [k.tolist() for k in expected]
    assert [k.tolist() for k in spilled] == [k.tolist() for k in expected]
    assert list(tmp_path.iterdir()) == []  # the spilled keys are deleted
