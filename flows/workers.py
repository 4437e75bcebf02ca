"""Where a run's batches run locally: a pool of worker processes that import the
pipeline, not Prefect (`local_workers`), and the runner options. Nothing here imports
Prefect, so that the CLI can start the workers before it imports Prefect.

Forked from a process that has neither other threads nor Prefect yet (the CLI opens
the pool before it imports Prefect), a worker needs no imports of its own: spawned,
each took 0.27 s of CPU to import the pipeline at the start of a run, when the cores
are busy starting the Prefect API (20,000 documents: 9.52 -> 9.13 s, 1.1 s less CPU,
means of five). Other processes spawn their workers: forking a process with threads
could copy a lock that one of them holds, and a forked worker would carry Prefect.
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager

from ingest import pipeline

RUNNERS = ("process", "dask")


def worker_count(workers: int | None, run_config) -> int:
    """How many workers a run uses: `workers`, else `[run] workers`, else one per core."""
    if workers is None:
        workers = run_config.workers
    return workers or os.cpu_count() or 1


_pool: ProcessPoolExecutor | None = None
# The run whose prepare batches go ahead of its flow (`read_ahead`), until it is collected.
_ahead: _ReadAhead | None = None


@contextmanager
def local_workers(workers: int) -> Iterator[None]:
    """Worker processes for the batch tasks run in this process, from now until the
    end of the block: started at once, so that they are ready (forked, or spawned and
    importing the pipeline) while the Prefect API boots. Inside a block already open,
    that block's workers serve."""
    global _pool, _ahead
    if _pool is not None:
        yield
        return
    forkable = threading.active_count() == 1 and "prefect" not in sys.modules
    start = "fork" if forkable and "fork" in multiprocessing.get_all_start_methods() else "spawn"
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context(start),
                               initializer=importlib.import_module, initargs=("ingest.pipeline",))
    for _ in range(workers):
        pool.submit(int)  # starts the processes: all at once when forked, one a submission when spawned
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
        self.widen(lanes)

    def _start_next(self, _finished: Future | None = None) -> None:
        """Start the next waiting batch (one more lane); also called as each started one
        finishes, to keep its lane going."""
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
