"""`ingest run` where the README promises it copes: a state folder another run holds,
a transient I/O error in a batch, a dump of every kind of bad input. A real command, the
fault injected where the code names the point (ingest/faults.py)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from ingest.config import load_config
from ingest.faults import ENV as FAULT
from ingest.index.lock import StateLock
from ingest.run.pipeline import run
from tests.processes import (
    RUN_SECONDS,
    continue_process,
    finished,
    start_ingest,
    stopped_at_fault,
    wait_for,
    waiting_for_a_lock,
)
from tests.samples import build_dump, unprivileged
from tests.schema_check import OUTPUTS, validated_outputs

def test_a_run_on_a_held_state_folder_waits_for_it(seeds: Path, tmp_path: Path) -> None:
    state, out, log = tmp_path / "state", tmp_path / "out", tmp_path / "run.log"
    holder = StateLock(state)
    assert holder.acquire()
    try:
        process = start_ingest("run", str(seeds), "--out", str(out), "--state", str(state), log=log)
        wait_for(lambda: process.poll() is not None or waiting_for_a_lock(process.pid), RUN_SECONDS,
                 "the run blocking on the state lock", log)
        assert process.poll() is None, log.read_text(errors="replace")[-3000:]
        assert not (out / "documents.jsonl").exists()
    finally:
        holder.close()
    lines = finished(process, log).splitlines()
    # In this order, and not necessarily alone: the temporary Prefect API may log to stderr.
    waiting = lines.index(f"ingest: waiting for {state / 'ingest.lock'} (held by pid {os.getpid()})")
    assert lines.index(f"5 inputs: 5 documents, 0 duplicates, 0 rejected -> {out}") > waiting


def test_a_batch_that_fails_on_a_transient_io_error_is_retried(seeds: Path, tmp_path: Path) -> None:
    fired, log = tmp_path / "fired", tmp_path / "run.log"
    run([str(seeds)], tmp_path / "reference", load_config())
    process = start_ingest("run", str(seeds), "--out", str(tmp_path / "out"), "--workers", "2", log=log,
                    **{FAULT: f"prepare:eio:{fired}"})
    finished(process, log)
    assert fired.exists()  # a prepare batch failed with EIO: the retry redid it
    assert validated_outputs(tmp_path / "out") == validated_outputs(tmp_path / "reference")


def test_every_record_of_a_hostile_dump_ends_in_exactly_one_output_of_the_command(tmp_path: Path) -> None:
    """tests/ingest/run/test_conservation.py's dump, through `ingest run` and its workers."""
    prefix = tuple(unprivileged())
    dump, out, fired, log = tmp_path / "dump", tmp_path / "out", tmp_path / "fired", tmp_path / "run.log"
    expected_rejects = build_dump(dump)
    # One worker, stopped before its first batch reads anything: vanished.txt goes
    # between discovery and reading.
    process = start_ingest("run", str(dump), "--out", str(out), "--workers", "1", log=log, prefix=prefix,
                    **{FAULT: f"prepare:stop:{fired}"})
    worker = stopped_at_fault(fired, process, RUN_SECONDS, log)
    (dump / "vanished.txt").unlink()
    continue_process(worker)
    assert f"15 inputs: 5 documents, 0 duplicates, 10 rejected -> {out}" in finished(process, log).splitlines()

    outputs = validated_outputs(out)
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["counts"] == {"inputs": 15, "documents": 5, "duplicates": 0, "rejected": 10, "balanced": True}
    sources = [r["source"] for name in OUTPUTS for r in outputs[name]]
    assert len(sources) == len(set(sources)) == 15  # each record once, in one output
    assert sorted(Path(d["source"]).name for d in outputs["documents.jsonl"]) == [
        "feed.jsonl#1", "feed.jsonl#3", "feed.jsonl#4", "good.txt", "page.html"]
    by_name = {Path(r["source"]).name: r for r in outputs["rejects.jsonl"]}
    assert sorted(by_name) == sorted(expected_rejects)
    for name, (error, phrase) in expected_rejects.items():
        reject = by_name[name]
        assert reject["error"] == error, f"{name}: {reject}"
        assert reject["reason"].startswith(str(dump / name) + ": ") and phrase in reject["reason"], f"{name}: {reject}"
