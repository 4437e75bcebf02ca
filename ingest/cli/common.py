"""What the commands share: exit codes, one-line errors, Prefect kept quiet, state checks.

Exit codes: 0 the run completed (rejected records are data, in rejects.jsonl);
1 the run could not complete; 2 bad usage (unknown option, missing path, bad config).
Errors are one line on stderr; `--debug` adds the traceback.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

EXIT_FAILED = 1
EXIT_USAGE = 2


def api_log_note(errors: int, log: str | Path | None) -> str:
    """The summary line's note on what the temporary Prefect API logged: "" without errors.
    The API's errors are the run's bookkeeping, not its data: the outputs are complete."""
    if not errors:
        return ""
    return f" (the temporary Prefect API logged {errors} error{'s' if errors != 1 else ''}: {log})"


def quiet_prefect(debug: bool) -> None:
    # Must happen before prefect is imported: its settings are read at import time.
    # Failures reach the user as one line from this module, not as Prefect's log.
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "DEBUG" if debug else "CRITICAL")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")


def fail(message: str, code: int, debug: bool) -> None:
    if debug:
        traceback.print_exc()
    click.echo(f"ingest: error: {message}", err=True)
    sys.exit(code)


@contextmanager
def state_lock(location: str | None) -> Iterator[None]:
    """Runs on one state folder take turns: each must dedup against the other's
    documents (a Redis index settles concurrent runs itself)."""
    from ingest.index.location import is_redis_url
    from ingest.index.lock import StateLock

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


def check_state(location: str, config, debug: bool) -> None:
    """Fail before starting the flow when the index (a folder or a Redis URL) cannot
    serve this config or cannot be reached."""
    from ingest.index.format import StateError
    from ingest.index.location import open_index

    try:
        open_index(location, config.dedup).close()
    except StateError as exc:
        fail(str(exc), EXIT_FAILED, debug)
