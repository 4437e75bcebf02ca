"""Loads into a DuckDB file, exactly once per partition: each in one transaction.

Tables: `documents` and `duplicates` (the stable schema of `ingest/write/parquet.py`,
the partition's name first), `passages` (one row per link), `rejects`, and `loads`
(one row per loaded partition: its name, its output folder, the SHA-256 of each of its
files, its row counts, when). A partition's rows and its `loads` row are committed in
one transaction, so a load killed at any moment leaves each partition wholly loaded or
not at all; a rerun skips what `loads` lists and refuses, before loading anything, a
partition whose files' hashes differ from those recorded. The rows go in a batch at a
time, and DuckDB's memory is capped (`[load] duckdb_memory_mib`: past it, the open
transaction's rows wait in `PATH.tmp/`), so a load's memory does not grow with the partition.

DuckDB lets one process at a time open a file for writing: loads by ingest take turns
on a lock file beside it (`PATH.load-lock`); another program holding the file (a DuckDB
shell, a notebook) makes the load fail with one line.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from pathlib import Path

import duckdb

from ingest.index.lock import StateLock
from ingest.load.common import LoadError, LoadSummary, kill_point
from ingest.load.outputs import ROW_TABLES, OutputPartition, with_partition

LOCK_SUFFIX = ".load-lock"
_LOADS = """CREATE TABLE IF NOT EXISTS loads (
    partition VARCHAR PRIMARY KEY, output VARCHAR NOT NULL, files JSON NOT NULL,
    documents BIGINT NOT NULL, duplicates BIGINT NOT NULL, passages BIGINT NOT NULL, rejects BIGINT NOT NULL,
    loaded_at TIMESTAMPTZ NOT NULL)"""


def load_duckdb(path: Path, partitions: Sequence[OutputPartition], waiting: Callable[[str], None],
                batch_rows: int, memory_mib: int) -> LoadSummary:
    """Load the partitions not loaded before into the DuckDB file at `path` (created
    when missing), `batch_rows` records of a file at a time. `waiting` is told, in one
    line, when another load holds the file."""
    path = path.resolve()
    try:
        lock = StateLock(path.parent, path.name + LOCK_SUFFIX)
    except OSError as exc:
        raise LoadError(f"{path}: cannot lock the store ({exc.strerror or exc})") from exc
    try:
        if not lock.acquire():
            waiting(f"waiting for {lock.path} (another load, pid {lock.holder()})")
            lock.wait()
        con = _connect(path)
        try:
            # Past this, DuckDB moves the open transaction's rows to PATH.tmp/ until the commit.
            con.execute(f"SET memory_limit = '{memory_mib}MiB'")
            return _load(con, path, partitions, batch_rows)
        finally:
            con.close()
    finally:
        lock.close()


def _connect(path: Path) -> duckdb.DuckDBPyConnection:
    try:
        con = duckdb.connect(str(path))
    except duckdb.Error as exc:
        first = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
        if "lock" in first.lower():
            raise LoadError(f"{path}: the store is locked by another process ({first})") from exc
        raise LoadError(f"{path}: cannot open the store for writing ({first})") from exc
    try:
        _create_tables(con)
    except duckdb.Error as exc:
        con.close()
        raise LoadError(f"{path}: cannot create the tables ({str(exc).splitlines()[0]})") from exc
    return con


def _create_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(_LOADS)
    for table, schema in ROW_TABLES.items():
        con.register("empty", schema.empty_table())
        con.execute(f"CREATE TABLE IF NOT EXISTS {table} AS SELECT ''::VARCHAR AS partition, * FROM empty WITH NO DATA")
        con.unregister("empty")


def _load(con: duckdb.DuckDBPyConnection, path: Path, partitions: Sequence[OutputPartition],
          batch_rows: int) -> LoadSummary:
    summary = LoadSummary(f"duckdb:{path}")
    loads = {name: (output, json.loads(files))
             for name, output, files in con.execute("SELECT partition, output, files FROM loads").fetchall()}
    recorded = [partition.recorded(loads) for partition in partitions]
    for partition, found in zip(partitions, recorded):  # every partition checked before any is loaded
        if found is not None and found[1] != partition.hashes:
            raise partition.changed(found[1], f"duckdb:{path}")
    for partition, found in zip(partitions, recorded):
        if found is not None:
            summary.skipped.append(found[0])
            continue
        _load_partition(con, partition, batch_rows, summary)
        summary.loaded.append(partition.name)
        kill_point("after-commit")
    return summary


def _load_partition(con: duckdb.DuckDBPyConnection, partition: OutputPartition, batch_rows: int,
                    summary: LoadSummary) -> None:
    counts = dict.fromkeys(ROW_TABLES, 0)
    con.begin()
    try:
        for table, rows in partition.row_batches(ROW_TABLES, batch_rows):
            # A relation, not a registered view: a view dropped inside a transaction
            # keeps its rows alive until the commit.
            con.from_arrow(with_partition(rows, partition.name)).insert_into(table)
            counts[table] += rows.num_rows
        kill_point("before-commit")
        con.execute("INSERT INTO loads VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [partition.name, str(partition.output), json.dumps(partition.hashes, sort_keys=True),
                     *(counts[k] for k in ("documents", "duplicates", "passages", "rejects")),
                     dt.datetime.now(dt.UTC)])
        con.commit()
    except duckdb.Error as exc:
        con.rollback()
        raise LoadError(f"partition {partition.name} of {partition.output}: not loaded "
                        f"({str(exc).splitlines()[0]})") from exc
    except BaseException:
        con.rollback()
        raise
    for table, count in counts.items():
        summary.add_rows(table, count)
