"""The central steps out of core (`[run] central_memory_mib = 0`) decide what they decide
in memory: the same duplicates, links, similarities and passages, with and without an
index of earlier runs."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np

from ingest.config import load_config
from ingest.dedup import part_files
from ingest.run import decide
from ingest.run.pipeline import run
from tests.redis_server import redis_server
from tests.samples import BRANCHES, article, span_text


def write_corpus(folder: Path, seed: int) -> None:
    """Originals, exact and edited copies, the branched cluster of BRANCHES, and quotes
    shared between distinct stories, one document a file."""
    rng = random.Random(seed)
    folder.mkdir(parents=True)
    texts = {}
    for i in range(150):
        text = article(seed * 1000 + i, rng.randint(60, 260))
        if i % 5 == 0:  # a quote that another story reuses
            text += f"\n\nThe minister said: {span_text(seed * 100_000 + i * 100, 30)} before leaving."
        texts[f"orig-{i}"] = text
    for i in range(150):
        words = texts[f"orig-{rng.randrange(150)}"].split(" ")
        for _ in range(rng.randint(0, len(words) // 8)):
            words[rng.randrange(len(words))] = rng.choice(["ferry", "quay", "dock", "pier"])
        texts[f"copy-{i}"] = " ".join(words)
    for i in range(0, 150, 5):
        texts[f"quote-{i}"] = article(seed * 1000 + 500 + i) + "\n\n" + span_text(seed * 100_000 + i * 100, 30)
    for name, start in BRANCHES.items():
        texts[f"branch-{name}"] = span_text(seed * 100_000 + 50_000 + start)
    for name, text in texts.items():
        (folder / f"{name}.txt").write_text(text, encoding="utf-8")


def outputs(out: Path) -> dict[str, list[dict]]:
    """Each output document without the time of its run."""
    found = {}
    for name in ("documents", "duplicates"):
        rows = [json.loads(line) for line in (out / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()]
        for row in rows:
            row.pop("added")
        found[name] = sorted(rows, key=lambda r: r["id"])
    return found


def run_both(inputs: list[Path], tmp_path: Path, monkeypatch, state_of=None) -> tuple[list[dict], list[dict]]:
    """Each run of `inputs` in turn into one state (a folder, or what `state_of(mode)`
    gives), in memory and out of core: their outputs and reports."""
    config = load_config()
    config = config.model_copy(update={"run": config.run.model_copy(update={"batch_files": 40})})  # several batches
    spilled = config.model_copy(update={"run": config.run.model_copy(update={"central_memory_mib": 0})})
    monkeypatch.setattr(part_files, "DOCS_PER_PART", 32)  # many parts over a small input
    results = []
    for mode, cfg in (("memory", config), ("spilled", spilled)):
        reports, outs = [], []
        for i, folder in enumerate(inputs):
            out = tmp_path / f"{mode}-{i}"
            state = state_of(mode) if state_of else tmp_path / f"state-{mode}"
            reports.append(run([str(folder)], out, cfg, state_dir=state))
            outs.append(outputs(out))
        results.append((outs, reports))
    return results[0], results[1]


def test_out_of_core_decides_as_in_memory(tmp_path: Path, monkeypatch) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    write_corpus(first, 1)
    write_corpus(second, 2)
    spills = []
    real_spill = decide.central_spill
    monkeypatch.setattr("ingest.run.pipeline.central_spill",
                        lambda *a: spills.append(real_spill(*a)) or spills[-1])
    (memory_outs, memory_reports), (spilled_outs, spilled_reports) = run_both([first, second], tmp_path, monkeypatch)
    assert spills[:2] == [None, None] and all(s is not None for s in spills[2:])
    for memory, spilled, report in zip(memory_outs, spilled_outs, spilled_reports):
        assert len(memory["duplicates"]) > 50
        assert sum(bool(d["passages"]) for d in memory["documents"]) > 20
        assert spilled == memory
        assert report["dedup"]["lsh_candidates"] > 0
    for memory, spilled in zip(memory_reports, spilled_reports):
        assert spilled["dedup"] == memory["dedup"]


def test_out_of_core_decides_as_in_memory_with_redis(tmp_path: Path, monkeypatch) -> None:
    """With the shared index, whose claim decides the run again after claiming."""
    first = tmp_path / "first"
    write_corpus(first, 3)
    with redis_server(tmp_path / "redis") as server:
        databases = {"memory": 1, "spilled": 2}
        (memory_outs, memory_reports), (spilled_outs, spilled_reports) = run_both(
            [first, first], tmp_path, monkeypatch, lambda mode: server.url.replace("/0", f"/{databases[mode]}"))
    assert len(memory_outs[0]["duplicates"]) > 50
    assert spilled_outs == memory_outs
    assert [r["dedup"] for r in spilled_reports] == [r["dedup"] for r in memory_reports]
    assert memory_reports[1]["dedup"]["already_indexed"] == memory_reports[0]["counts"]["inputs"]


def test_passage_chunks_are_the_pairs_split_as_numpy_splits_them() -> None:
    """Out of core the chunks are cut while the pairs are read back from disk: the same
    chunks as splitting them in memory, none empty."""
    from ingest.run.passages import _PAIRS_PER_CHUNK, _chunk_bounds

    for pairs in (0, 1, 3, 7, _PAIRS_PER_CHUNK - 1, _PAIRS_PER_CHUNK + 1, 123_457):
        for workers in (1, 2, 3):
            chunks = max(2 * workers, -(-pairs // _PAIRS_PER_CHUNK))
            split = [(int(c[0]), int(c[-1]) + 1) for c in np.array_split(np.arange(pairs), chunks) if len(c)]
            assert _chunk_bounds(pairs, workers) == split
