"""`ingest serve` against a real Prefect server: scheduled runs pick up files dropped
into the inbox, and a later near-duplicate is linked to the first document."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from ingest.write.partitions import read_manifest
from tests.prefect_api import report_markdowns
from ingest.faults import ENV as FAULT
from tests.processes import PrefectServer, continue_process, stop_group, stopped_at_fault, wait_for
from tests.samples import ARTICLE
from tests.schema_check import validate_lines

pytestmark = pytest.mark.server

REPO = Path(__file__).resolve().parents[2]
RUN_SECONDS = 180  # one scheduled run, from its schedule to its manifest line, on a busy machine


def drop(inbox: Path, name: str, text: str) -> None:
    """Put a file into the inbox the way producers should: written under a hidden name
    (which runs skip), then renamed, so that no run reads it half-written."""
    hidden = inbox / f".{name}.part"
    hidden.write_text(text, encoding="utf-8")
    os.rename(hidden, inbox / name)


def wait_for_partition(out: Path, n: int, serve: subprocess.Popen, log: Path) -> str:
    """The name of the n-th partition, once a scheduled run has listed it in the manifest."""
    wait_for(lambda: serve.poll() is not None or len(read_manifest(out)) >= n, RUN_SECONDS,
             f"a scheduled run writing partition {n}", log)
    assert serve.poll() is None, log.read_text(errors="replace")[-3000:]
    return read_manifest(out)[n - 1]["partition"]


def test_scheduled_runs_ingest_dropped_files_and_link_a_later_copy(prefect_server: PrefectServer, tmp_path: Path) -> None:
    inbox, out, state = tmp_path / "inbox", tmp_path / "out", tmp_path / "state"
    inbox.mkdir()
    log = tmp_path / "serve.log"
    with open(log, "wb") as fh:
        serve = subprocess.Popen(
            [sys.executable, "-m", "ingest.cli", "serve", str(inbox), "--out", str(out), "--state", str(state),
             "--interval", "2", "--workers", "1", "--name", f"test-{tmp_path.name}"],
            env=prefect_server.env(PREFECT_RUNNER_POLL_FREQUENCY="1"), stdout=fh, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        drop(inbox, "ferry.txt", "Ferry timetable approved\n\n" + ARTICLE)
        first = wait_for_partition(out, 1, serve, log)
        (original,) = validate_lines(out / first / "documents.jsonl", "document")
        assert original["source"] == str(inbox / "ferry.txt")

        drop(inbox, "ferry-copy.txt", "Ferries: a second site's copy\n\n" + ARTICLE + "\n\nShort link: https://t.example/f")
        second = wait_for_partition(out, 2, serve, log)
        assert first < second
        assert validate_lines(out / second / "documents.jsonl", "document") == []
        (copy,) = validate_lines(out / second / "duplicates.jsonl", "document")
        assert copy["source"] == str(inbox / "ferry-copy.txt")
        assert copy["dedup"]["duplicate_of"] == original["id"]
        # The run publishes its artifact just after the manifest; runs go on every two
        # seconds, so it need not be the newest one.
        wait_for(lambda: any(f"| partition | {second} |" in md for md in report_markdowns(prefect_server.api_url, 20)),
                 RUN_SECONDS, f"the report artifact of partition {second}", log)
    finally:
        stop_group(serve)
    assert not list(out.glob(".partial-*"))


def flow_runs(server: PrefectServer, deployment: str, state_type: str) -> list[dict]:
    """The flow runs of deployment `ingest-inbox/<deployment>` in a state of that type."""
    response = httpx.get(f"{server.api_url}/deployments/name/ingest-inbox/{deployment}", timeout=30)
    response.raise_for_status()
    response = httpx.post(f"{server.api_url}/flow_runs/filter", timeout=30, json={"flow_runs": {
        "deployment_id": {"any_": [response.json()["id"]]}, "state": {"type": {"any_": [state_type]}}}})
    response.raise_for_status()
    return response.json()


def test_a_run_that_comes_due_while_the_last_one_runs_is_cancelled(prefect_server: PrefectServer,
                                                                   tmp_path: Path) -> None:
    inbox, out, state, fired = tmp_path / "inbox", tmp_path / "out", tmp_path / "state", tmp_path / "fired"
    inbox.mkdir()
    drop(inbox, "ferry.txt", "Ferry timetable approved\n\n" + ARTICLE)
    name = f"test-{tmp_path.name}"
    log = tmp_path / "serve.log"
    with open(log, "wb") as fh:
        # The first run's worker stops itself at its clean batch: the run stays running
        # for as long as the test needs, while runs come due every two seconds.
        serve = subprocess.Popen(
            [sys.executable, "-m", "ingest.cli", "serve", str(inbox), "--out", str(out), "--state", str(state),
             "--interval", "2", "--workers", "1", "--name", name],
            env=prefect_server.env(PREFECT_RUNNER_POLL_FREQUENCY="1", **{FAULT: f"clean:stop:{fired}"}),
            stdout=fh, stderr=subprocess.STDOUT, start_new_session=True,
        )
    worker = None
    try:
        worker = stopped_at_fault(fired, serve, RUN_SECONDS, log)
        wait_for(lambda: len(flow_runs(prefect_server, name, "CANCELLED")) >= 2, RUN_SECONDS,
                 "two runs cancelled while the first runs", log)
        assert len(flow_runs(prefect_server, name, "RUNNING")) == 1  # the stopped one, and none beside it
        assert flow_runs(prefect_server, name, "PENDING") == []  # nothing queued behind it
        assert read_manifest(out) == []
        continue_process(worker)
        worker = None
        wait_for_partition(out, 1, serve, log)
    finally:
        if worker is not None:
            continue_process(worker)
        stop_group(serve)
    (entry,) = read_manifest(out)
    assert entry["documents"] == 1


def test_prefect_yaml_registers_the_scheduled_deployment(prefect_server: PrefectServer, tmp_path: Path) -> None:
    env = prefect_server.env(PWD=str(REPO), INGEST_INBOX=str(tmp_path / "inbox"), INGEST_OUT=str(tmp_path / "out"),
                             INGEST_STATE=str(tmp_path / "state"))
    prefect = [sys.executable, "-m", "prefect", "--no-prompt"]
    subprocess.run([*prefect, "work-pool", "create", "ingest", "--type", "process", "--overwrite"],
                   env=env, cwd=REPO, check=True, capture_output=True, timeout=120)
    deployed = subprocess.run([*prefect, "deploy", "--all"], env=env, cwd=REPO, capture_output=True, text=True,
                              timeout=120, check=False)
    assert deployed.returncode == 0, deployed.stdout[-3000:] + deployed.stderr[-3000:]

    response = httpx.get(f"{prefect_server.api_url}/deployments/name/ingest-inbox/inbox", timeout=30)
    response.raise_for_status()
    deployment = response.json()
    assert deployment["entrypoint"] == "flows/scheduled_flow.py:ingest_inbox"
    assert deployment["parameters"] == {"inbox": str(tmp_path / "inbox"), "out": str(tmp_path / "out"),
                                        "state": str(tmp_path / "state")}
    assert [s["schedule"]["cron"] for s in deployment["schedules"]] == ["*/15 * * * *"]
    assert deployment["concurrency_options"]["collision_strategy"] == "CANCEL_NEW"
    assert deployment["pull_steps"] == [
        {"prefect.deployments.steps.set_working_directory": {"directory": str(REPO)}}]
