"""The ingestion flow: the library's stages mapped onto Prefect tasks.

No cleaning logic lives here. Batch phases run as tasks whose batches go to local
worker processes (`flows/workers.py`) or run on a Dask cluster (`flows/runners.py`;
ftfy, regexes and hashing hold the GIL, so threads alone would not use the cores); the
central steps (boilerplate learning, dedup) run in the flow's process between the
phases.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from collections.abc import Callable
from contextlib import nullcontext
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NONE
from prefect.futures import as_completed

from flows.api_server import ApiLog, ApiStartError, TemporaryApi
from flows.retry import RETRY_TRANSIENT_IO
from flows.runners import TASKS_PER_WORKER, prefect_api, task_runner
from flows.workers import (
    end_read_ahead,
    has_local_workers,
    local_workers,
    read_ahead,
    resolve_runner,
    run_batches,
    runner_problem,
    worker_count,
)
from ingest.config import load_config
from ingest.index.location import IndexLocation
from ingest.run.clean import CleanSummary
from ingest.run.pipeline import Mapper, RunPlan, plan_run, run_plan
from ingest.run.prepare import PrepareSummary
from ingest.run.report import record_api_log

# Called as progress(phase, done, total) while a run goes on; set by the CLI.
ProgressHook = Callable[[str, int, int], None]
_progress: ProgressHook | None = None


def set_progress_hook(hook: ProgressHook | None) -> None:
    global _progress
    _progress = hook


def _report_progress(phase: str, done: int, total: int) -> None:
    if _progress is not None:
        _progress(phase, done, total)


class Batches:
    """A task's batch arguments, opaque to Prefect: it walks lists, dicts and dataclasses
    in task parameters looking for futures (tens of thousands of dedup decisions in the
    write phase), but not other objects. (`prefect.utilities.annotations.quote` does the
    same on a process pool, but the Dask task runner hands it to the task still quoted.)
    `finished`: called as each batch finishes, where they run on this process's workers."""

    __slots__ = ("items", "finished")

    def __init__(self, items: list[tuple], finished: Callable[[], None] | None = None) -> None:
        self.items = items
        self.finished = finished


@task(name="prepare-batches", cache_policy=NONE, **RETRY_TRANSIENT_IO)
def prepare_task(batches: Batches) -> list[PrepareSummary]:
    return run_batches("prepare", batches.items, batches.finished)


@task(name="clean-batches", cache_policy=NONE, **RETRY_TRANSIENT_IO)
def clean_task(batches: Batches) -> list[CleanSummary]:
    return run_batches("clean", batches.items, batches.finished)


@task(name="verify-pairs", cache_policy=NONE, **RETRY_TRANSIENT_IO)
def verify_task(chunks: Batches) -> list[Any]:
    return run_batches("verify", chunks.items, chunks.finished)


@task(name="search-passages", cache_policy=NONE, **RETRY_TRANSIENT_IO)
def passage_task(chunks: Batches) -> list[Any]:
    return run_batches("passages", chunks.items, chunks.finished)


@task(name="write-batches", cache_policy=NONE, **RETRY_TRANSIENT_IO)
def write_task(batches: Batches) -> list[dict[str, int]]:
    return run_batches("write", batches.items, batches.finished)


_TASKS = {"prepare": prepare_task, "clean": clean_task, "verify": verify_task, "passages": passage_task,
          "write": write_task}


