"""The `ingest` command line: the command group, and its commands (one module each).

Nothing heavy is imported at module level: `ingest run` starts the temporary Prefect
API before it imports the config's pydantic models (0.17 s), Prefect and the pipeline.
"""

from __future__ import annotations

import os

# Before numpy is imported (it reads this then; the workers are forked after): numpy
# asks for transparent huge pages for arrays of 4 MB and more, and where the kernel
# compacts memory for them on demand (THP "madvise", Ubuntu's default) a fresh array's
# first touch stalls. Off, a 100,000-document run took 33.1 s against 33.9 (medians of
# three alternating pairs, 1 s less system CPU; docs/benchmarks/speed.md). A user's own
# setting stands.
os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")

import click  # noqa: E402 (after the setting above)

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
