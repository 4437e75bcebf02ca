"""`load(output, target)`: an output folder's partitions into the store a target names.

Targets: `duckdb:PATH` (a DuckDB file, created when missing) and `iceberg:FOLDER` (an
Iceberg SQL catalog in `FOLDER/catalog.sqlite`, its tables' files in
`FOLDER/warehouse/`). Each store loads every partition exactly once.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ingest.load.common import LoadError, LoadSummary
from ingest.load.outputs import partitions_of

if TYPE_CHECKING:
    from ingest.config import LoadConfig

STORES = ("duckdb", "iceberg")


def parse_target(target: str) -> tuple[str, Path]:
    """("duckdb" | "iceberg", path) from "duckdb:PATH" or "iceberg:FOLDER"; ValueError otherwise."""
    store, sep, place = target.partition(":")
    if not sep or store not in STORES or not place:
        raise ValueError(f"{target!r} is not a store: give duckdb:PATH or iceberg:FOLDER")
    return store, Path(place)


def load(output: str | Path, target: str, settings: LoadConfig,
         waiting: Callable[[str], None] | None = None) -> LoadSummary:
    """Load the complete partitions of `output` not loaded before into `target`, with the
    batches and DuckDB memory of `settings` ([load]).

    LoadError (one line) when the output is not one, names a missing file, a loaded
    partition changed since, or the store cannot be written; nothing is half-loaded.
    """
    store, place = parse_target(target)
    partitions = partitions_of(output)
    tell = waiting or (lambda line: print(f"ingest: {line}", file=sys.stderr))
    if store == "duckdb":
        from ingest.load.duckdb_store import load_duckdb

        return load_duckdb(place, partitions, tell, settings.batch_rows, settings.duckdb_memory_mib)
    from ingest.load.iceberg_store import load_iceberg

    return load_iceberg(place, partitions, settings.batch_rows)


__all__ = ["LoadError", "LoadSummary", "load", "parse_target"]
