"""WARC files: each response record with an HTML or plain-text payload is one record, and
each conversion record (Common Crawl's WET files: the text extracted from a response) too.

Other records (requests, metadata, images) are skipped. The first truncated or
malformed record is a reject naming its index, and ends the file.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from email.message import Message
from typing import Any

from warcio.archiveiterator import ArchiveIterator
from warcio.limitreader import LimitReader
from warcio.recordloader import ArcWarcRecord

from ingest.config import ReadConfig
from ingest.document import RawRecord, Reject
from ingest.read.content import CHUNK_BYTES
from ingest.read.files import InputFile
from ingest.read.problems import ReadProblem, describe, reject

_HTML_TYPES = ("text/html", "application/xhtml+xml")


def read_warc_records(
    f: InputFile, stream: io.BufferedReader, meta: dict[str, Any], config: ReadConfig
) -> Iterator[RawRecord | Reject]:
    """Response records with an HTML or plain-text payload, and conversion records; other
    records are skipped.

    Records are numbered over all records of the file.  The first truncated or malformed
    record gives a Reject and ends the file.
    """
    records = ArchiveIterator(stream)
    n = 0
    while True:
        n += 1
        try:
            record = next(records, None)
            if record is None:
                break
            item = _warc_item(f, n, record, meta, config)
            problem = _warc_record_problem(record)
        except ReadProblem as bad:
            yield reject(f, bad.error, f"reading stopped at record {n}: {bad.detail}", n)
            return
        except Exception as exc:  # warcio fails with assorted exception types on bad input
            yield reject(f, "MalformedWARC", f"record {n} is not a valid WARC record ({describe(exc)})", n)
            return
        if problem:
            yield reject(f, problem.error, f"record {n} {problem.detail}", n)
            return
        if item is not None:
            yield item
    # warcio also stops silently when the file ends inside a record header: then bytes
    # remain after the end of the last record it returned.
    if records.offset < stream.tell():
        yield reject(f, "TruncatedWARC", f"record {n} is cut off: the file ends inside its header", n)
    elif n == 1:
        yield reject(f, "EmptyFile", "the file holds no WARC records")


def _warc_item(
    f: InputFile, n: int, record: ArcWarcRecord, meta: dict[str, Any], config: ReadConfig
) -> RawRecord | Reject | None:
    """The document in a response record, or None when the record is not one."""
    fmt = _warc_payload_format(record)
    if fmt is None:
        return None
    limit = config.max_record_bytes
    payload = record.content_stream().read(limit + 1)
    if len(payload) > limit:
        return reject(f, "TooLarge", f"record {n} has a payload larger than read.max_record_bytes ({limit} bytes)", n)
    converted = record.rec_type == "conversion"
    if not payload.strip():
        return reject(f, "EmptyRecord", f"record {n} has an empty {'text' if converted else 'HTTP payload'}", n)
    headers = record.rec_headers if converted else record.http_headers
    content_type = headers.get_header("Content-Type")
    header = Message()
    header["Content-Type"] = content_type
    # WET text is UTF-8 by Common Crawl's definition, whatever the header says.
    encoding = "utf-8" if converted else header.get_content_charset()
    metadata: dict[str, Any] = {
        "url": record.rec_headers.get_header("WARC-Target-URI"),
        "warc_date": record.rec_headers.get_header("WARC-Date"),
        "warc_record_id": record.rec_headers.get_header("WARC-Record-ID"),
        "content_type": content_type,
    }
    if converted:
        metadata["warc_refers_to"] = record.rec_headers.get_header("WARC-Refers-To")
        if language := record.rec_headers.get_header("WARC-Identified-Content-Language"):
            metadata["language"] = language.split(",")[0]
    else:
        metadata["http_status"] = record.http_headers.get_statuscode()
    if encoding:
        metadata["encoding"] = encoding
    return RawRecord(
        source=f"{f.source}#{n}",
        path=f.path,
        format=fmt,
        data=payload,
        record_no=n,
        metadata={**metadata, **meta},
        encoding=encoding,
    )


def _warc_payload_format(record: ArcWarcRecord) -> str | None:
    if record.rec_type == "conversion":
        return "text"
    if record.rec_type != "response" or record.http_headers is None:
        return None
    content_type = record.http_headers.get_header("Content-Type") or ""
    mime = content_type.split(";", 1)[0].strip().lower()
    if mime in _HTML_TYPES:
        return "html"
    return "text" if mime == "text/plain" else None


def _warc_record_problem(record: ArcWarcRecord) -> ReadProblem | None:
    """What is wrong with the record's framing, read to its end.

    warcio returns short data without complaint when the file ends inside a record, so
    drain the record and look at what its length-limited reader still expected.
    """
    declared = record.rec_headers.get_header("Content-Length") or ""
    if not declared.strip().isdigit():
        return ReadProblem("MalformedWARC", "is not a valid WARC record (no valid Content-Length)")
    stream = record.raw_stream
    while stream.read(CHUNK_BYTES):
        pass
    if isinstance(stream, LimitReader) and stream.limit > 0:
        return ReadProblem("TruncatedWARC", "is cut off: the file ends inside it")
    return None
