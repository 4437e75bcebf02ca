"""One input file into records: `read_records`, the readers' entry point.

Text, HTML and Markdown files are one record each; JSONL lines (`ingest/read/jsonl.py`),
WARC responses and WET conversions (`warc.py`), WordPress export items (`wxr.py`), feed
entries (`feeds.py`) and table rows (`tables.py`) one record apiece. Every problem with
the input is yielded as a `Reject` instead of raised, and an item that is not a document
(a WordPress attachment) as a `Skipped`. Decoding text is not done here: whole files
stay bytes for `ingest/clean/decode.py`.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

from ingest.config import ReadConfig
from ingest.document import RawRecord, Reject, Skipped
from ingest.read.content import open_content, open_regular
from ingest.read.files import InputFile
from ingest.read.formats import bom_codec, content_format, sniff
from ingest.read.feeds import read_feed_records
from ingest.read.jsonl import read_jsonl_records
from ingest.read.problems import ReadProblem, reject
from ingest.read.tables import read_csv_records, read_parquet_records
from ingest.read.warc import read_warc_records
from ingest.read.wxr import read_wxr_records


def read_records(f: InputFile, config: ReadConfig) -> Iterator[RawRecord | Reject | Skipped]:
    """The records of one file; every problem with the input is yielded as a Reject."""
    try:
        fh = open_regular(f.path)
    except ReadProblem as bad:
        yield reject(f, bad.error, bad.detail)
        return
    with fh:
        try:
            stream, compression = open_content(fh, config)
            head = sniff(stream)
        except ReadProblem as bad:
            yield reject(f, bad.error, bad.detail)
            return
        fmt = content_format(f.path, head, [*config.table.text, *config.table.html])
        if fmt is None:
            yield reject(f, "BinaryFile", "binary file (not text, HTML, Markdown, JSONL, WARC or Parquet)")
            return
        meta: dict[str, Any] = {"input_format": fmt}
        if compression:
            meta["compression"] = compression
        if fmt == "jsonl":
            yield from read_jsonl_records(f, stream, meta, config)
        elif fmt == "warc":
            yield from read_warc_records(f, stream, meta, config)
        elif fmt == "wxr":
            yield from read_wxr_records(f, stream, meta, config)
        elif fmt == "feed":
            yield from read_feed_records(f, stream, meta, config)
        elif fmt in ("csv", "tsv"):
            yield from read_csv_records(f, stream, fmt, meta, config)
        elif fmt == "parquet":
            yield from read_parquet_records(f, fh if compression is None else stream, meta, config)
        else:
            yield _read_whole(f, stream, fmt, meta, config)


def _is_blank(data: bytes) -> bool:
    encoding = bom_codec(data)
    return not (data.decode(encoding, "replace") if encoding else data).strip()


def _read_whole(
    f: InputFile, stream: io.BufferedReader, fmt: str, meta: dict[str, Any], config: ReadConfig
) -> RawRecord | Reject:
    limit = config.max_record_bytes
    try:
        data = stream.read(limit + 1)
    except ReadProblem as bad:
        return reject(f, bad.error, bad.detail)
    if len(data) > limit:
        return reject(f, "TooLarge", f"the content is larger than read.max_record_bytes ({limit} bytes)")
    if _is_blank(data):
        return reject(f, "EmptyFile", "empty file" if not data else "the file holds only whitespace")
    return RawRecord(source=f.source, path=f.path, format=fmt, data=data, metadata=meta)
