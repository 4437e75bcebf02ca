"""The temporary Prefect API's log: kept beside report.json, counted, never on the user's terminal."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from flows.api_server import BUSY_TIMEOUT_VARIABLE, LOG_NAME
from tests.processes import INGEST, clean_env, ingest
from tests.samples import article

# Flow runs whose final state the API has not recorded yet.
_UNFINISHED = "SELECT count(*) FROM flow_run WHERE state_type IS NULL OR state_type IN ('SCHEDULED', 'PENDING', 'RUNNING')"


def _outputs(out: Path) -> dict[str, list[dict]]:
    """Every output record, without `added` (the time of ingestion)."""
    outputs = {}
    for name in ("documents", "duplicates", "rejects"):
        rows = [json.loads(line) for line in (out / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()]
        outputs[name] = [{k: v for k, v in row.items() if k != "added"} for row in rows]
    return outputs


def _unfinished_flow_runs(db: Path) -> int:
    if not db.exists():
        return 0
    with sqlite3.connect(db, timeout=60) as reader:  # WAL: reads do not wait for writers
        try:
            return reader.execute(_UNFINISHED).fetchone()[0]
        except sqlite3.OperationalError:  # the API is still creating its tables
            return 0


def _hold_write_lock_while_the_flow_runs(db: Path, run: subprocess.Popen, seconds: float) -> None:
    """Once the run's flow run exists and has not finished, hold the database's write lock
    for `seconds`: every write the API tries meanwhile (task states from the recorder, the
    flow's state, which the client retries) waits in vain."""
    deadline = time.monotonic() + 240
    while not _unfinished_flow_runs(db):
        if run.poll() is not None or time.monotonic() > deadline:
            pytest.fail("the run ended before its flow run could be seen in the API's database")
        time.sleep(0.005)
    locker = sqlite3.connect(db, timeout=60, isolation_level=None)
    try:
        locker.execute("BEGIN IMMEDIATE")
        assert locker.execute(_UNFINISHED).fetchone()[0] == 1, "the flow finished before the lock was taken"
        time.sleep(seconds)
        locker.execute("COMMIT")
    finally:
        locker.close()


def test_a_busy_api_database_is_logged_beside_the_report_and_never_on_stderr(tmp_path: Path) -> None:
    dump = tmp_path / "dump"
    dump.mkdir()
    for seed in range(300):  # enough for a flow that lasts while the test takes the lock
        (dump / f"{seed:03}.txt").write_text(article(seed), encoding="utf-8")
    home = tmp_path / "prefect-home"
    # Writes wait 0.2 s for a lock rather than 60 s; the API logs the requests it answers
    # "try again" (503) for, which the client retries.
    env = clean_env(PREFECT_HOME=str(home), **{BUSY_TIMEOUT_VARIABLE: "200"}, PREFECT_API_LOG_RETRYABLE_ERRORS="true")

    quiet = ingest("run", str(dump), "--out", str(tmp_path / "quiet"), env=env)
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stderr == ""
    assert not (tmp_path / "quiet" / LOG_NAME).exists()
    assert json.loads((tmp_path / "quiet" / "report.json").read_text())["prefect_api"] == {"log": None, "errors": 0}

    out = tmp_path / "busy"
    with subprocess.Popen([*INGEST, "run", str(dump), "--out", str(out)], env=env, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE) as run:
        try:
            _hold_write_lock_while_the_flow_runs(home / "prefect.db", run, seconds=3)
            stdout, stderr = run.communicate(timeout=300)
        finally:
            run.kill()

    assert run.returncode == 0, stderr
    assert stderr == ""
    assert _outputs(out) == _outputs(tmp_path / "quiet")
    log = out / LOG_NAME
    assert "database is locked" in log.read_text(encoding="utf-8")
    api = json.loads((out / "report.json").read_text())["prefect_api"]
    assert api["log"] == str(log) and api["errors"] >= 1
    assert stdout.strip() == (f"300 inputs: 300 documents, 0 duplicates, 0 rejected -> {out} "
                              f"(the temporary Prefect API logged {api['errors']} "
                              f"error{'s' if api['errors'] != 1 else ''}: {log})")
