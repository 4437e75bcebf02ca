"""The dedup step's candidate pairs verified in the workers (the "verify" phase) decide
what they decide in this process: the same outputs with one worker or two, whatever
the batches and chunks."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from ingest.config import load_config
from ingest.dedup import pair_rounds
from ingest.run import decide
from ingest.run.pipeline import run, run_phase
from tests.ingest.run.test_out_of_core import outputs, write_corpus


@pytest.mark.parametrize("pairs_in_workers", [1, 60])  # 60: the first round here, the rest in the workers
def test_decisions_do_not_depend_on_the_workers(tmp_path: Path, monkeypatch, pairs_in_workers: int) -> None:
    corpus = tmp_path / "corpus"
    write_corpus(corpus, 3)
    config = load_config()
    config = config.model_copy(update={"run": config.run.model_copy(update={"batch_files": 40})})
    # Many rounds and chunks over a small input.
    monkeypatch.setattr(pair_rounds, "ROUND_PAIRS", 50)
    monkeypatch.setattr(pair_rounds, "CHUNK_PAIRS", 7)
    monkeypatch.setattr(decide, "PAIRS_IN_WORKERS", pairs_in_workers)
    phases = []

    def pool_mapper(phase: str, args: list[tuple]) -> list:
        phases.append(phase)
        return list(pool.map(run_phase, [phase] * len(args), args))

    alone = run([str(corpus)], tmp_path / "one", config)
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("fork")) as pool:
        shared = run([str(corpus)], tmp_path / "two", config, mapper=pool_mapper, workers=2)
    assert phases.count("verify") > 2  # rounds of chunks, in the workers
    assert outputs(tmp_path / "one") == outputs(tmp_path / "two")
    assert alone["dedup"] == shared["dedup"]
    assert alone["dedup"]["skipped_as_connected"] > 0 and alone["dedup"]["clusters"] > 10
