"""`ingest load`: an output folder's partitions into DuckDB or Iceberg, each exactly once."""

from __future__ import annotations

import click

from ingest.cli.common import EXIT_FAILED, EXIT_USAGE, fail


def check_target(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A click callback: the value when it names a store (duckdb:PATH, iceberg:FOLDER), else bad usage."""
    from ingest.load.target import parse_target

    if value is not None:
        try:
            parse_target(value)
        except ValueError as exc:
            raise click.BadParameter(str(exc), ctx, param) from exc
    return value


target_option = click.option(
    "--into", "target", required=True, metavar="duckdb:PATH|iceberg:FOLDER", callback=check_target,
    help="The store: a DuckDB file (created when missing), or the folder of an Iceberg SQL catalog "
         "(FOLDER/catalog.sqlite, tables' files in FOLDER/warehouse).")


@click.command()
@click.argument("out", type=click.Path(exists=True, file_okay=False))
@target_option
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False),
              help="TOML file merged over the defaults (config/default.toml): [load] batch_rows, duckdb_memory_mib.")
@click.option("--debug", is_flag=True, help="Print tracebacks.")
def load(out: str, target: str, config_path: str | None, debug: bool) -> None:
    """Load the output folder OUT into a store, each partition exactly once.

    OUT is an `ingest run` output (one partition) or an inbox's output with its
    manifest.jsonl (every complete partition it lists). Tables: documents, duplicates,
    passages (one row per link), rejects, and loads (each loaded partition with the
    hashes of its files). A partition loaded before is skipped; one whose files changed
    since is refused with one line; a partition is loaded whole or not at all.
    """
    from ingest.config import ConfigError, load_config
    from ingest.load.target import LoadError
    from ingest.load.target import load as load_output

    try:
        config = load_config(config_path)
    except ConfigError as exc:
        fail(str(exc), EXIT_USAGE, debug)
    try:
        summary = load_output(out, target, config.load)
    except LoadError as exc:
        fail(str(exc), EXIT_FAILED, debug)
    click.echo(summary.message())
