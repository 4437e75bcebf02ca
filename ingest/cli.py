"""The `ingest` command line.

Exit codes: 0 the run completed (rejected records are data, in rejects.jsonl);
1 the run could not complete; 2 bad usage (unknown option, missing path, bad config).
Errors are one line on stderr; `--debug` adds the traceback.
"""

from __future__ import annotations

import gc
import os
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

import click

# Nothing heavy at module level: `ingest run` starts the temporary Prefect API before
# it imports the config's pydantic models (0.17 s), Prefect and the pipeline.
from ingest.cli_scale import index_location, quiet_dask, scale_out_options

EXIT_FAILED = 1
EXIT_USAGE = 2


def _quiet_prefect(debug: bool) -> None:
    # Must happen before prefect is imported: its settings are read at import time.
    # Failures reach the user as one line from this module, not as Prefect's log.
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "DEBUG" if debug else "CRITICAL")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")


def _fail(message: str, code: int, debug: bool) -> None:
    if debug:
        traceback.print_exc()
    click.echo(f"ingest: error: {message}", err=True)
    sys.exit(code)


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


@contextmanager
def _state_lock(location: str | None) -> Iterator[None]:
    """Runs on one state folder take turns: each must dedup against the other's
    documents (a Redis index settles concurrent runs itself)."""
    from ingest.index import is_redis_url
    from ingest.service import StateLock

    if location is None or is_redis_url(location):
        yield
        return
    lock = StateLock(Path(location))
    try:
        if not lock.acquire():
            click.echo(f"ingest: waiting for {lock.path} (held by pid {lock.holder()})", err=True)
            lock.wait()
        yield
    finally:
        lock.close()


def _check_state(location: str, config, debug: bool) -> None:
    """Fail before starting the flow when the index (a folder or a Redis URL) cannot
    serve this config or cannot be reached."""
    from ingest.index import open_index
    from ingest.state import StateError

    try:
        open_index(location, config.dedup).close()
    except StateError as exc:
        _fail(str(exc), EXIT_FAILED, debug)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="ingest")
def main() -> None:
    """Clean raw scraped dumps, link near-duplicates with MinHash, write clean JSONL."""


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=True, readable=False))
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, writable=True),
              help="Output folder: documents.jsonl, duplicates.jsonl, rejects.jsonl, report.json.")
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False),
              help="TOML file merged over the defaults (config/default.toml).")
@click.option("--state", "state", type=click.Path(file_okay=False),
              help="Folder of the persistent near-duplicate index: later runs link copies of earlier documents.")
@click.option("--workers", type=click.IntRange(min=1),
              help="Worker processes for the batch phases (default: [run] workers, 0 = one per core).")
@click.option("--progress/--no-progress", default=None,
              help="Show a progress bar (default: only when stdout is a terminal).")
@click.option("--debug", is_flag=True, help="Print tracebacks and Prefect's debug log.")
@scale_out_options
def run(paths: tuple[str, ...], out: str, config_path: str | None, state: str | None, workers: int | None,
        progress: bool | None, debug: bool, index: str | None, runner: str | None, dask_address: str | None) -> None:
    """Ingest PATHS (files and folders, recursively) into clean JSONL in --out.

    Runs the Prefect flow on a temporary local API (no server to start). Every input
    record ends in exactly one of documents.jsonl, duplicates.jsonl, rejects.jsonl;
    report.json counts them, lists removals per rule and duplicate clusters.
    """
    state = index_location(index, state)
    _quiet_prefect(debug)
    quiet_dask(debug)
    from flows.api_server import TemporaryApi

    # Started first, so that it boots while the config, Prefect and the pipeline are
    # imported (it is stopped again if the config is bad).
    api = TemporaryApi() if not os.environ.get("PREFECT_API_URL") else None
    try:
        _run(paths, out, config_path, state, workers, progress, debug, runner, dask_address, api)
    finally:
        if api is not None:
            api.stop()


