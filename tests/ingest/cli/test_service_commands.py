"""`ingest serve` and `ingest update` refusing what they cannot do, in one line."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.processes import clean_env, free_port, ingest


@pytest.fixture()
def inbox(tmp_path: Path) -> Path:
    folder = tmp_path / "inbox"
    folder.mkdir()
    return folder


def folders(inbox: Path) -> list[str]:
    return [str(inbox), "--out", str(inbox.parent / "out"), "--state", str(inbox.parent / "state")]


def test_help_documents_every_option() -> None:
    serve, update = ingest("serve", "--help"), ingest("update", "--help")
    assert serve.returncode == update.returncode == 0
    for option in ("--out", "--state", "--config", "--workers", "--debug"):
        assert option in serve.stdout and option in update.stdout
    for option in ("--cron", "--interval", "--name"):
        assert option in serve.stdout


@pytest.mark.parametrize("schedule", [[], ["--cron", "*/5 * * * *", "--interval", "60"]])
def test_serve_needs_exactly_one_schedule(inbox: Path, schedule: list[str]) -> None:
    result = ingest("serve", *folders(inbox), *schedule)
    assert result.returncode == 2 and "exactly one of --cron and --interval" in result.stderr


def serve_with(api_url: str | None, inbox: Path) -> subprocess.CompletedProcess:
    env = clean_env(PREFECT_HOME=str(inbox.parent / "prefect-home"))  # no profile that names a server
    if api_url is not None:
        env["PREFECT_API_URL"] = api_url
    return ingest("serve", *folders(inbox), "--interval", "60", env=env, timeout=120)


def test_serve_without_a_server_url_exits_1_with_one_line(inbox: Path) -> None:
    result = serve_with(None, inbox)
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert result.stderr.startswith("ingest: error: PREFECT_API_URL is not set: start a server")


def test_serve_with_no_server_answering_exits_1_with_one_line(inbox: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/api"  # nothing listens there
    result = serve_with(url, inbox)
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert result.stderr.startswith(f"ingest: error: no Prefect server answers at PREFECT_API_URL={url}")


@pytest.mark.parametrize("command", ["update", "serve"])
def test_outputs_inside_the_inbox_are_bad_usage(inbox: Path, command: str) -> None:
    schedule = ["--interval", "60"] if command == "serve" else []
    result = ingest(command, str(inbox), "--out", str(inbox / "out"), "--state", str(inbox.parent / "s"), *schedule)
    assert result.returncode == 2
    assert result.stderr.strip() == f"ingest: error: --out {inbox / 'out'} is inside the inbox {inbox}: its files would be ingested"
