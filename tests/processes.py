"""Helpers for tests that start real processes: servers on loopback ports, commands
in their own process groups, and waiting for what they do, bounded in time."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest


@dataclass(frozen=True)
class PrefectServer:
    api_url: str
    home: Path

    def env(self, **extra: str) -> dict[str, str]:
        """The environment of a process that talks to this server."""
        return clean_env(PREFECT_API_URL=self.api_url, PREFECT_HOME=str(self.home), **extra)


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    return env | extra


INGEST = [sys.executable, "-m", "ingest.cli"]  # the command, run from this interpreter


def ingest(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
           timeout: float = 300) -> subprocess.CompletedProcess:
    """`ingest ARGS` as a user runs it, in a real process, with none of the PREFECT_
    settings of the shell that runs the tests unless `env` gives them."""
    return subprocess.run([*INGEST, *args], capture_output=True, text=True, timeout=timeout, cwd=cwd,
                          env=env if env is not None else clean_env())


RUN_SECONDS = 300  # a small run of the command on a busy machine, with the temporary API's start


def start_ingest(*args: str, log: Path, prefix: tuple[str, ...] = (), **env: str) -> subprocess.Popen:
    """`ingest ARGS` started in its own process group (it and its workers), its stdout
    and stderr into `log`; `env` over the Prefect-free environment."""
    with open(log, "wb") as fh:
        return subprocess.Popen([*prefix, *INGEST, *args], env=clean_env(**env), stdout=fh, stderr=subprocess.STDOUT,
                                start_new_session=True)


def finished(process: subprocess.Popen, log: Path, seconds: float = RUN_SECONDS) -> str:
    """The log of a command started by `start_ingest`, once it has exited 0."""
    try:
        status = process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        stop_group(process)
        pytest.fail(f"ingest did not end within {seconds:g} s\n{log.read_text(errors='replace')[-3000:]}")
    output = log.read_text(errors="replace")
    assert status == 0, output[-3000:]
    return output


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_group(process: subprocess.Popen, grace_seconds: float = 10) -> None:
    """SIGTERM to the process's group (it and every child), SIGKILL if it lingers."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=grace_seconds)
        except subprocess.TimeoutExpired:
            continue
        if sig == signal.SIGTERM:
            try:  # children that outlived the leader
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return


def wait_for(condition: Callable[[], bool], seconds: float, what: str, log: Path | None = None) -> None:
    """Poll `condition` until it holds; fail after `seconds`, with the log's tail."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
            pytest.fail(f"{what} did not happen within {seconds:g} s\n{tail}")
        time.sleep(0.2)


def healthy(api_url: str) -> bool:
    try:
        return httpx.get(f"{api_url}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def process_state(pid: int) -> str | None:
    """The kernel's one-letter state of `pid` (R, S, T for stopped, ...); None once it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return stat[stat.rindex(")") + 2]  # after "pid (command) "


def stopped_at_fault(fault_file: Path, process: subprocess.Popen, seconds: float, log: Path | None = None) -> int:
    """The pid of the process that stopped itself at an INGEST_FAULT point with action
    `stop` (ingest/faults.py): it writes its pid into `fault_file`, then stops."""
    def stopped() -> bool:
        assert process.poll() is None, f"the command ended ({process.returncode}) before the fault point\n" + (
            log.read_text(errors="replace")[-3000:] if log and log.exists() else "")
        text = fault_file.read_text() if fault_file.exists() else ""
        return text.endswith("\n") and process_state(int(text)) == "T"

    wait_for(stopped, seconds, f"a process stopping at the fault point ({fault_file.name})", log)
    return int(fault_file.read_text())


def continue_process(pid: int) -> None:
    os.kill(pid, signal.SIGCONT)


def waiting_for_a_lock(pid: int) -> bool:
    """Whether `pid` is blocked waiting for a file lock (a "->" line of /proc/locks)."""
    for line in Path("/proc/locks").read_text().splitlines():
        fields = line.split()
        if len(fields) > 5 and fields[1] == "->" and fields[5] == str(pid):
            return True
    return False
