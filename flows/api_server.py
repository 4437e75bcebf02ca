"""A temporary Prefect API for one run, started without importing Prefect's server.

Prefect starts the same server itself when no PREFECT_API_URL is set (its app under
uvicorn in a child process), but it first imports the whole server package in the
calling process: 2.4 s on this machine, before the child even starts. Started from
here, the child boots while the CLI imports the rest. Only the standard library is
imported at module level, so that the CLI can start the server before it imports
Prefect.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

# uvicorn's exit status when the port was taken between choosing it and binding it.
_PORT_IN_USE = 3
STARTUP_TIMEOUT_SECONDS = 60.0


class ApiStartError(RuntimeError):
    """The temporary API did not come up; the message says why."""


class TemporaryApi:
    """`prefect server`'s API on a free loopback port, for the lifetime of one run."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.process = _spawn(self.port)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def wait(self, timeout: float = STARTUP_TIMEOUT_SECONDS) -> str:
        """Block until the API answers its health check; returns its URL."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.process.poll()
            if status == _PORT_IN_USE:
                self.port = _free_port()
                self.process = _spawn(self.port)
            elif status is not None:
                raise ApiStartError(f"the temporary Prefect API exited with status {status} while starting")
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=2) as response:
                    if response.status == 200:
                        return self.url
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.05)
        self.stop()
        raise ApiStartError(f"the temporary Prefect API did not answer within {timeout:.0f} s")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _spawn(port: int) -> subprocess.Popen:
    spec = importlib.util.find_spec("prefect")  # finds the package without importing it
    if spec is None or spec.origin is None:
        raise ApiStartError("prefect is not installed")
    app_dir = Path(spec.origin).parent.parent
    # The variables Prefect sets for its own temporary server: no UI, ephemeral mode.
    env = {**os.environ, "PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1", "PREFECT__SERVER_FINAL": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--app-dir", str(app_dir), "--factory",
         "prefect.server.api.server:create_app", "--host", "127.0.0.1", "--port", str(port),
         "--log-level", "error", "--lifespan", "on"],
        env=env,
    )
