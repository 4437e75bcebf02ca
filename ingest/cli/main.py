"""The `ingest` command line: the command group, and its commands (one module each).

Nothing heavy is imported at module level: `ingest run` starts the temporary Prefect
API before it imports the config's pydantic models (0.17 s), Prefect and the pipeline.
"""

from __future__ import annotations

import click

from ingest.cli.explain import explain
from ingest.cli.inbox import serve, update
from ingest.cli.load import load
from ingest.cli.run import run


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="ingest")
def main() -> None:
    """Clean raw scraped dumps, link near-duplicates with MinHash, write clean JSONL."""


for command in (run, explain, update, serve, load):
    main.add_command(command)
