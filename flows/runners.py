"""Where the flow's batch tasks run: local worker processes, or a Dask cluster.

The batch phases (read, decode, clean, shingle, MinHash; passage search; writing) are
the CPU-heavy part and run as Prefect tasks on the chosen runner; the central steps
(boilerplate learning, duplicate clusters, candidate passage pairs) stay in the flow's
process either way.

Locally, the tasks run in the flow's threads and hand their batches to a pool of
plain worker processes (`local_workers`), which import the pipeline but not Prefect.
Measured against Prefect's ProcessPoolTaskRunner, whose processes each run the task
engine: 80 no-op tasks took 4.97 s there and 0.25 s on threads, its first task 1.33 s
(spawning workers that import Prefect), and each of its workers holds about 50 MB more.

With Dask, each task runs in a worker process that reports its state to the Prefect API
itself, so the flow runs on one API that every worker can reach: the temporary local
one, started before the flow (otherwise each worker would quietly start its own), or
the server named by PREFECT_API_URL, which a cluster on other hosts needs.
"""

from __future__ import annotations

import importlib
import ipaddress
import logging
import multiprocessing
import os
import socket
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from urllib.parse import urlsplit

from prefect.context import _temporary_global_settings_context, get_settings_context
from prefect.settings import PREFECT_API_URL, PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

from flows.api_server import TemporaryApi
from ingest import pipeline

RUNNERS = ("process", "dask")
# On Dask, a phase's batches go into TASKS_PER_WORKER tasks a worker: where a task runs
# in a process of its own (a Dask worker), it costs about 100 ms there (measured on
# Prefect's process pool, which runs the same engine: client and TLS context set up
# per task), so not one task per batch.
TASKS_PER_WORKER = 2
# How long to wait for a Dask scheduler before telling the user it is not there.
CONNECT_TIMEOUT_SECONDS = 10


class ClusterError(Exception):
    """The Dask cluster cannot run this flow; the message says why."""


