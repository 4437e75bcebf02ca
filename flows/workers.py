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
import time
from collections.abc import Callable, Iterator
from concurrent import futures
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager

from ingest.clean.boilerplate import learn_boilerplate
from ingest.run.pipeline import RunPlan, run_phase
from ingest.runners import RUNNERS


def worker_count(workers: int | None, run_config) -> int:
    """How many workers a run uses: `workers`, else `[run] workers`, else one per core."""
    if workers is None:
        workers = run_config.workers
    return workers or os.cpu_count() or 1


_pool: ProcessPoolExecutor | None = None
# The run whose first batches go ahead of its flow (`read_ahead`).
_ahead: _ReadAhead | None = None


@contextmanager
def local_workers(workers: int) -> Iterator[None]:
    """Worker processes for the batch tasks run in this process, from now until the
    end of the block: started at once, so that they are ready (forked, or spawned and
    importing the pipeline) while the Prefect API boots. Inside a block already open,
    that block's workers serve."""
    global _pool
    if _pool is not None:
        yield
        return
    forkable = threading.active_count() == 1 and "prefect" not in sys.modules
    start = "fork" if forkable and "fork" in multiprocessing.get_all_start_methods() else "spawn"
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context(start),
                               initializer=importlib.import_module, initargs=("ingest.run.pipeline",))
    for _ in range(workers):
        pool.submit(int)  # starts the processes: all at once when forked, one a submission when spawned
    _pool = pool
    try:
        yield
    finally:
        _pool = None
        end_read_ahead()
        pool.shutdown(cancel_futures=True)


class _ReadAhead:
    """A run's first phases started before its flow, a few batches at a time (lanes): the
    API's process needs a core to start, and the flow goes no faster if reading slows
    it down. First its prepare batches; then, once they have all finished here, its
    clean batches, with the boilerplate learned from their summaries as the flow learns
    it. The flow's tasks take the batches over (`claim`)."""

    def __init__(self, pool: ProcessPoolExecutor, plan: RunPlan, lanes: int) -> None:
        """`lanes` until the flow's first task takes its batches over; then one a worker."""
        self._pool = pool
        self._plan = plan
        self._waiting: dict[tuple[str, int], tuple] = {("prepare", args[0]): args for args in plan.prepare_args()}
        self._started: dict[tuple[str, int], tuple[tuple, Future]] = {}
        self._prepared: dict[int, Future] = {}  # prepare batches finished here, by batch
        self._lanes = lanes
        self._running = 0
        # Set once the prepare summaries are no longer read here: the flow changes them
        # once it has learned from them (`settled`).
        self._prepare_settled = threading.Event()
        if not plan.batches:
            self._prepare_settled.set()  # no input: nothing to clean
        self._lock = threading.Lock()
        with self._lock:
            started = self._fill()
        self._watch(started)

    def _fill(self) -> list[tuple[tuple[str, int], Future]]:
        """Start waiting batches on the free lanes (the lock is held); `_watch` them then."""
        started = []
        while self._running < self._lanes and self._waiting:
            key = next(iter(self._waiting))
            args = self._waiting.pop(key)
            future = self._pool.submit(run_phase, key[0], args)
            self._started[key] = (args, future)
            self._running += 1
            started.append((key, future))
        return started

    def _watch(self, started: list[tuple[tuple[str, int], Future]]) -> None:
        # Without the lock: a future already done calls back at once.
        for key, future in started:
            future.add_done_callback(lambda done, key=key: self._finished(key, done))

    def _finished(self, key: tuple[str, int], future: Future) -> None:
        with self._lock:
            self._running -= 1
            if key[0] == "prepare" and not self._prepare_settled.is_set():
                if future.cancelled() or future.exception() is not None:
                    self._prepare_settled.set()  # the flow's task fails, and its retry prepares again
                else:
                    self._prepared[key[1]] = future
                    if len(self._prepared) == len(self._plan.batches):
                        self._start_cleaning()
            started = self._fill()
        self._watch(started)

    def _start_cleaning(self) -> None:
        try:
            boilerplate = learn_boilerplate([f.result() for f in self._prepared.values()], self._plan.config)
            self._plan.started_ahead["clean"] = time.perf_counter()
            self._waiting.update((("clean", args[0]), args) for args in self._plan.clean_args(boilerplate))
        finally:
            self._prepare_settled.set()

    def claim(self, phase: str, args: tuple) -> Future | None:
        """The batch's future if it started here with these arguments; else it will not
        start here, and has finished if it had started."""
        with self._lock:
            key = (phase, args[0])
            self._waiting.pop(key, None)
            if phase == "prepare" and key not in self._started and key[1] not in self._prepared:
                self._prepare_settled.set()  # the flow prepares this batch: nothing is cleaned ahead
            started_args, future = self._started.pop(key, (None, None))
            self._lanes = self._plan.workers  # the flow has started: it needs no core of its own now
            started = self._fill()
        self._watch(started)
        if future is None or started_args == args:
            return future
        futures.wait([future])  # it writes the files the flow's batch writes
        return None

    def settled(self) -> None:
        """Wait until the prepare summaries are no longer read here."""
        self._prepare_settled.wait()

    def close(self) -> None:
        """Start nothing more, and wait for the batches no task took over: they write
        into the workspace, which goes when the flow did not start."""
        with self._lock:
            self._waiting.clear()
            self._prepare_settled.set()
            unclaimed = [future for _, future in self._started.values()]
        futures.wait(unclaimed)


def read_ahead(plan: RunPlan, lanes: int) -> None:
    """Start the plan's first batches (read, decode and repair, then clean) on `lanes` of
    the local workers now, before its flow can start: the Prefect API takes about 3 s
    to answer and the flow 0.5 s more to start, during which the workers, ready at
    once, would wait. The flow's tasks collect the batches (`run_batches`), and the
    first of them opens the other lanes: until then, the API's process and the flow's
    are busy starting. A batch that failed ahead fails its task, and the task's retry
    runs it again."""
    global _ahead
    if _pool is None:
        raise RuntimeError("read_ahead needs local workers (local_workers)")
    _ahead = _ReadAhead(_pool, plan, lanes)


def end_read_ahead() -> None:
    """The run that read ahead is over: its batches that did not start never will."""
    global _ahead
    if _ahead is not None:
        _ahead.close()
        _ahead = None


def has_local_workers() -> bool:
    return _pool is not None


def run_batches(phase: str, items: list[tuple], finished: Callable[[], None] | None = None) -> list:
    """Run a task's batches of one phase: on the local workers when this process has
    them, calling `finished` as each finishes; else here (a Dask worker is a process of
    its own)."""
    if _pool is None:
        return [run_phase(phase, args) for args in items]
    ahead = _ahead
    # run_phase, not a function of this module: the workers need not import Prefect.
    batches = [(ahead.claim(phase, args) if ahead is not None else None) or _pool.submit(run_phase, phase, args)
               for args in items]
    if finished is not None:
        for future in batches:
            future.add_done_callback(lambda _: finished())
    # All of them, before a failure fails the task: its retry must not run a batch
    # again while the first run of it still writes its files.
    futures.wait(batches)
    results = [future.result() for future in batches]
    if phase == "prepare" and ahead is not None:
        ahead.settled()
    return results


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
