"""Parquet outputs: one stable Arrow schema for documents and duplicates, one for rejects.

The fields of `ingest/schema/document.schema.json` are columns; `metadata`, `cleaning`,
`dedup` and `passages` are nested structs and lists. What varies per input is JSON text,
so that a new key never changes the schema: `metadata.source_fields` holds every source
field beside the standard ones (front matter, JSONL fields, WARC headers), and
`metadata.author` the author as the source gave it (a name, or a list of names).
`rows_of` reads a table back into the JSON lines' shape, value for value.

Files are zstd-compressed; each batch's share is converted in the worker that wrote it
(`write_part`) and the shares are copied into one file as row groups (`concatenate`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ingest.write.jsonl import atomic_writer, dumps, read_jsonl

COMPRESSION = "zstd"
STANDARD_METADATA = ("title", "url", "author", "language", "input_format", "encoding")

_str, _int, _float = pa.string(), pa.int64(), pa.float64()
METADATA = pa.struct([("title", _str), ("url", _str), ("author", _str), ("language", _str),
                      ("input_format", _str), ("encoding", _str), ("source_fields", _str)])
REMOVED = pa.struct([("rule", _str), ("text", _str), ("start", _int), ("end", _int), ("moved_to", _str)])
REPAIR = pa.struct([("rule", _str), ("count", _int)])
CLEANING = pa.struct([("removed", pa.list_(REMOVED)), ("repairs", pa.list_(REPAIR))])
DEDUP = pa.struct([("cluster_id", _str), ("duplicate_of", _str), ("kind", _str), ("similarity", _float),
                   ("containment", _float), ("contained_in", _str)])
PASSAGE_LINK = pa.struct([("id", _str), ("start", _int), ("end", _int), ("similarity", _float)])
PASSAGE = pa.struct([("start", _int), ("end", _int), ("duplicates", pa.list_(PASSAGE_LINK))])
DOCUMENT = pa.schema([("id", _str), ("source", _str), ("text", _str), ("added", _str), ("created", _str),
                      ("metadata", METADATA), ("cleaning", CLEANING), ("dedup", DEDUP),
                      ("passages", pa.list_(PASSAGE))])
# `removed`: what cleaning removed from a record it left without text, as JSON text.
REJECT = pa.schema([("source", _str), ("path", _str), ("record", _int), ("error", _str), ("reason", _str),
                    ("removed", _str)])
SCHEMAS = {"documents": DOCUMENT, "duplicates": DOCUMENT, "rejects": REJECT}


def _document_row(doc: dict[str, Any]) -> dict[str, Any]:
    metadata = doc["metadata"]
    fields = {k: v for k, v in metadata.items() if k not in STANDARD_METADATA}
    flat = {k: metadata.get(k) for k in STANDARD_METADATA}
    flat["author"] = dumps(metadata.get("author"))
    flat["source_fields"] = dumps(fields)
    return {**doc, "metadata": flat}


def _reject_row(reject: dict[str, Any]) -> dict[str, Any]:
    removed = reject.get("removed")
    return {**reject, "removed": None if removed is None else dumps(removed)}


def to_table(kind: str, rows: Iterable[dict[str, Any]]) -> pa.Table:
    """Rows of documents.jsonl/duplicates.jsonl ("documents", "duplicates") or of
    rejects.jsonl ("rejects") as a table of the stable schema."""
    convert = _reject_row if kind == "rejects" else _document_row
    return pa.Table.from_pylist([convert(r) for r in rows], schema=SCHEMAS[kind])


def _document_of(row: dict[str, Any]) -> dict[str, Any]:
    flat = dict(row["metadata"])
    fields = json.loads(flat.pop("source_fields"))
    flat["author"] = json.loads(flat["author"])
    cleaning = row["cleaning"]
    removed = [{k: v for k, v in r.items() if k != "moved_to" or v is not None} for r in cleaning["removed"]]
    repairs = [{k: v for k, v in r.items() if k != "count" or v is not None} for r in cleaning["repairs"]]
    return {**row, "metadata": {**flat, **fields}, "cleaning": {"removed": removed, "repairs": repairs}}


def _reject_of(row: dict[str, Any]) -> dict[str, Any]:
    removed = row.pop("removed")
    return row if removed is None else {**row, "removed": json.loads(removed)}


def rows_of(kind: str, table: pa.Table) -> Iterator[dict[str, Any]]:
    """A table of the stable schema back in the shape of the JSON lines (the inverse of `to_table`)."""
    convert = _reject_of if kind == "rejects" else _document_of
    for batch in table.select(SCHEMAS[kind].names).to_batches():
        for row in batch.to_pylist():
            yield convert(row)


def write_part(jsonl: Path, kind: str) -> Path:
    """A workspace part of JSON lines as a Parquet part beside it; returns its path."""
    target = jsonl.with_suffix(".parquet")
    pq.write_table(to_table(kind, read_jsonl(jsonl)), target, compression=COMPRESSION)
    return target


def concatenate(path: Path, kind: str, parts: Iterable[Path]) -> int:
    """One Parquet file from parts of the same schema, written atomically; returns its rows."""
    rows = 0
    with atomic_writer(path, binary=True) as fh:
        with pq.ParquetWriter(fh, SCHEMAS[kind], compression=COMPRESSION) as writer:
            for part in parts:
                table = pq.read_table(part, schema=SCHEMAS[kind])
                if table.num_rows:
                    writer.write_table(table)
                    rows += table.num_rows
    return rows


def write_parquet(path: Path, kind: str, rows: Iterable[dict[str, Any]]) -> int:
    """Rows in the JSON lines' shape as one Parquet file, written atomically; returns how many."""
    table = to_table(kind, rows)
    with atomic_writer(path, binary=True) as fh:
        pq.write_table(table, fh, compression=COMPRESSION)
    return table.num_rows


def read_table(path: Path, kind: str) -> pa.Table:
    return pq.read_table(path, schema=SCHEMAS[kind])