@contextmanager
def prefect_api(started: TemporaryApi | None = None) -> Iterator[str]:
    """The Prefect API the run reports to: PREFECT_API_URL, else a temporary local one
    (`started` already, or started now), so that task processes report to it rather
    than start their own."""
    configured = PREFECT_API_URL.value()
    if configured:
        if started is not None:
            started.stop()  # the profile names a server: the early one is not needed
        yield configured
        return
    server = started or TemporaryApi()
    try:
        # No heartbeats: they let a lasting server mark runs whose process died, and this
        # API ends with the run. Their thread sleeps in one-second steps, and the flow
        # waited for it to wake at the end: 0.5 s of every run on average.
        with temporary_settings(updates={PREFECT_API_URL: server.wait(), PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
            # Process-wide too: the task runner's threads do not see this context, and
            # without it they start Prefect's own temporary server (as Prefect's test
            # harness, which does the same, explains).
            with _temporary_global_settings_context(get_settings_context()):
                try:
                    yield server.url
                finally:
                    _drain_to_api()
    finally:
        server.stop()


_pool: ProcessPoolExecutor | None = None
# The run whose prepare batches go ahead of its flow (`read_ahead`), until it is collected.
_ahead: _ReadAhead | None = None


@contextmanager
def local_workers(workers: int) -> Iterator[None]:
    """Worker processes for the batch tasks run in this process, from now until the
    end of the block: started at once, so that they import the pipeline while the
    Prefect API boots. Inside a block already open, that block's workers serve."""
    global _pool, _ahead
    if _pool is not None:
        yield
        return
    # Spawned, not forked: the flow's process runs Prefect's threads and event loops.
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=importlib.import_module, initargs=("ingest.pipeline",))
    for _ in range(workers):
        pool.submit(int)  # a process is spawned per submission, up to `workers`
    _pool = pool
    try:
        yield
    finally:
        _pool = None
        if _ahead is not None:
            _ahead.close()
            _ahead = None
        pool.shutdown(cancel_futures=True)


class _ReadAhead:
    """Prepare batches started before their flow, a few at a time: the API's process
    needs a core to start, and the flow goes no faster if reading slows it down."""

    def __init__(self, pool: ProcessPoolExecutor, items: list[tuple], lanes: int) -> None:
        self._pool = pool
        self._waiting = {_batch_key(args): args for args in items}
        self._started: dict[tuple[str, int], Future] = {}
        self._lock = threading.Lock()
        for _ in range(lanes):
            self._start_next()

    def _start_next(self, _finished: Future | None = None) -> None:
        """Start the next waiting batch; also called as each started one finishes."""
        with self._lock:
            if not self._waiting:
                return
            key, args = next(iter(self._waiting.items()))
            del self._waiting[key]
            self._started[key] = future = self._pool.submit(pipeline.run_phase, "prepare", args)
        future.add_done_callback(self._start_next)

    def close(self) -> None:
        """Start nothing more (the workers are stopping)."""
        with self._lock:
            self._waiting.clear()

    def widen(self, lanes: int) -> None:
        for _ in range(lanes):
            self._start_next()

    def claim(self, args: tuple) -> Future | None:
        """The batch's future if it started; else it will not start here."""
        with self._lock:
            key = _batch_key(args)
            self._waiting.pop(key, None)
            return self._started.pop(key, None)


def read_ahead(plan: pipeline.RunPlan, lanes: int) -> None:
    """Start the plan's prepare batches (read, decode, repair) on `lanes` of the local
    workers now, before its flow can start: the Prefect API takes about 3 s to answer,
    during which the workers, ready after half a second, would wait. `widen_read_ahead` opens
    more lanes once the API answers. The flow's prepare tasks collect the batches
    (`run_batches`): a batch that failed ahead fails its task, and the task's retry
    prepares it again."""
    global _ahead
    if _pool is None:
        raise RuntimeError("read_ahead needs local workers (local_workers)")
    _ahead = _ReadAhead(_pool, plan.prepare_args(), lanes)


def widen_read_ahead(lanes: int) -> None:
    if _ahead is not None:
        _ahead.widen(lanes)


def _batch_key(args: tuple) -> tuple[str, int]:
    batch, _files, _config, workspace = args
    return str(workspace.root), batch


def has_local_workers() -> bool:
    return _pool is not None


def run_batches(phase: str, items: list[tuple], finished: Callable[[], None] | None = None) -> list:
    """Run a task's batches of one phase: on the local workers when this process has
    them, calling `finished` as each finishes; else here (a Dask worker is a process of
    its own)."""
    if _pool is None:
        return [pipeline.run_phase(phase, args) for args in items]
    # pipeline.run_phase, not a function of this module: the workers need not import Prefect.
    ahead = _ahead if phase == "prepare" else None
    futures = [(ahead.claim(args) if ahead is not None else None) or _pool.submit(pipeline.run_phase, phase, args)
               for args in items]
    if finished is not None:
        for future in futures:
            future.add_done_callback(lambda _: finished())
    return [future.result() for future in futures]


def _drain_to_api() -> None:
    """Send the events and logs still queued before the API goes away (as Prefect's own
    test harness does); otherwise they are retried at exit against a stopped server."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    APILogWorker.drain_all(timeout=5)
    EventsWorker.drain_all(timeout=5)


def task_runner(kind: str, workers: int, dask_address: str | None, api_url: str) -> tuple[TaskRunner, int]:
    """The task runner for `kind`, and how many tasks it runs at once (sizes the batches).

    `dask_address`: a running scheduler (`tcp://HOST:PORT`); without it a local cluster
    of `workers` single-threaded processes is started for the run and stopped after it.
    """
    if kind == "process":
        # A phase is one task (flows/ingest_flow.task_mapper): its batches queue in the worker pool.
        return ThreadPoolTaskRunner(max_workers=1), workers
    from prefect_dask import DaskTaskRunner

    if dask_address:
        return DaskTaskRunner(address=dask_address), check_cluster(dask_address, api_url)
    # Threads would share one GIL: ftfy, regexes and hashing need a process per core.
    return DaskTaskRunner(cluster_kwargs={
        "n_workers": workers, "threads_per_worker": 1, "processes": True,
        # The scheduler always serves HTTP (health, metrics): a free loopback port, not 8787.
        "dashboard_address": "127.0.0.1:0", "silence_logs": logging.ERROR,
    }), workers


def check_cluster(address: str, api_url: str) -> int:
    """Fail before the run when the scheduler cannot be reached, has no workers, or has
    workers on other hosts that could not reach a loopback Prefect API; returns the
    number of worker threads."""
    from distributed import Client

    try:
        with Client(address, timeout=CONNECT_TIMEOUT_SECONDS, set_as_default=False) as client:
            workers = client.scheduler_info(n_workers=-1)["workers"]
    except (OSError, TimeoutError) as exc:
        raise ClusterError(f"cannot reach the Dask scheduler at {address}: {_first_line(exc)}") from None
    if not workers:
        raise ClusterError(f"the Dask scheduler at {address} has no workers")
    remote = sorted({_host(w) for w in workers} - _this_hosts_addresses())
    if remote and _is_loopback(_host(api_url)):
        raise ClusterError(
            f"Dask workers on {', '.join(remote)} cannot report to the Prefect API at {api_url}: "
            "set PREFECT_API_URL to a Prefect server they can reach"
        )
    return sum(w.get("nthreads", 1) for w in workers.values())


def _host(url: str) -> str | None:
    return urlsplit(url).hostname


def _this_hosts_addresses() -> set[str | None]:
    import psutil  # a dependency of distributed

    addresses = {a.address.split("%")[0] for nic in psutil.net_if_addrs().values() for a in nic
                 if a.family in (socket.AF_INET, socket.AF_INET6)}
    return addresses | {None, "localhost"}


def _is_loopback(host: str | None) -> bool:
    if host in (None, "localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _first_line(exc: BaseException) -> str:
    text = str(exc)
    return text.splitlines()[0] if text else exc.__class__.__name__


def resolve_runner(run_config, runner: str | None, dask_address: str | None) -> tuple[str, str | None]:
    """The runner kind and scheduler address: the arguments, else `[run]` of the config
    (whose address counts only when the config's runner is the one used)."""
    kind = runner or run_config.runner
    if dask_address or kind != "dask":
        return kind, dask_address or None
    return kind, run_config.dask_address or None


def runner_problem(paths: list[str], kind: str, dask_address: str | None) -> str | None:
    """What makes these runner options unusable, in one line (None when they are fine)."""
    if kind not in RUNNERS:
        return f"unknown runner {kind!r} (one of {', '.join(RUNNERS)})"
    if dask_address and kind != "dask":
        return "a Dask scheduler address needs the dask runner (--runner dask)"
    relative = [p for p in paths if not os.path.isabs(p)] if dask_address else []
    if relative:
        # Ids and sources are made from the paths as given, so they are not rewritten:
        # workers on other hosts read the inputs at the same absolute paths.
        return f"with a Dask scheduler address, input paths must be absolute ({relative[0]!r} is not)"
    return None
