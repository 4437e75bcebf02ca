"""Loads into Iceberg tables of a SQL catalog, exactly once per partition and table.

`iceberg:FOLDER` is pyiceberg's SQL catalog in `FOLDER/catalog.sqlite` with the tables'
files under `FOLDER/warehouse/`; Spark and Trino read the same tables through a JDBC
catalog on that SQLite file. The namespace `ingest` holds `documents`, `duplicates`,
`passages`, `rejects` and `loads`, as in DuckDB, each partitioned by the `partition` column.

Iceberg commits one table at a time, so the rule is kept per table: each append
carries the partition's name and its files' hashes in its snapshot's properties
(`ingest.partition`, `ingest.files`), and a table whose snapshots already name the
partition is not appended to again. The `loads` row comes last: a partition listed
there is complete. A load killed between two tables leaves the partition in some
tables and not yet in the others; the next load appends it to the others only.
Commits are compare-and-swap on the catalog's pointer to the table's metadata: of two
loads appending to one table at once, one commit fails, and that load reads the table
again, finds the partition there, and goes on (pyiceberg's own retry, which would append
the rows again, is switched off in the tables' properties).

The rows are written as Parquet data files a batch at a time (a file per batch and
table), so that the load's memory does not grow with the partition; each table then
gets one commit adding all of its files: one snapshot per partition and table, as
before. A lost race commits the same files again; a load killed before a table's
commit leaves its files in no snapshot, invisible to readers (an Iceberg orphan-file
clean-up removes them). pyiceberg 0.12's streaming append takes unpartitioned tables
only, so the files are written with the function its `append` uses
(`_dataframe_to_data_files`, private: pyproject keeps pyiceberg below 0.13).
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.exceptions import CommitFailedException, NoSuchTableError, TableAlreadyExistsError
from pyiceberg.io.pyarrow import _check_pyarrow_schema_compatible, _dataframe_to_data_files
from pyiceberg.manifest import DataFile
from pyiceberg.table import Table
from pyiceberg.table.snapshots import ADDED_RECORDS, Summary
from sqlalchemy.exc import OperationalError

from ingest.load.common import LoadError, LoadSummary, kill_point
from ingest.load.outputs import ROW_TABLES, OutputPartition, with_partition

NAMESPACE = "ingest"
PARTITION_PROPERTY = "ingest.partition"
FILES_PROPERTY = "ingest.files"
LOADS = pa.schema([("partition", pa.string()), ("output", pa.string()), ("files", pa.string()),
                   ("documents", pa.int64()), ("duplicates", pa.int64()), ("passages", pa.int64()),
                   ("rejects", pa.int64()), ("loaded_at", pa.string())])
# Commits that lose a race (or meet SQLite's lock) are tried again this many times.
_ATTEMPTS = 20
# pyiceberg (0.12) retries an append that lost a race by rebuilding it on the winner's
# snapshot: the rows would go in twice when the winner had appended the same partition.
# The retry is this module's, after looking at the table's snapshots again.
_TABLE_PROPERTIES = {"commit.retry.num-retries": "0"}


def catalog(folder: Path) -> SqlCatalog:
    folder = folder.resolve()
    (folder / "warehouse").mkdir(parents=True, exist_ok=True)
    return SqlCatalog(NAMESPACE, uri=f"sqlite:///{folder / 'catalog.sqlite'}",
                      warehouse=(folder / "warehouse").as_uri())


def load_iceberg(folder: Path, partitions: Sequence[OutputPartition], batch_rows: int) -> LoadSummary:
    """Load the partitions not loaded before into the Iceberg catalog in `folder`,
    `batch_rows` records of a file at a time."""
    store = f"iceberg:{folder.resolve()}"
    try:
        tables = _retried(lambda: _open_tables(folder), store)
        summary = LoadSummary(store)
        complete = {row["partition"]: (row["output"], json.loads(row["files"]))
                    for row in tables["loads"].scan().to_arrow().to_pylist()}
        loaded = [partition.recorded(complete) for partition in partitions]
        for partition, found in zip(partitions, loaded):  # every partition checked before any is loaded
            recorded = found[1] if found is not None else _recorded_in_snapshots(tables, partition.name)
            if recorded is not None and recorded != partition.hashes:
                raise partition.changed(recorded, store)
        for partition, found in zip(partitions, loaded):
            if found is not None:
                summary.skipped.append(found[0])
                continue
            _load_partition(tables, partition, batch_rows, summary, store)
            summary.loaded.append(partition.name)
            kill_point("after-commit")
        return summary
    except (OSError, OperationalError) as exc:
        raise LoadError(f"{store}: cannot write the store ({exc.__class__.__name__}: "
                        f"{str(exc).splitlines()[0] if str(exc) else ''})") from exc


def _open_tables(folder: Path) -> dict[str, Table]:
    cat = catalog(folder)
    cat.create_namespace_if_not_exists(NAMESPACE)
    tables = {}
    for name, schema in {**ROW_TABLES, "loads": LOADS}.items():
        identifier = f"{NAMESPACE}.{name}"
        try:
            tables[name] = cat.load_table(identifier)
        except NoSuchTableError:
            full = schema if name == "loads" else pa.schema([pa.field("partition", pa.string()), *schema])
            try:
                with cat.create_table_transaction(identifier, schema=full, properties=_TABLE_PROPERTIES) as create:
                    if name != "loads":
                        with create.update_spec() as spec:
                            spec.add_identity("partition")
            except TableAlreadyExistsError:  # created meanwhile by a load beside this one
                pass
            tables[name] = cat.load_table(identifier)
        if any(tables[name].properties.get(k) != v for k, v in _TABLE_PROPERTIES.items()):  # made elsewhere
            with tables[name].transaction() as change:
                change.set_properties(_TABLE_PROPERTIES)
    return tables


def _recorded_in_snapshots(tables: dict[str, Table], name: str) -> dict[str, str] | None:
    """The file hashes a snapshot of any table recorded for the partition, if one did."""
    for table in tables.values():
        if (snapshot := _snapshot_of(table, name)) is not None:
            return json.loads(snapshot[FILES_PROPERTY] or "{}")
    return None


def _snapshot_of(table: Table, name: str) -> Summary | None:
    """The summary of the table's snapshot that appended the partition, if one did."""
    for snapshot in table.snapshots():
        if snapshot.summary is not None and snapshot.summary[PARTITION_PROPERTY] == name:
            return snapshot.summary
    return None