def task_mapper(workers: int) -> Mapper:
    """A mapper that runs a phase's batches as tasks; results in batch order.

    On this process's workers, a phase is one task whose batches queue in the pool,
    with progress as each finishes: every task run is recorded by the API, and four
    tasks a phase cost 0.23 s more CPU and 0.12 s more time in a 9.7 s run on two
    cores (means of five). A retry reruns the phase's batches. On Dask,
    TASKS_PER_WORKER tasks a worker, each over consecutive batches, with progress as
    tasks finish.
    """

    def mapper(phase: str, args: list[tuple]) -> list:
        total = len(args)
        local = has_local_workers()
        tasks = 1 if local else max(1, min(total, TASKS_PER_WORKER * workers))
        groups = [args[total * i // tasks : total * (i + 1) // tasks] for i in range(tasks)]
        done = 0
        lock = threading.Lock()

        def finished(batches: int = 1) -> None:
            nonlocal done
            with lock:
                done = min(total, done + batches)  # a retried task's batches count once
                _report_progress(phase, done, total)

        _report_progress(phase, 0, total)
        futures = {_TASKS[phase].submit(Batches(group, finished if local else None)): len(group)
                   for group in groups if group}
        for future in as_completed(list(futures)):
            if not local:
                finished(futures[future])
        return [result for future in futures for result in future.result()]

    return mapper


@flow(name="ingest", validate_parameters=True)
def ingest_flow(paths: list[str], out: str, config_path: str | None = None, state: IndexLocation | None = None,
                workers: int = 1, output_format: str | None = None) -> dict[str, Any]:
    """Ingest files and folders into clean JSONL (or Parquet) in `out`; returns the run report.

    `workers` is the task runner's parallelism; it sizes the batches. `state` is the
    index (a folder or a Redis URL), as an IndexLocation: Prefect keeps it redacted.
    `output_format` ("jsonl", "parquet") overrides the config's [write] format.
    """
    state_dir = state.get_secret_value() if state is not None else None
    # Planned by run_ingest when it read ahead; else here.
    plan = _plans.pop(out, None) or plan_run(paths, out, load_config(config_path).with_format(output_format), workers)
    return run_plan(plan, mapper=task_mapper(workers), state_dir=state_dir)


# Plans whose prepare batches run_ingest started before calling the flow, by output
# folder: a plan holds every input file, too much for the flow's parameters (which
# Prefect sends to its API).
_plans: dict[str, RunPlan] = {}


def _end(out: str, api: TemporaryApi | None) -> ApiLog | None:
    """Drop what was read ahead for a flow that never started, stop the temporary API
    and keep its log beside the report, also when the run failed or the API did not
    start (the log then holds why)."""
    end_read_ahead()
    unclaimed = _plans.pop(out, None)
    if unclaimed is not None:  # the flow never started (the API did not): nothing read ahead is kept
        unclaimed.workspace.remove()
    return api.keep_log(Path(out)) if api is not None else None


def run_ingest(paths: list[str], out: str, config_path: str | None = None, state: str | None = None,
               workers: int | None = None, runner: str | None = None,
               dask_address: str | None = None, api: TemporaryApi | None = None,
               output_format: str | None = None) -> dict[str, Any]:
    """Run the flow on `runner` (default: config): "process", a pool of `workers` processes
    (default: config, else one per core), or "dask", the cluster at `dask_address`
    (default: config), else a local one of `workers` processes. `api`: a temporary API
    the caller started early, used when no PREFECT_API_URL is set, stopped at the end.
    `output_format` overrides the config's [write] format. A temporary API's log is kept
    in `out` when it logged anything, and report.json's `prefect_api` says where and how
    many errors it holds."""
    config = load_config(config_path).with_format(output_format)
    workers = worker_count(workers, config.run)
    kind, address = resolve_runner(config.run, runner, dask_address)
    if problem := runner_problem(paths, kind, address):
        raise ValueError(problem)
    # Workers elsewhere would resolve a relative output folder against their own.
    out = os.path.abspath(out)
    used: TemporaryApi | None = None  # the temporary API the flow ran on
    ended = False
    try:
        with local_workers(workers) if kind == "process" else nullcontext():
            if kind == "process":
                _plans[out] = plan = plan_run(paths, out, config, workers)
                # One core for the API's process and the flow's while they start, unless there is only one.
                read_ahead(plan, lanes=max(1, workers - 1))
            with prefect_api(api) as (api_url, used):
                chosen, parallelism = task_runner(kind, workers, address, api_url)
                report = ingest_flow.with_options(task_runner=chosen)(
                    paths=paths, out=out, config_path=config_path,
                    state=IndexLocation(state) if state is not None else None, workers=parallelism,
                    output_format=output_format)
    except ApiStartError as exc:
        ended, api_log = True, _end(out, used or api)
        if api_log is not None and api_log.path is not None:  # the one line names where to read why
            raise ApiStartError(f"{exc} (its log: {api_log.path})") from exc
        raise
    finally:
        if not ended:
            api_log = _end(out, used or api)
    if used is not None and api_log is not None:
        record_api_log(Path(out), report, api_log.path, api_log.errors)
    return report
