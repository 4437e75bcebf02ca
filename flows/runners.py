"""Where the flow's batch tasks run: local worker processes, or a Dask cluster.

The batch phases (read, decode, clean, shingle, MinHash; passage search; writing) are
the CPU-heavy part and run as Prefect tasks on the chosen runner; the central steps
(boilerplate learning, duplicate clusters, candidate passage pairs) stay in the flow's
process either way.

Locally, the tasks run in the flow's threads and hand their batches to a pool of
plain worker processes (`flows/workers.py`), which do not import Prefect.
Measured against Prefect's ProcessPoolTaskRunner, whose processes each run the task
engine: 80 no-op tasks took 4.97 s there and 0.25 s on threads, its first task 1.33 s
(spawning workers that import Prefect), and each of its workers holds about 50 MB more.

With Dask, each task runs in a worker process that reports its state to the Prefect API
itself, so the flow runs on one API that every worker can reach: the temporary local
one, started before the flow (otherwise each worker would quietly start its own), or
the server named by PREFECT_API_URL, which a cluster on other hosts needs.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

from prefect.context import _temporary_global_settings_context, get_settings_context
from prefect.settings import PREFECT_API_URL, PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

from flows.api_server import TemporaryApi

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
def prefect_api(started: TemporaryApi | None = None) -> Iterator[tuple[str, TemporaryApi | None]]:
    """The Prefect API the run reports to, and the temporary one if it is that:
    PREFECT_API_URL, else a temporary local one (`started` already, or started now), so
    that task processes report to it rather than start their own. A temporary API is
    stopped at the end; its log is the caller's (TemporaryApi.keep_log)."""
    configured = PREFECT_API_URL.value()
    if configured:
        if started is not None:
            started.discard()  # the profile names a server: the early one is not needed
        yield configured, None
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
                    yield server.url, server
                finally:
                    _drain_to_api()
    finally:
        server.stop()


def _drain_to_api() -> None:
    """Send the events and logs still queued before the API goes away (as Prefect's own
    test harness does); otherwise they are retried at exit against a stopped server."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    # A service drained with items still queued warns "Still processing items": expected
    # here when the run's last tasks end at once (their batches done ahead), and not the
    # user's business. The services log under their class names, outside the "prefect"
    # logger that PREFECT_LOGGING_LEVEL quiets.
    services = [logging.getLogger(name) for name in ("APILogWorker", "EventsWorker")]
    levels = [logger.level for logger in services]
    for logger in services:
        logger.setLevel(logging.ERROR)
    try:
        APILogWorker.drain_all(timeout=5)
        EventsWorker.drain_all(timeout=5)
    finally:
        for logger, level in zip(services, levels):
            logger.setLevel(level)


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