def _load_partition(tables: dict[str, Table], partition: OutputPartition, batch_rows: int, summary: LoadSummary,
                    store: str) -> None:
    properties = {PARTITION_PROPERTY: partition.name, FILES_PROPERTY: json.dumps(partition.hashes, sort_keys=True)}
    pending = [name for name in ROW_TABLES if _snapshot_of(tables[name], partition.name) is None]
    files = _write_data_files(tables, partition, pending, batch_rows)
    for name in pending:
        if _append_once(tables, name, files[name], properties, store):
            summary.add_rows(name, sum(f.record_count for f in files[name]))
        kill_point("between-tables")
    # Each table's count as its snapshot recorded it, whichever load appended it.
    counts = {name: int(_snapshot_of(tables[name], partition.name)[ADDED_RECORDS] or 0) for name in ROW_TABLES}
    loads_row = pa.Table.from_pylist([{"partition": partition.name, "output": str(partition.output),
                                       "files": properties[FILES_PROPERTY], **counts,
                                       "loaded_at": dt.datetime.now(dt.UTC).isoformat()}], schema=LOADS)
    _append_once(tables, "loads", _data_files(tables["loads"], loads_row, uuid.uuid4(), itertools.count()),
                 properties, store)


def _write_data_files(tables: dict[str, Table], partition: OutputPartition, names: list[str],
                      batch_rows: int) -> dict[str, list[DataFile]]:
    """The partition's rows for the tables `names` as data files in their tables' folders
    (a file per batch and table, so that one batch is in memory at once), not yet in any snapshot."""
    found: dict[str, list[DataFile]] = {name: [] for name in names}
    write_uuid, counter = uuid.uuid4(), itertools.count()
    for name, rows in partition.row_batches(names, batch_rows):
        found[name] += _data_files(tables[name], with_partition(rows, partition.name), write_uuid, counter)
    return found


def _data_files(table: Table, data: pa.Table, write_uuid: uuid.UUID, counter: itertools.count) -> list[DataFile]:
    # What `Transaction.append` does with a table before its commit (pyiceberg 0.12: its
    # streaming append does not take partitioned tables, and a snapshot per batch would
    # break "one snapshot per partition and table").
    _check_pyarrow_schema_compatible(table.schema(), provided_schema=data.schema,
                                     format_version=table.metadata.format_version)
    return list(_dataframe_to_data_files(table.metadata, data, table.io, write_uuid=write_uuid, counter=counter))


def _append_once(tables: dict[str, Table], name: str, files: list[DataFile], properties: dict[str, str],
                 store: str) -> bool:
    """Commit one snapshot of the table that adds `files`, unless a snapshot of the table
    names the partition; True when appended now. The files stay valid when a commit loses
    a race, so a retry commits them again without rewriting them."""

    def attempt() -> bool:
        table = tables[name]
        if _snapshot_of(table, properties[PARTITION_PROPERTY]) is not None:
            return False
        try:
            with table.transaction() as change, \
                    change.update_snapshot(snapshot_properties=properties).fast_append() as append:
                for data_file in files:
                    append.append_data_file(data_file)
        except CommitFailedException:
            tables[name] = table.refresh()  # another load committed first: look again
            raise
        return True

    return _retried(attempt, store)


def _retried(step: Callable[[], Any], store: str) -> Any:
    for n in range(_ATTEMPTS):
        try:
            return step()
        except (CommitFailedException, OperationalError) as exc:
            if isinstance(exc, OperationalError) and "locked" not in str(exc):
                raise
            if n == _ATTEMPTS - 1:
                raise LoadError(f"{store}: the catalog stayed busy ({exc.__class__.__name__}); try again") from exc
            time.sleep(0.05 * (n + 1))
    raise AssertionError("unreachable")
