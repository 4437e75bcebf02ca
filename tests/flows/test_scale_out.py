"""The flow on a real Dask cluster (a `dask scheduler` and `dask worker` processes on
loopback) with the index in a real redis-server: the same output as a local run, a
killed worker changes nothing, and the Redis password appears nowhere."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from flows.ingest_flow import run_ingest
from ingest.config import load_config
from ingest.index.location import redact
from ingest.run.pipeline import run
from tests.processes import INGEST, clean_env, free_port
from tests.redis_server import (
    PASSWORD,
    RedisServer,
    near_duplicate_dump,
    output_rows,
    redis_server,
    require_redis_server,
)

OUTPUTS = ("documents.jsonl", "duplicates.jsonl", "rejects.jsonl")
# Report sections that differ between any two runs (times) or between index kinds.
_RUN_SPECIFIC = ("started", "finished", "timings_seconds", "docs_per_second", "state", "prefect_api")


@dataclass
class DaskCluster:
    address: str
    folder: Path
    workers: list[subprocess.Popen]

    def add_worker(self) -> subprocess.Popen:
        # Started in a folder of its own: a relative path would not resolve there.
        worker = subprocess.Popen([sys.executable, "-m", "dask", "worker", self.address, "--nthreads", "1",
                                   "--no-nanny", "--no-dashboard", "--host", "127.0.0.1"],
                                  cwd=self.folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.workers.append(worker)
        return worker

    def wait_for_workers(self, n: int) -> None:
        from distributed import Client

        with Client(self.address, timeout=30, set_as_default=False) as client:
            client.wait_for_workers(n, timeout=60)


@contextmanager
def dask_cluster(folder: Path, workers: int = 2) -> Iterator[DaskCluster]:
    address = f"tcp://127.0.0.1:{free_port()}"
    scheduler = subprocess.Popen([sys.executable, "-m", "dask", "scheduler", "--host", "127.0.0.1",
                                  "--port", address.rsplit(":", 1)[1], "--no-dashboard"],
                                 cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cluster = DaskCluster(address, folder, [])
    try:
        for _ in range(workers):
            cluster.add_worker()
        cluster.wait_for_workers(workers)
        yield cluster
    finally:
        # Workers first: a worker whose scheduler is gone keeps trying to reconnect.
        for worker in cluster.workers:
            worker.terminate()
        for process in [*cluster.workers, scheduler]:
            process.terminate()
            stop(process)


def stop(process: subprocess.Popen) -> None:
    """Wait for a terminated process; kill it when it does not finish closing."""
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def redis(tmp_path_factory) -> Iterator[RedisServer]:
    require_redis_server()
    with redis_server(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[DaskCluster]:
    with dask_cluster(tmp_path_factory.mktemp("dask")) as c:
        yield c


@pytest.fixture(scope="module")
def dump(tmp_path_factory) -> Path:
    return near_duplicate_dump(tmp_path_factory.mktemp("dump") / "in", stories=400, files=24)


@pytest.fixture(scope="module")
def one_file_batches(tmp_path_factory) -> str:
    """Many small batches: a run has tasks in flight long enough to lose a worker."""
    path = tmp_path_factory.mktemp("config") / "batches.toml"
    path.write_text("[run]\nbatch_files = 1\n", encoding="utf-8")
    return str(path)


@pytest.fixture(scope="module")
def local_run(dump: Path, one_file_batches: str, tmp_path_factory) -> Path:
    """The reference: the library run in this process, without Prefect or an index."""
    out = tmp_path_factory.mktemp("local")
    run([str(dump)], out, load_config(one_file_batches))
    return out


def assert_same_output(expected: Path, actual: Path) -> None:
    for name in OUTPUTS:
        assert output_rows(expected, name) == output_rows(actual, name), name
    reports = [json.loads((d / "report.json").read_text(encoding="utf-8")) for d in (expected, actual)]
    for report in reports:
        for key in _RUN_SPECIFIC:
            report.pop(key)
    assert reports[0] == reports[1]


def files_under(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()]


def test_cluster_run_with_the_redis_index_equals_a_local_run(dump, cluster, redis, local_run, one_file_batches,
                                                              tmp_path) -> None:
    redis.client().flushall()
    out = tmp_path / "cluster"
    report = run_ingest([str(dump)], str(out), config_path=one_file_batches, state=redis.url,
                        runner="dask", dask_address=cluster.address)
    assert_same_output(local_run, out)
    assert report["state"]["location"] == redact(redis.url)
    assert report["state"]["documents"] == report["counts"]["inputs"] > 400
    assert not any(PASSWORD.encode() in p.read_bytes() for p in files_under(out))


def test_prefect_keeps_the_index_location_redacted(dump, redis, tmp_path) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.sorting import FlowRunSort

    redis.client().flushall()
    run_ingest([str(dump / "part-000.jsonl")], str(tmp_path / "out"), state=redis.url, workers=1)
    with get_client(sync_client=True) as client:
        [latest] = client.read_flow_runs(limit=1, sort=FlowRunSort.START_TIME_DESC)
    assert latest.parameters["state"] == redact(redis.url)
    assert PASSWORD not in str(latest.parameters)


def test_a_local_cluster_for_the_run_gives_the_same_output(dump, local_run, one_file_batches, tmp_path) -> None:
    out = tmp_path / "local-cluster"
    run_ingest([str(dump)], str(out), config_path=one_file_batches, runner="dask", workers=2)
    assert_same_output(local_run, out)


def ingest_cli(*args: str, cwd: Path | None = None) -> subprocess.Popen:
    return subprocess.Popen([*INGEST, "run", *args], env=clean_env(), text=True, cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def kill_when_busy(cluster: DaskCluster, worker: subprocess.Popen, phase: str, timeout: float = 120) -> None:
    """SIGKILL `worker` while it runs a task of `phase` ("prepare_task" or "clean_task")."""
    from distributed import Client

    with Client(cluster.address, timeout=30, set_as_default=False) as client:
        address = next(a for a, pid in client.run(os.getpid).items() if pid == worker.pid)
        deadline = time.monotonic() + timeout
        while not any(str(key).startswith(phase) for key in client.processing().get(address, ())):
            assert time.monotonic() < deadline, f"no {phase} ran on the worker to kill"
            time.sleep(0.01)
        os.kill(worker.pid, signal.SIGKILL)


def test_killing_a_worker_mid_run_changes_nothing(dump, cluster, redis, local_run, one_file_batches,
                                                  tmp_path) -> None:
    redis.client().flushall()
    victim = cluster.add_worker()
    cluster.wait_for_workers(len(cluster.workers))
    out = tmp_path / "killed"
    cli = ingest_cli(str(dump), "--out", str(out), "--config", one_file_batches, "--index", redis.url,
                     "--runner", "dask", "--dask-address", cluster.address)
    kill_when_busy(cluster, victim, "clean_task")
    stdout, stderr = cli.communicate(timeout=300)
    assert cli.returncode == 0, stderr
    assert victim.wait(timeout=10) == -signal.SIGKILL
    assert_same_output(local_run, out)
    assert PASSWORD not in stdout + stderr
    assert not any(PASSWORD.encode() in p.read_bytes() for p in files_under(out))


def test_unreachable_redis_fails_fast_with_one_line(dump, tmp_path) -> None:
    out = tmp_path / "never"
    cli = ingest_cli(str(dump), "--out", str(out), "--index", f"redis://:{PASSWORD}@127.0.0.1:{free_port()}/0",
                     "--runner", "dask")
    stdout, stderr = cli.communicate(timeout=120)
    assert cli.returncode == 1
    assert stderr.count("\n") == 1 and stderr.startswith("ingest: error: redis://:***@127.0.0.1:")
    assert "Connection refused" in stderr and PASSWORD not in stderr + stdout
    assert not out.exists()


def test_relative_paths_with_a_scheduler_address_are_refused(seeds: Path, tmp_path) -> None:
    cli = ingest_cli(seeds.name, "--out", str(tmp_path / "o"), "--runner", "dask", "--dask-address", "tcp://127.0.0.1:1",
                     cwd=seeds.parent)
    _, stderr = cli.communicate(timeout=60)
    assert cli.returncode == 2 and "input paths must be absolute ('seeds' is not)" in stderr
