"""What a load reads: the partitions of an output folder, their files' hashes, their rows.

An output folder is either a plain `ingest run` output (documents, duplicates, rejects
and report.json: one partition, named by the folder's name and the run's start time,
`out@2026-11-21T05-30-00Z`) or an inbox's output (`ingest update`, `serve`), whose `manifest.jsonl`
lists the complete partitions, each named by the output folder's name and its own folder's
(`out@2026-11-21T05-30-00Z.1`): two inboxes run on one schedule start in the same second,
and their partitions meet in one store. Either may be JSON lines or Parquet. Rows are read in
batches, as Arrow tables of the stable schema of `ingest/write/parquet.py` whatever the
format, so that a load holds one batch of a partition at a time.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from functools import cached_property
from itertools import islice
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ingest.load.common import LoadError, kill_point
from ingest.write.parquet import DOCUMENT, REJECT, SCHEMAS, to_table
from ingest.write.partitions import MANIFEST_NAME, OUTPUT_KINDS, output_file, partition_name

# One row per passage link: a span of a document, the span of the other document that
# reuses it, and the share of the span's words found there.
PASSAGE_LINKS = pa.schema([("document", pa.string()), ("start", pa.int64()), ("end", pa.int64()),
                           ("other", pa.string()), ("other_start", pa.int64()), ("other_end", pa.int64()),
                           ("similarity", pa.float64())])
# The tables of rows in a store, with their Arrow schema (a store adds `partition` first).
ROW_TABLES = {"documents": DOCUMENT, "duplicates": DOCUMENT, "passages": PASSAGE_LINKS, "rejects": REJECT}
# What `to_table` raises for a value that is not a record of the schema.
_NOT_A_RECORD = (KeyError, TypeError, AttributeError, pa.ArrowException)


@dataclass(frozen=True)
class OutputPartition:
    output: Path
    name: str
    files: dict[str, Path]  # kind ("documents", "duplicates", "rejects") -> file
    # An inbox partition's own folder name, which stores loaded before names carried the
    # output folder's hold it under; None for an `ingest run` output.
    bare_name: str | None = None

    def recorded(self, loads: dict[str, tuple[str, dict[str, str]]]) -> tuple[str, dict[str, str]] | None:
        """The name and file hashes under which a store's `loads` (name -> output folder,
        hashes) holds this partition, if it does. Under its bare name only when recorded
        with an output folder of this one's name: another output's partition of the same
        second is another partition."""
        if self.name in loads:
            return self.name, loads[self.name][1]
        if self.bare_name in loads and Path(loads[self.bare_name][0]).name == self.output.name:
            return self.bare_name, loads[self.bare_name][1]
        return None

    @cached_property
    def hashes(self) -> dict[str, str]:
        """File name -> SHA-256 of its bytes: what a later load compares with."""
        found = {}
        for path in self.files.values():
            try:
                with open(path, "rb") as fh:
                    found[path.name] = hashlib.file_digest(fh, "sha256").hexdigest()
            except OSError as exc:
                raise LoadError(f"{path}: cannot read ({exc.strerror or exc})") from exc
        return found

    def changed(self, recorded: dict[str, str], store: str) -> LoadError:
        """The refusal of this partition when its files' hashes differ from those recorded at its load."""
        names = sorted(n for n in set(recorded) | set(self.hashes) if recorded.get(n) != self.hashes.get(n))
        return LoadError(f"partition {self.name} of {self.output} changed since it was loaded into {store} "
                         f"({', '.join(names)}): refused; load it into a new store, or delete its rows there first")

    def row_batches(self, tables: Collection[str], batch_rows: int) -> Iterator[tuple[str, pa.Table]]:
        """(table, rows) for the store's `tables` ("documents", "duplicates", "passages",
        "rejects"), each file read `batch_rows` records at a time so that one batch is
        in memory at once, whatever the partition's size; "passages" are the links of
        each batch of documents, which are read once for both tables."""
        read = [kind for kind in OUTPUT_KINDS if kind in tables or (kind == "documents" and "passages" in tables)]
        first = True
        for kind in read:
            for rows in self._batches(kind, batch_rows):
                if not first:
                    kill_point("between-batches")
                first = False
                if kind in tables:
                    yield kind, rows
                if kind == "documents" and "passages" in tables:
                    yield "passages", passage_links(rows)

    def _batches(self, kind: str, batch_rows: int) -> Iterator[pa.Table]:
        """The rows of one kind in tables of the stable schema, at most `batch_rows` each."""
        path = self.files[kind]
        if path.suffix == ".parquet":
            yield from _parquet_batches(path, kind, batch_rows)
            return
        lines = _json_lines(path)
        while chunk := list(islice(lines, batch_rows)):
            try:
                yield to_table(kind, (record for _, record in chunk))
            except _NOT_A_RECORD as exc:
                raise _bad_line(path, kind, chunk, exc) from exc


def with_partition(rows: pa.Table, name: str) -> pa.Table:
    """The rows with the partition's name as their first column, as the store's tables have it."""
    return rows.add_column(0, "partition", pa.array([name] * rows.num_rows, pa.string()))


