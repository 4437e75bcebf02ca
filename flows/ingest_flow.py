"""The ingestion flow: the library's stages mapped onto Prefect tasks.

No cleaning logic lives here. Batch phases run as tasks on a process pool (ftfy,
regexes and hashing hold the GIL, so threads would not use the cores); the central
steps (boilerplate learning, dedup) run in the flow's process between the phases.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NONE
from prefect.futures import as_completed
from prefect.task_runners import ProcessPoolTaskRunner

from ingest import pipeline
from ingest.config import Config, load_config

# Called as progress(phase, done, total) while a run goes on; set by the CLI.
ProgressHook = Callable[[str, int, int], None]
_progress: ProgressHook | None = None


def set_progress_hook(hook: ProgressHook | None) -> None:
    global _progress
    _progress = hook


def _report_progress(phase: str, done: int, total: int) -> None:
    if _progress is not None:
        _progress(phase, done, total)


@task(name="prepare-batch", cache_policy=NONE)
def prepare_task(batch: int, files: list, config: Config, workspace: pipeline.Workspace) -> pipeline.PrepareSummary:
    return pipeline.prepare_batch(batch, files, config, workspace)


@task(name="clean-batch", cache_policy=NONE)
def clean_task(batch: int, config: Config, workspace: pipeline.Workspace, boilerplate: set, added: str) -> pipeline.CleanSummary:
    return pipeline.clean_batch(batch, config, workspace, boilerplate, added)


_TASKS = {"prepare": prepare_task, "clean": clean_task}


def _task_mapper(phase: str, args: list[tuple]) -> list:
    """Submit one task per batch; results in submission order, progress as they complete."""
    futures = [_TASKS[phase].submit(*a) for a in args]
    _report_progress(phase, 0, len(futures))
    for done, _ in enumerate(as_completed(futures), start=1):
        _report_progress(phase, done, len(futures))
    return [f.result() for f in futures]


@flow(name="ingest", validate_parameters=True)
def ingest_flow(paths: list[str], out: str, config_path: str | None = None, state: str | None = None) -> dict[str, Any]:
    """Ingest files and folders into clean JSONL in `out`; returns the run report."""
    return pipeline.run(paths, out, load_config(config_path), mapper=_task_mapper, state_dir=state)


def run_ingest(paths: list[str], out: str, config_path: str | None = None, state: str | None = None,
               workers: int | None = None) -> dict[str, Any]:
    """Run the flow with a process pool of `workers` (default: config, else one per core)."""
    if workers is None:
        workers = load_config(config_path).run.workers
    workers = workers or os.cpu_count() or 1
    runner = ProcessPoolTaskRunner(max_workers=workers)
    return ingest_flow.with_options(task_runner=runner)(paths=paths, out=out, config_path=config_path, state=state)
