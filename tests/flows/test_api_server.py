from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
from pathlib import Path

from flows.api_server import TemporaryApi


def test_temporary_api_answers_and_stops() -> None:
    api = TemporaryApi()
    try:
        url = api.wait()
        with urllib.request.urlopen(f"{url}/health", timeout=5) as response:
            assert response.status == 200
    finally:
        api.stop()
    assert api.process.poll() is not None


def test_a_run_uses_the_early_api_only(tmp_path: Path, seeds: Path) -> None:
    """Prefect starts a server of its own when some thread of the run does not see the
    API's URL; with --debug its "Starting temporary server" line would show."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    result = subprocess.run([sys.executable, "-m", "ingest.cli", "run", str(seeds), "--out", str(tmp_path / "out"),
                             "--debug", "--no-progress"], capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "5 inputs: 5 documents" in result.stdout
    assert "Starting temporary server" not in result.stderr


def test_an_api_that_cannot_start_fails_the_run_and_leaves_nothing_read_ahead(tmp_path: Path, seeds: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env["PREFECT_API_DATABASE_CONNECTION_URL"] = f"sqlite+aiosqlite:///{tmp_path}/no/such/folder/prefect.db"
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, "-m", "ingest.cli", "run", str(seeds), "--out", str(out), "--no-progress"],
                            capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 1
    assert "ingest: error: ApiStartError: the temporary Prefect API exited with status" in result.stderr
    assert out.exists() and not (out / ".ingest-work").exists()  # the batches read ahead went with the workspace
