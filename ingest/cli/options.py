"""Command-line options for scaling out, shared by every command that runs the flow.

`--index` names the near-duplicate index: a folder, or a Redis URL shared by runs on
any host. A URL with a password is best given in the INGEST_INDEX environment variable,
since a command line is visible to every user of the machine (`ps`). `--runner` and
`--dask-address` say where the batch tasks run. Nothing here imports Prefect: the CLI
sets Prefect's settings before that.
"""

from __future__ import annotations

import os

import click

from ingest.runners import RUNNERS

# As ingest.config.OUTPUT_FORMATS, which imports pydantic (slow): the CLI parses options first.
OUTPUT_FORMATS = ("jsonl", "parquet")


def output_format_option(command):
    """--format: the output files' format, over the config's [write] format."""
    return click.option("--format", "output_format", type=click.Choice(OUTPUT_FORMATS),
                        help="Output files: jsonl (documents.jsonl ...) or parquet (documents.parquet ...: zstd, "
                             "nested columns). Default: [write] format, jsonl.")(command)


def scale_out_options(command):
    """Add --index, --runner and --dask-address to a click command."""
    options = [
        click.option("--index", "index", envvar="INGEST_INDEX", metavar="FOLDER|URL",
                     help="Near-duplicate index shared by successive runs: a folder, or redis://[:PASSWORD@]HOST:PORT/DB "
                          "(rediss:// for TLS) shared by runs on any host. Default: $INGEST_INDEX."),
        click.option("--runner", type=click.Choice(RUNNERS),
                     help="Where the batch tasks run: 'process' (worker processes here) or 'dask' (a Dask cluster). "
                          "Default: [run] runner."),
        click.option("--dask-address", metavar="tcp://HOST:PORT",
                     help="Dask scheduler for --runner dask (default: [run] dask_address; none: a local cluster "
                          "of --workers processes for the run). Input paths must then be absolute."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def index_location(index: str | None, state: str | None) -> str | None:
    """The index from --index or --state (a folder), which name the same thing; an
    explicit --state wins over an INGEST_INDEX of the environment."""
    if index is not None and state is not None:
        source = click.get_current_context().get_parameter_source("index")
        if source is click.core.ParameterSource.ENVIRONMENT:
            return state
        raise click.UsageError("give either --index or --state, not both")
    return index if index is not None else state


def quiet_dask(debug: bool) -> None:
    """Dask's own log lines (worker restarts, slow shutdowns) are not the user's business
    unless they debug; must run before distributed is imported."""
    os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "debug" if debug else "error")
