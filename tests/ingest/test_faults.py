"""The fault-injection hook: nothing without INGEST_FAULT, the named action at the named
point only, once per FILE."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from ingest.faults import ENV, fault_point
from tests.processes import continue_process, process_state, stopped_at_fault


def test_without_the_variable_no_point_does_anything(monkeypatch) -> None:
    monkeypatch.delenv(ENV, raising=False)
    for point in ("prepare", "clean", "written", "committed"):
        fault_point(point)


def test_eio_fires_at_the_named_point_only(monkeypatch) -> None:
    monkeypatch.setenv(ENV, "clean:eio")
    fault_point("prepare")
    with pytest.raises(OSError) as raised:
        fault_point("clean")
    assert raised.value.errno == errno.EIO and "injected by INGEST_FAULT at clean" in str(raised.value)


def test_with_a_file_the_fault_fires_once(monkeypatch, tmp_path: Path) -> None:
    fired = tmp_path / "fired"
    monkeypatch.setenv(ENV, f"prepare:eio:{fired}")
    with pytest.raises(OSError):
        fault_point("prepare")
    fault_point("prepare")  # the retry goes through
    assert fired.read_text().strip().isdigit()


def test_an_unknown_action_is_an_error(monkeypatch) -> None:
    monkeypatch.setenv(ENV, "clean:explode")
    with pytest.raises(ValueError, match="must be one of kill, stop, eio"):
        fault_point("clean")


_REACH = "import sys; from ingest.faults import fault_point; fault_point(sys.argv[1]); print('went on')"


def reach(point: str, fault: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", _REACH, point], env={**os.environ, ENV: fault},
                            stdout=subprocess.PIPE, text=True, start_new_session=True)


def test_kill_takes_the_whole_process_group() -> None:
    process = reach("written", "written:kill")
    assert process.wait(timeout=60) == -signal.SIGKILL
    assert process.stdout.read() == ""


def test_stop_waits_for_sigcont(tmp_path: Path) -> None:
    fired = tmp_path / "fired"
    process = reach("claimed", f"claimed:stop:{fired}")
    pid = stopped_at_fault(fired, process, 60)
    assert pid == process.pid and process_state(pid) == "T"
    continue_process(pid)
    assert process.wait(timeout=60) == 0
    assert process.stdout.read() == "went on\n"
