"""A temporary Prefect API for one run, started without importing Prefect's server.

Prefect starts the same server itself when no PREFECT_API_URL is set (its app under
uvicorn in a child process), but it first imports the whole server package in the
calling process: 2.4 s on this machine, before the child even starts. Started from
here, the child boots while the CLI imports the rest. Only the standard library is
imported at module level, so that the CLI can start the server before it imports
Prefect; the child runs `serve` below.

Its output (Prefect's server log, uvicorn's, anything printed) goes to a log file,
not the user's terminal: with `echo` also to stderr, as `--debug` wants. A run keeps
the file beside its report when anything was logged (`keep_log`). The API stops
gracefully: on SIGTERM it first waits until every event it was sent is recorded
(`_SettlingServer`), so that stopping it does not cancel a database write in flight.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

# The API's exit status when the port was taken between choosing it and binding it
# (EADDRINUSE's number): it is started again on another.
_PORT_IN_USE = 98
STARTUP_TIMEOUT_SECONDS = 60.0
# How long a stopping API waits for the events it was sent to be recorded, and how
# long the run waits for it to exit (settling, then stopping its services) before
# killing it.
SETTLE_TIMEOUT_SECONDS = 10.0
STOP_TIMEOUT_SECONDS = SETTLE_TIMEOUT_SECONDS + 10.0
# Milliseconds the API's SQLite connections wait for a lock (default: Prefect's 60 s).
BUSY_TIMEOUT_VARIABLE = "INGEST_API_SQLITE_BUSY_TIMEOUT_MS"
# The API's log, kept beside report.json when the API logged anything.
LOG_NAME = "prefect-api.log"
# A record at ERROR or above, in Prefect's log format ("12:00:00.123 | ERROR   | name - ...")
# or uvicorn's ("ERROR:    ...").
_ERROR_RECORD = re.compile(rb"^(?:[\d:.]+ \| (?:ERROR|CRITICAL) *\| |(?:ERROR|CRITICAL): )", re.MULTILINE)


class ApiStartError(RuntimeError):
    """The temporary API did not come up; the message says why."""


@dataclass(frozen=True)
class ApiLog:
    """What the temporary API logged: the kept file (None when it logged nothing), and
    how many records at ERROR or above it holds."""

    path: Path | None
    errors: int


class TemporaryApi:
    """`prefect server`'s API on a free loopback port, for the lifetime of one run.

    Its output goes to `self.log`, a temporary file (`echo`: and to stderr)."""

    def __init__(self, echo: bool = False) -> None:
        fd, name = tempfile.mkstemp(prefix="ingest-prefect-api-", suffix=".log")
        os.close(fd)
        self.log = Path(name)
        self.echo = echo
        self.port = _free_port()
        self.process = self._spawn()

    def _spawn(self) -> subprocess.Popen:
        if self.echo:  # the API copies its output to the log itself (serve below)
            return _spawn(self.port, sys.stderr.fileno(), tee=self.log)
        with open(self.log, "ab") as output:
            return _spawn(self.port, output)

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
                self.process = self._spawn()
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
            self.process.terminate()  # it settles, then stops its services (serve below)
            try:
                self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def keep_log(self, folder: Path) -> ApiLog:
        """Stop the API; move its log into `folder` (an existing run's output folder) as
        LOG_NAME when it holds anything, else remove it and any older one there."""
        self.stop()
        errors = len(_ERROR_RECORD.findall(self.log.read_bytes())) if self.log.exists() else 0
        target = folder / LOG_NAME
        kept = None
        if folder.is_dir():
            if self.log.exists() and self.log.stat().st_size:
                partial = folder / f".{LOG_NAME}.tmp"
                shutil.copyfile(self.log, partial)  # the temporary folder may be another filesystem
                os.replace(partial, target)
                kept = target
            else:
                target.unlink(missing_ok=True)  # it would be taken for this run's
        self.log.unlink(missing_ok=True)
        return ApiLog(kept, errors)

    def discard(self) -> None:
        """Stop the API and remove its log."""
        self.stop()
        self.log.unlink(missing_ok=True)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _spawn(port: int, output, tee: Path | None = None) -> subprocess.Popen:
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
    command = [sys.executable, "-P", "-m", "flows.api_server", str(port), *([str(tee)] if tee else [])]
    return subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT)


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


def serve(port: int, tee: Path | None = None) -> None:
    """The API's process: Prefect's app under uvicorn, as `prefect server start` serves it.

    `tee`: a log file to copy all output to, besides stdout."""
    if tee is None:
        _serve(port)
        return
    # `tee` runs from here, not from the run's process: the local workers forked there
    # would hold its pipe open, and the run could not know when the log is complete.
    copier = subprocess.Popen(["tee", "-a", str(tee)], stdin=subprocess.PIPE)
    os.dup2(copier.stdin.fileno(), 1)
    os.dup2(copier.stdin.fileno(), 2)
    try:
        _serve(port)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        copier.stdin.close()  # its last writer: tee copies the rest and exits
        copier.wait()


def _serve(port: int) -> None:
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
    _limit_sqlite_busy_wait(os.environ.get(BUSY_TIMEOUT_VARIABLE))

    class _SettlingServer(uvicorn.Server):
        """Stops its services only once the events it was sent are recorded.

        Stopped at once, the task-run recorder's service was cancelled while it wrote
        the run's last task states, and logged the CancelledError with a traceback
        ("Error flushing 1 events"): about 1 run in 30 of the five seeds. The run
        stops the API after its client has sent every event and closed its socket."""

        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            await _settle(self, SETTLE_TIMEOUT_SECONDS)
            await super().shutdown(sockets)

    _SettlingServer(uvicorn.Config(app, log_level="error", lifespan="on")).run(sockets=[listener])


def _limit_sqlite_busy_wait(milliseconds: str | None) -> None:
    """Make the API's SQLite connections wait `milliseconds` for a lock held elsewhere
    rather than Prefect's fixed 60 s (a test makes the database busy with it)."""
    if not milliseconds:
        return
    from sqlalchemy import event
    from sqlalchemy.pool import Pool

    pragma = f"PRAGMA busy_timeout = {int(milliseconds)}"

    # On checkout, not connect: Prefect sets its own timeout on connect, after
    # listeners registered for every pool.
    @event.listens_for(Pool, "checkout")
    def _busy_timeout(dbapi_connection, record, proxy) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(pragma)
        cursor.close()


async def _settle(server, timeout: float) -> None:
    """Wait until no request or socket is being served and every message delivered to
    the server's consumers (the task-run recorder, the event persister...) has been
    handled, twice in a row; at most `timeout` seconds, less on a second signal."""
    from prefect.logging import get_logger
    from prefect.server.utilities.messaging.memory import METRICS

    def busy() -> bool:
        websockets = [c for c in server.server_state.connections if "websockets" in type(c).__module__]
        unhandled = any(m["published"] > m["consumed"] for m in list(METRICS.values()))
        return bool(server.server_state.tasks or websockets or unhandled)

    logger = get_logger("server.settle")
    loop = asyncio.get_running_loop()
    started = loop.time()
    quiet = 0
    while quiet < 2 and not server.force_exit:
        if loop.time() > started + timeout:
            logger.warning("stopping with events not yet recorded after %.0f s", timeout)
            return
        quiet = 0 if busy() else quiet + 1
        await asyncio.sleep(0.02)
    logger.debug("settled in %.2f s", loop.time() - started)


if __name__ == "__main__":
    serve(int(sys.argv[1]), Path(sys.argv[2]) if len(sys.argv) > 2 else None)
