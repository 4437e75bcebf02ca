"""`ingest run`: ingest files and folders into clean JSONL, on a temporary Prefect API."""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext

import click

# Nothing heavy at module level: `ingest run` starts the temporary Prefect API before
# it imports the config's pydantic models (0.17 s), Prefect and the pipeline.
from ingest.cli.common import EXIT_FAILED, EXIT_USAGE, api_log_note, check_state, fail, quiet_prefect, state_lock
from ingest.cli.options import index_location, output_format_option, quiet_dask, scale_out_options


@contextmanager
def _progress_bar(enabled: bool) -> Iterator[None]:
    from flows.ingest_flow import set_progress_hook

    if not enabled:
        yield
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description:<8}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("batches"), TimeElapsedColumn(), transient=False) as progress:
        bars: dict[str, int] = {}

        def hook(phase: str, done: int, total: int) -> None:
            if phase not in bars:
                bars[phase] = progress.add_task(phase, total=total)
            progress.update(bars[phase], completed=done, total=total)

        set_progress_hook(hook)
        try:
            yield
        finally:
            set_progress_hook(None)


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=True, readable=False))
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, writable=True),
              help="Output folder: documents.jsonl, duplicates.jsonl, rejects.jsonl, report.json.")
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False),
              help="TOML file merged over the defaults (config/default.toml).")
@click.option("--state", "state", type=click.Path(file_okay=False),
              help="Folder of the persistent near-duplicate index: later runs link copies of earlier documents.")
@click.option("--workers", type=click.IntRange(min=1),
              help="Worker processes for the batch phases (default: [run] workers, 0 = one per core).")
@output_format_option
@click.option("--progress/--no-progress", default=None,
              help="Show a progress bar (default: only when stdout is a terminal).")
@click.option("--debug", is_flag=True, help="Print tracebacks and Prefect's debug log.")
@scale_out_options
def run(paths: tuple[str, ...], out: str, config_path: str | None, state: str | None, workers: int | None,
        output_format: str | None, progress: bool | None, debug: bool, index: str | None, runner: str | None,
        dask_address: str | None) -> None:
    """Ingest PATHS (files and folders, recursively) into clean JSONL in --out.

    Runs the Prefect flow on a temporary local API (no server to start). Every input
    record ends in exactly one of documents.jsonl, duplicates.jsonl, rejects.jsonl;
    report.json counts them, lists removals per rule and duplicate clusters.
    """
    state = index_location(index, state)
    quiet_prefect(debug)
    quiet_dask(debug)
    from flows.api_server import TemporaryApi

    # Started first, so that it boots while the config, Prefect and the pipeline are
    # imported (it is stopped again if the config is bad). Its output goes to its log
    # (kept beside report.json), and with --debug to stderr too.
    api = TemporaryApi(echo=debug) if not os.environ.get("PREFECT_API_URL") else None
    try:
        _run(paths, out, config_path, state, workers, output_format, progress, debug, runner, dask_address, api)
    finally:
        if api is not None:
            api.discard()  # the run has kept its log already, unless it never started


def _run(paths: tuple[str, ...], out: str, config_path: str | None, state: str | None, workers: int | None,
         output_format: str | None, progress: bool | None, debug: bool, runner: str | None, dask_address: str | None, api) -> None:
    from ingest.run.memory import frozen_imports

    with frozen_imports():  # the workers forked below inherit the frozen heap too
        from flows.workers import local_workers, resolve_runner, runner_problem, worker_count
        from ingest.config import ConfigError, load_config

    try:
        config = load_config(config_path)
    except ConfigError as exc:
        fail(str(exc), EXIT_USAGE, debug)
    kind, address = resolve_runner(config.run, runner, dask_address)
    if problem := runner_problem(list(paths), kind, address):
        fail(problem, EXIT_USAGE, debug)
    if state is not None:
        check_state(state, config, debug)
    # The local workers before Prefect: forked while this process has no other threads,
    # they need no imports of their own (flows/workers.py).
    with local_workers(worker_count(workers, config.run)) if kind == "process" else nullcontext():
        # Prefect's objects live to the end of the run: the collector need not walk them.
        with frozen_imports():
            from flows.ingest_flow import run_ingest

        show = sys.stdout.isatty() if progress is None else progress
        try:
            with state_lock(state), _progress_bar(show):
                report = run_ingest(list(paths), out, config_path=config_path, state=state, workers=workers,
                                    runner=runner, dask_address=dask_address, api=api,
                                    output_format=output_format)
        except KeyboardInterrupt:
            fail("interrupted", EXIT_FAILED, debug)
        except Exception as exc:  # one line for the user; the traceback with --debug
            fail(f"{exc.__class__.__name__}: {str(exc).splitlines()[0] if str(exc) else ''}", EXIT_FAILED, debug)
    # Nor at exit, where its final collections over the whole heap took 0.3 s.
    gc.freeze()
    c = report["counts"]
    api_log = report.get("prefect_api") or {}
    api_errors = api_log_note(api_log.get("errors", 0), api_log.get("log"))
    skipped = f", {c['skipped']} skipped" if c.get("skipped") else ""  # report.skipped_note, without its imports
    click.echo(
        f"{c['inputs']} inputs: {c['documents']} documents, {c['duplicates']} duplicates, "
        f"{c['rejected']} rejected{skipped} -> {out}{api_errors}"
    )
