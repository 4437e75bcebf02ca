"""A temporary Prefect API for one run, started without importing Prefect's server.

Prefect starts the same server itself when no PREFECT_API_URL is set (its app under
uvicorn in a child process), but it first imports the whole server package in the
calling process: 2.4 s on this machine, before the child even starts. Started from
here, the child boots while the CLI imports the rest. Only the standard library is
imported at module level, so that the CLI can start the server before it imports
Prefect; the child runs `serve` below.
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

# The API's exit status when the port was taken between choosing it and binding it
# (EADDRINUSE's number): it is started again on another.
_PORT_IN_USE = 98
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
    if importlib.util.find_spec("prefect") is None:  # finds the package without importing it
        raise ApiStartError("prefect is not installed")
    # The variables Prefect sets for its own temporary server: no UI, ephemeral mode.
    env = {**os.environ, "PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1", "PREFECT__SERVER_FINAL": "1",
           # The flows use no blocks. Registering them (or hashing the registry to see
           # that nothing changed) imports every Prefect collection, prefect-dask's Dask
           # among them: 0.45 s of the 3.3 s the API took to answer. A server started
           # with `prefect server start` still registers them.
           "PREFECT_SERVER_REGISTER_BLOCKS_ON_START": "false",
           "PREFECT_SERVER_MEMOIZE_BLOCK_AUTO_REGISTRATION": "false"}
    # Nothing to report to from here (and no network in many pipelines' hosts).
    env.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # Automations' triggers, which a server that ends with the run has little use for.
    # Their service stopped up to 5 s late whenever the API was stopped during their
    # periodic evaluation (prefect 3.8: the loop sleeps in a `finally`, so a cancel
    # waits out the sleep), and the run then killed the API: about 5 runs in 100 at
    # 20,000 documents with both lanes reading from the start, none in 60 without them.
    env.setdefault("PREFECT_SERVER_SERVICES_TRIGGERS_ENABLED", "false")
    # -P: the working folder is not searched first, so a folder of the user's named
    # `flows` or `prefect` cannot stand in for the packages.
    return subprocess.Popen([sys.executable, "-P", "-m", "flows.api_server", str(port)], env=env)


def listening_socket(port: int) -> socket.socket:
    """A socket bound to the loopback `port`, for the API to accept connections on."""
    # The protocol is named: asyncio turns Nagle's algorithm off (TCP_NODELAY) only on
    # sockets whose protocol is TCP, and the default, 0, is not. With it on, every
    # request after the first on a kept-alive connection waited for the client's
    # delayed acknowledgement: 44 to 48 ms instead of 1 to 6 ms.
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
    except OSError:
        listener.close()
        raise
    return listener


def serve(port: int) -> None:
    """The API's process: Prefect's app under uvicorn, as `prefect server start` serves it."""
    # Bound before the imports: a taken port is known at once, and apart from other
    # failures to start (which uvicorn also reports with one status).
    try:
        listener = listening_socket(port)
    except OSError:
        sys.exit(_PORT_IN_USE)

    from ingest.run.memory import frozen_imports

    # The server's modules and app live as long as the process. Frozen, the collector
    # no longer walks them: its full collections took up to 0.17 s each, 0.8 s in all
    # in a run of 20,000 documents, some of it while the flow's first requests waited.
    with frozen_imports():
        import uvicorn
        from prefect.server.api.server import create_app

        app = create_app()
    uvicorn.Server(uvicorn.Config(app, log_level="error", lifespan="on")).run(sockets=[listener])


if __name__ == "__main__":
    serve(int(sys.argv[1]))
