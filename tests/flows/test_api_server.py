from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

from flows.api_server import LOG_NAME, ApiLog, TemporaryApi, listening_socket
from tests.processes import clean_env, ingest


def test_temporary_api_answers_and_stops() -> None:
    api = TemporaryApi()
    try:
        url = api.wait()
        with urllib.request.urlopen(f"{url}/health", timeout=5) as response:
            assert response.status == 200
    finally:
        api.discard()
    assert api.process.poll() is not None
    assert not api.log.exists()


def test_the_apis_log_is_kept_when_it_holds_anything_and_its_errors_counted(tmp_path: Path) -> None:
    quiet = TemporaryApi()
    quiet.wait()
    (tmp_path / LOG_NAME).write_text("an older run's log\n", encoding="utf-8")
    assert quiet.keep_log(tmp_path) == ApiLog(None, 0)  # it logged nothing
    assert not (tmp_path / LOG_NAME).exists() and not quiet.log.exists()

    noisy = TemporaryApi()
    noisy.wait()
    with open(noisy.log, "a", encoding="utf-8") as log:  # as the API's process writes it
        log.write("12:00:00.001 | WARNING | prefect.server - a warning\n"
                  "12:00:00.002 | ERROR   | prefect.server - Error flushing 1 events\nTraceback (most recent call last):\n"
                  "ERROR:    Exception in ASGI application\n")
    kept = noisy.keep_log(tmp_path)
    assert kept == ApiLog(tmp_path / LOG_NAME, 2)
    assert "Error flushing 1 events" in kept.path.read_text(encoding="utf-8") and not noisy.log.exists()


def test_the_apis_output_goes_to_its_log_and_with_echo_to_stderr_too(tmp_path: Path) -> None:
    """`ingest run --debug` shows the API's output; without it the terminal sees none."""
    probe = ("import sys; from pathlib import Path; from flows.api_server import TemporaryApi\n"
             "api = TemporaryApi(echo=sys.argv[1] == 'echo'); api.wait(); api.stop()\n"
             "print(api.log.read_text()); api.discard()")
    env = clean_env(PREFECT_SERVER_LOGGING_LEVEL="INFO")
    for mode in ("echo", "quiet"):
        result = subprocess.run([sys.executable, "-c", probe, mode], capture_output=True, text=True, timeout=120, env=env)
        assert result.returncode == 0, result.stderr
        assert "Creating TaskRunRecorder consumer" in result.stdout  # the log, printed by the probe
        assert ("Creating TaskRunRecorder consumer" in result.stderr) == (mode == "echo")


def test_the_api_runs_without_automation_triggers() -> None:
    """Their service could delay the API's stop by 5 s, after which the run killed it."""
    api = TemporaryApi()
    try:
        with urllib.request.urlopen(f"{api.wait()}/admin/settings", timeout=5) as response:
            services = json.load(response)["server"]["services"]
    finally:
        api.discard()
    assert services["triggers"]["enabled"] is False
    assert services["event_persister"]["enabled"] is True  # the run's events are still kept


def test_a_run_uses_the_early_api_only(tmp_path: Path, seeds: Path) -> None:
    """Prefect starts a server of its own when some thread of the run does not see the
    API's URL; with --debug its "Starting temporary server" line would show."""
    result = ingest("run", str(seeds), "--out", str(tmp_path / "out"), "--debug", "--no-progress")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "5 inputs: 5 documents" in result.stdout
    assert "Starting temporary server" not in result.stderr


def test_an_api_that_cannot_start_fails_the_run_and_leaves_nothing_read_ahead(tmp_path: Path, seeds: Path) -> None:
    env = clean_env(PREFECT_API_DATABASE_CONNECTION_URL=f"sqlite+aiosqlite:///{tmp_path}/no/such/folder/prefect.db")
    out = tmp_path / "out"
    result = ingest("run", str(seeds), "--out", str(out), "--no-progress", env=env, timeout=120)
    assert result.returncode == 1
    assert "ingest: error: ApiStartError: the temporary Prefect API exited with status" in result.stderr
    # The one line names the kept log, which holds why.
    assert f"(its log: {out / 'prefect-api.log'})" in result.stderr
    assert "unable to open database file" in (out / "prefect-api.log").read_text()
    assert out.exists() and not (out / ".ingest-work").exists()  # the batches read ahead went with the workspace


def test_the_api_accepts_connections_with_nagle_off() -> None:
    """With Nagle's algorithm on, each request after the first on a kept-alive connection
    waits for the client's delayed acknowledgement (about 40 ms)."""
    listener = listening_socket(0)
    port = listener.getsockname()[1]
    accepted: list[int] = []

    async def main() -> None:
        def connected(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            accepted.append(writer.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        server = await asyncio.start_server(connected, sock=listener)  # as uvicorn serves the socket
        async with server:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            while not accepted:
                await asyncio.sleep(0.01)
            writer.close()

    asyncio.run(asyncio.wait_for(main(), timeout=10))
    assert accepted and accepted[0] != 0
