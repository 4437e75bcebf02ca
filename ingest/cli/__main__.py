"""`python -m ingest.cli`: the `ingest` command."""

from ingest.cli.main import main

main()