def _run(paths: tuple[str, ...], out: str, config_path: str | None, state: str | None, workers: int | None,
         progress: bool | None, debug: bool, runner: str | None, dask_address: str | None, api) -> None:
    from ingest.heap import frozen_imports

    with frozen_imports():  # the workers forked below inherit the frozen heap too
        from flows.workers import local_workers, resolve_runner, runner_problem, worker_count
        from ingest.config import ConfigError, load_config

    try:
        config = load_config(config_path)
    except ConfigError as exc:
        _fail(str(exc), EXIT_USAGE, debug)
    kind, address = resolve_runner(config.run, runner, dask_address)
    if problem := runner_problem(list(paths), kind, address):
        _fail(problem, EXIT_USAGE, debug)
    if state is not None:
        _check_state(state, config, debug)
    # The local workers before Prefect: forked while this process has no other threads,
    # they need no imports of their own (flows/workers.py).
    with local_workers(worker_count(workers, config.run)) if kind == "process" else nullcontext():
        # Prefect's objects live to the end of the run: the collector need not walk them.
        with frozen_imports():
            from flows.ingest_flow import run_ingest

        show = sys.stdout.isatty() if progress is None else progress
        try:
            with _state_lock(state), _progress_bar(show):
                report = run_ingest(list(paths), out, config_path=config_path, state=state, workers=workers,
                                    runner=runner, dask_address=dask_address, api=api)
        except KeyboardInterrupt:
            _fail("interrupted", EXIT_FAILED, debug)
        except Exception as exc:  # one line for the user; the traceback with --debug
            _fail(f"{exc.__class__.__name__}: {str(exc).splitlines()[0] if str(exc) else ''}", EXIT_FAILED, debug)
    # Nor at exit, where its final collections over the whole heap took 0.3 s.
    gc.freeze()
    c = report["counts"]
    click.echo(
        f"{c['inputs']} inputs: {c['documents']} documents, {c['duplicates']} duplicates, "
        f"{c['rejected']} rejected -> {out}"
    )



@main.command()
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False),
              help="TOML file merged over the defaults (config/default.toml).")
@click.option("--color/--no-color", default=None, help="Colour the cuts (default: when stdout is a terminal).")
def explain(path: str, config_path: str | None, color: bool | None) -> None:
    """Show what cleaning does to one input file: every cut, labelled by its rule.

    Cuts are listed with their line and rule, then the text is shown with each cut
    marked as [-removed text-]{rule}. Learned boilerplate needs a whole run's documents,
    so it is not shown here (see cleaning.removed in the run's output).
    """
    from ingest.config import ConfigError, load_config
    from ingest.document import Reject
    from ingest.pipeline import explain_file

    try:
        config = load_config(config_path)
    except ConfigError as exc:
        _fail(str(exc), EXIT_USAGE, False)
    styled = sys.stdout.isatty() if color is None else color
    for item in explain_file(path, config):
        if isinstance(item, Reject):
            click.echo(f"== {item.source}: rejected ({item.error}): {item.reason}")
            continue
        click.echo(render_explanation(item, styled))


def render_explanation(item, styled: bool) -> str:
    """The cuts of one record as a list and as marks in the text."""
    text, removals = item.text, item.result.removals
    lines = [f"== {item.source}"]
    repairs = ", ".join(f"{r['rule']} x{r.get('count', 1)}" for r in item.repairs) or "none"
    lines.append(f"encoding repairs: {repairs}")
    lines.append(f"cuts: {len(removals)}")
    for r in removals:
        line_no = text.count("\n", 0, r.start) + 1
        target = f" -> {r.moved_to}" if r.moved_to else ""
        lines.append(f"  line {line_no:>4}  {r.rule:<18}{target:<14} {r.text.strip()!r}")
    if item.result.fields:
        lines.append("fields: " + ", ".join(f"{k}={v!r}" for k, v in item.result.fields.items()))
    lines.append("-- text with cuts marked --")
    marked, pos = [], 0
    for r in removals:
        marked.append(text[pos : r.start])
        cut = f"[-{r.text}-]{{{r.rule}}}"
        marked.append(click.style(cut, fg="red", strike=True) if styled else cut)
        pos = r.end
    marked.append(text[pos:])
    lines.append("".join(marked))
    return "\n".join(lines)


# `ingest update` and `ingest serve`: the inbox service (ingest/cli_service.py).
from ingest.cli_service import serve, update  # noqa: E402

main.add_command(update)
main.add_command(serve)

if __name__ == "__main__":
    main()