def passage_links(documents: pa.Table) -> pa.Table:
    """Every passage link of these documents, one row each (`PASSAGE_LINKS`)."""
    passages = documents.column("passages")
    owner = pc.take(documents.column("id"), pc.list_parent_indices(passages))
    spans = pc.list_flatten(passages)
    links = pc.struct_field(spans, "duplicates")
    link_owner = pc.take(owner, pc.list_parent_indices(links))
    link_span = pc.take(spans, pc.list_parent_indices(links))
    flat = pc.list_flatten(links)
    return pa.Table.from_arrays(
        [link_owner, pc.struct_field(link_span, "start"), pc.struct_field(link_span, "end"),
         pc.struct_field(flat, "id"), pc.struct_field(flat, "start"), pc.struct_field(flat, "end"),
         pc.struct_field(flat, "similarity")], schema=PASSAGE_LINKS)


def _parquet_batches(path: Path, kind: str, batch_rows: int) -> Iterator[pa.Table]:
    # One row group's pages read at a time, on this thread: the leanest of pyarrow's readers.
    try:
        file = pq.ParquetFile(path, pre_buffer=False)
        if not file.schema_arrow.equals(SCHEMAS[kind]):
            raise pa.ArrowInvalid(f"its schema is not that of ingest's {kind}")
        for batch in file.iter_batches(batch_size=batch_rows, use_threads=False):
            yield pa.Table.from_batches([batch])
    except (OSError, pa.ArrowException) as exc:
        raise LoadError(f"{path}: not a readable Parquet file of ingest's schema ({exc})") from exc


def _bad_line(path: Path, kind: str, chunk: list[tuple[int, Any]], exc: Exception) -> LoadError:
    """The error naming the first line of `chunk` (line number, record) that is not a
    record of `kind`: the batch's lines when each converts alone but not together."""
    where = f"lines {chunk[0][0]}-{chunk[-1][0]}"
    for n, record in chunk:
        try:
            to_table(kind, [record])
        except _NOT_A_RECORD as one:
            where, exc = f"line {n}", one
            break
    return LoadError(f"{path} {where}: not an ingest {kind} record ({exc.__class__.__name__}: {exc})")


def _json_lines(path: Path) -> Iterator[tuple[int, Any]]:
    """(line number, value) of each line that is not blank."""
    try:
        with open(path, encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                if line.strip():
                    try:
                        yield n, json.loads(line)
                    except ValueError as exc:
                        raise LoadError(f"{path} line {n}: not valid JSON ({exc})") from exc
    except OSError as exc:
        raise LoadError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    except UnicodeDecodeError as exc:
        raise LoadError(f"{path}: not UTF-8 ({exc.reason} at byte {exc.start})") from exc


def partitions_of(output: str | Path) -> list[OutputPartition]:
    """The complete partitions of an output folder, oldest first; LoadError when it is
    not an output or names a file that is missing."""
    out = Path(output).resolve()
    if not out.is_dir():
        raise LoadError(f"{out}: not a folder")
    if (out / MANIFEST_NAME).exists():
        return _manifest_partitions(out)
    if (out / "report.json").is_file() and output_file(out, "documents").is_file():
        return [_plain_partition(out)]
    raise LoadError(f"{out} is not an ingest output: it has no {MANIFEST_NAME}, nor report.json "
                    "with documents.jsonl or documents.parquet")


def _plain_partition(out: Path) -> OutputPartition:
    try:
        report = json.loads((out / "report.json").read_text(encoding="utf-8"))
        started = dt.datetime.fromisoformat(report["started"].replace("Z", "+00:00"))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise LoadError(f"{out / 'report.json'}: not a run's report (no start time: {exc})") from exc
    files = {kind: output_file(out, kind) for kind in OUTPUT_KINDS}
    for path in files.values():
        if not path.is_file():
            raise LoadError(f"{out}: {path.name} is missing")
    # Named by the folder and the run's start, so that runs into two folders in one
    # second are two partitions, and a folder moved elsewhere is still the same one.
    return OutputPartition(out, f"{out.name}@{partition_name(started)}", files)


def _manifest_partitions(out: Path) -> list[OutputPartition]:
    manifest = out / MANIFEST_NAME
    found = []
    for n, entry in _json_lines(manifest):
        try:
            name, outputs = entry["partition"], entry["outputs"]
        except (KeyError, TypeError) as exc:
            raise LoadError(f"{manifest} line {n}: not a manifest entry (no {exc})") from exc
        files = {}
        for relative in outputs:
            path = out / relative
            if not path.is_file():
                raise LoadError(f"{manifest} line {n}: partition {name} names {relative}, which is missing")
            files[path.name.split(".")[0]] = path
        if set(files) != set(OUTPUT_KINDS):
            raise LoadError(f"{manifest} line {n}: partition {name} lists {sorted(files)}, not {list(OUTPUT_KINDS)}")
        found.append(OutputPartition(out, f"{out.name}@{name}", files, bare_name=name))
    return found
