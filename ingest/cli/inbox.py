"""`ingest serve` and `ingest update`: the inbox service on the command line.

`update` is one incremental run now (on a temporary local Prefect API, like `ingest
run`, whose log goes to OUT/prefect-api.log, unless PREFECT_API_URL names a server); `serve` registers the same flow as a
deployment with a schedule on the Prefect server at PREFECT_API_URL and runs it there
until stopped.  Both take the same folders, so a run by hand and the scheduled runs
share the ledger, the index and the partitions.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from ingest.cli.common import EXIT_FAILED, EXIT_USAGE, api_log_note, check_state, fail, quiet_prefect
from ingest.cli.load import check_target
from ingest.cli.options import output_format_option

DEPLOYMENT_NAME = "inbox"
_HEALTH_TIMEOUT_SECONDS = 5


def _inbox_options(command):
    """The options `serve` and `update` share."""
    options = [
        click.argument("inbox", type=click.Path(exists=True, file_okay=False)),
        click.option("--out", "out", required=True, type=click.Path(file_okay=False),
                     help="Output folder: one partition folder per run, and manifest.jsonl listing the complete ones."),
        click.option("--state", "state", required=True, type=click.Path(file_okay=False),
                     help="State folder: the ledger of ingested files and the near-duplicate index."),
        click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False),
                     help="TOML file merged over the defaults (config/default.toml)."),
        click.option("--workers", type=click.IntRange(min=1),
                     help="Worker processes for the batch phases (default: [run] workers, 0 = one per core)."),
        click.option("--load", "load_into", metavar="duckdb:PATH|iceberg:FOLDER", callback=check_target,
                     help="Load each partition into this store once it is published (as `ingest load`), "
                          "with any partition of --out not loaded yet."),
        click.option("--debug", is_flag=True, help="Print tracebacks and Prefect's debug log."),
    ]
    command = output_format_option(command)
    for option in reversed(options):
        command = option(command)
    return command


def _checked_folders(inbox: str, out: str, state: str, config_path: str | None, debug: bool) -> tuple[str, str, str]:
    """Absolute folders, after checking the config, the state and that no output is
    inside the inbox (exit 2 or 1 with one line otherwise)."""
    from ingest.config import ConfigError, load_config
    from ingest.run.inbox import check_folders

    try:
        config = load_config(config_path)
    except ConfigError as exc:
        fail(str(exc), EXIT_USAGE, debug)
    folders = tuple(os.path.abspath(p) for p in (inbox, out, state))
    try:
        check_folders(*(Path(p) for p in folders))
    except ValueError as exc:
        fail(str(exc), EXIT_USAGE, debug)
    check_state(folders[2], config, debug)
    return folders


@click.command()
@_inbox_options
def update(inbox: str, out: str, state: str, config_path: str | None, workers: int | None, load_into: str | None,
           debug: bool, output_format: str | None) -> None:
    """Ingest the files of INBOX not ingested before into a new partition of --out.

    One run of what `ingest serve` schedules: files are known by path and content hash
    in the ledger in --state; the run's outputs go to --out/<start time>/, listed in
    --out/manifest.jsonl once complete. A run that finds another one running (the lock
    in --state) does nothing and says so.
    """
    inbox, out, state = _checked_folders(inbox, out, state, config_path, debug)
    quiet_prefect(debug)
    from flows.api_server import TemporaryApi
    from flows.runners import prefect_api
    from flows.scheduled_flow import ingest_inbox

    # As `ingest run`: a temporary API of ours unless PREFECT_API_URL names a server, so
    # that what it logs goes to its log in --out (and with --debug to stderr too).
    api = TemporaryApi(echo=debug) if not os.environ.get("PREFECT_API_URL") else None
    used = None
    try:
        with prefect_api(api) as (_, used):
            outcome = ingest_inbox(inbox=inbox, out=out, state=state, config_path=config_path, workers=workers,
                                   output_format=output_format, load_into=_absolute_target(load_into))
    except KeyboardInterrupt:
        fail("interrupted", EXIT_FAILED, debug)
    except Exception as exc:  # one line for the user; the traceback with --debug
        fail(f"{exc.__class__.__name__}: {str(exc).splitlines()[0] if str(exc) else ''}", EXIT_FAILED, debug)
    finally:
        api_log = used.keep_log(Path(out)) if used is not None else None
        if api is not None and used is None:
            api.discard()  # a server was named after all, or the API never started
    click.echo(outcome["message"] + (api_log_note(api_log.errors, api_log.path) if api_log else ""))


@click.command()
@_inbox_options
@click.option("--cron", help="Run on this cron schedule (UTC), e.g. '*/15 * * * *'.")
@click.option("--interval", type=click.IntRange(min=1), help="Run every this many seconds.")
@click.option("--name", default=DEPLOYMENT_NAME, show_default=True,
              help="Deployment name: the flow runs as ingest-inbox/NAME on the server.")
def serve(inbox: str, out: str, state: str, config_path: str | None, workers: int | None, load_into: str | None,
          debug: bool, output_format: str | None, cron: str | None, interval: int | None, name: str) -> None:
    """Run `ingest update` on a schedule, as a deployment on the Prefect server.

    Needs a server: `prefect server start`, then PREFECT_API_URL set to its API (for
    example http://127.0.0.1:4200/api). Registers the deployment ingest-inbox/NAME with
    the schedule and runs its flow runs here, one at a time, until stopped (Ctrl-C).
    """
    if (cron is None) == (interval is None):
        raise click.UsageError("give exactly one of --cron and --interval")
    inbox, out, state = _checked_folders(inbox, out, state, config_path, debug)
    if debug:
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "DEBUG")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    _require_server(debug)
    from prefect import serve as serve_deployments
    from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
    from prefect.types.entrypoint import EntrypointType

    from flows.scheduled_flow import ingest_inbox

    parameters = {"inbox": inbox, "out": out, "state": state, "config_path": config_path and os.path.abspath(config_path),
                  "workers": workers, "output_format": output_format, "load_into": _absolute_target(load_into)}
    # A run that comes due while the last one still runs is cancelled, not queued: the
    # next one takes its files, and a backlog of runs never builds up.
    one_at_a_time = ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW)
    try:
        # By module path, so that the runs load the flow wherever the server's runner starts them.
        deployment = ingest_inbox.to_deployment(name=name, cron=cron, interval=interval, parameters=parameters,
                                                concurrency_limit=one_at_a_time,
                                                entrypoint_type=EntrypointType.MODULE_PATH)
        serve_deployments(deployment)
    except KeyboardInterrupt:
        return
    except Exception as exc:
        fail(f"{exc.__class__.__name__}: {str(exc).splitlines()[0] if str(exc) else ''}", EXIT_FAILED, debug)


def _absolute_target(target: str | None) -> str | None:
    """The store with an absolute path: scheduled runs may start in another folder."""
    if target is None:
        return None
    store, _, place = target.partition(":")
    return f"{store}:{os.path.abspath(place)}"


def _require_server(debug: bool) -> None:
    """Exit 1 with one line unless PREFECT_API_URL names a server that answers."""
    import httpx
    from prefect.settings import PREFECT_API_URL


    url = PREFECT_API_URL.value()
    if not url:
        fail("PREFECT_API_URL is not set: start a server with 'prefect server start' and set "
             "PREFECT_API_URL=http://127.0.0.1:4200/api", EXIT_FAILED, debug)
    try:
        httpx.get(f"{url.rstrip('/')}/health", timeout=_HEALTH_TIMEOUT_SECONDS).raise_for_status()
    except httpx.HTTPError as exc:
        fail(f"no Prefect server answers at PREFECT_API_URL={url} ({exc.__class__.__name__}: {exc})",
             EXIT_FAILED, debug)
