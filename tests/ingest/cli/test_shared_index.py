"""`ingest run` with a shared index in a real redis-server: the URL taken from
INGEST_INDEX, and Redis killed in the middle of a run."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from ingest.config import load_config
from ingest.faults import ENV as FAULT
from ingest.run.pipeline import run
from tests.processes import RUN_SECONDS, continue_process, finished, start_ingest, stopped_at_fault
from tests.redis_server import PASSWORD, near_duplicate_dump, redis_server, require_redis_server
from tests.schema_check import OUTPUTS, validated_outputs

WRITTEN = (*OUTPUTS, "report.json")


@pytest.fixture()
def dump(tmp_path: Path) -> Path:
    require_redis_server()
    return near_duplicate_dump(tmp_path / "dump", stories=120, files=6)


def test_the_index_url_is_taken_from_ingest_index(dump: Path, tmp_path: Path) -> None:
    with redis_server(tmp_path / "redis") as redis:
        first = start_ingest("run", str(dump), "--out", str(tmp_path / "first"), log=tmp_path / "first.log",
                      INGEST_INDEX=redis.url)
        output = finished(first, tmp_path / "first.log")
        outputs = validated_outputs(tmp_path / "first")
        indexed = len(redis.client().keys("ingest:doc:*"))
        assert indexed == len(outputs["documents.jsonl"]) + len(outputs["duplicates.jsonl"])  # the run indexed into it
        kept = outputs["documents.jsonl"][0]

        later = tmp_path / "later"
        later.mkdir()
        (later / "copy.txt").write_text("A new headline\n\n" + kept["text"], encoding="utf-8")
        second = start_ingest("run", str(later), "--out", str(tmp_path / "second"), log=tmp_path / "second.log",
                       INGEST_INDEX=redis.url)
        output += finished(second, tmp_path / "second.log")
    (copy,) = validated_outputs(tmp_path / "second")["duplicates.jsonl"]
    assert copy["dedup"]["duplicate_of"] == kept["id"]  # linked through the index of the first run
    for text in (output, *((tmp_path / run_out / "report.json").read_text() for run_out in ("first", "second"))):
        assert PASSWORD not in text


def test_redis_killed_during_a_run_fails_it_with_one_line_and_the_rerun_completes(dump: Path, tmp_path: Path) -> None:
    out, fired, log = tmp_path / "out", tmp_path / "fired", tmp_path / "run.log"
    run([str(dump)], tmp_path / "reference", load_config())
    with redis_server(tmp_path / "redis") as redis:
        # The run stops where a worker starts cleaning (the index checked, nothing
        # claimed yet); Redis dies; the run goes on to the claim.
        process = start_ingest("run", str(dump), "--out", str(out), "--workers", "2", log=log, INGEST_INDEX=redis.url,
                        **{FAULT: f"clean:stop:{fired}"})
        worker = stopped_at_fault(fired, process, RUN_SECONDS, log)
        os.kill(redis.pid, signal.SIGKILL)
        continue_process(worker)
        status = process.wait(timeout=RUN_SECONDS)
    output = log.read_text(errors="replace")
    assert status == 1, output[-3000:]
    assert output.count("\n") == 1 and output.startswith("ingest: error: "), output[-3000:]
    assert PASSWORD not in output
    assert not [name for name in WRITTEN if (out / name).exists()]  # nothing half-published

    with redis_server(tmp_path / "redis-again") as redis:
        finished(start_ingest("run", str(dump), "--out", str(out), "--workers", "2", log=log, INGEST_INDEX=redis.url), log)
    assert validated_outputs(out) == validated_outputs(tmp_path / "reference")
