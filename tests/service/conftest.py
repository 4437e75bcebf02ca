"""A real Prefect server for the service tests: `prefect server start` on a free
loopback port, with its own PREFECT_HOME (SQLite database) under the session's tmp."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.processes import (
    PrefectServer,
    clean_env,
    free_port,
    healthy,
    stop_group,
    wait_for,
)

SERVER_START_SECONDS = 180


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory) -> Iterator[PrefectServer]:
    home = tmp_path_factory.mktemp("prefect-server")
    port = free_port()
    server = PrefectServer(f"http://127.0.0.1:{port}/api", home)
    log = home / "server.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port), "--no-ui"],
            env=clean_env(PREFECT_HOME=str(home)), stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        wait_for(lambda: process.poll() is not None or healthy(server.api_url), SERVER_START_SECONDS,
                 "the Prefect server answering /api/health", log)
        assert process.poll() is None, log.read_text(errors="replace")[-3000:]
        yield server
    finally:
        stop_group(process)
