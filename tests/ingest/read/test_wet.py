"""Tests for ingest/read/warc.py on Common Crawl WET files: conversion records are documents."""

from __future__ import annotations

import io
from pathlib import Path

from warcio.warcwriter import WARCWriter

from ingest.config import load_config
from ingest.document import RawRecord, Reject
from ingest.read.files import InputFile
from ingest.read.records import read_records


def wet_bytes(*texts: tuple[str, str], gzip: bool = True) -> bytes:
    """A WET file as Common Crawl writes it: a warcinfo record, then conversion records."""
    buf = io.BytesIO()
    writer = WARCWriter(buf, gzip=gzip)
    writer.write_record(writer.create_warcinfo_record("CC-MAIN-x.warc.wet.gz", {"software": "test"}))
    for url, text in texts:
        record = writer.create_warc_record(url, "conversion", payload=io.BytesIO(text.encode()),
                                           warc_headers_dict={"Content-Type": "text/plain",
                                                              "WARC-Refers-To": "<urn:uuid:1>",
                                                              "WARC-Identified-Content-Language": "eng,fra"})
        writer.write_record(record)
    return buf.getvalue()


def read(path: Path, data: bytes) -> list:
    path.write_bytes(data)
    return list(read_records(InputFile(str(path), path.name, path.stat().st_size), load_config().read))


def test_conversion_records_are_text_documents(tmp_path: Path) -> None:
    first, empty, second = read(tmp_path / "CC-MAIN-x.warc.wet.gz", wet_bytes(
        ("https://a.example/", "Grüße from page A.\nSecond line."), ("https://b.example/", "  \n"),
        ("https://c.example/", "Page C.")))
    assert isinstance(first, RawRecord)
    assert (first.source, first.record_no, first.format, first.encoding) == ("CC-MAIN-x.warc.wet.gz#2", 2, "text", "utf-8")
    assert first.data == "Grüße from page A.\nSecond line.".encode()
    assert (first.metadata["url"], first.metadata["language"], first.metadata["warc_refers_to"]) == (
        "https://a.example/", "eng", "<urn:uuid:1>")
    assert isinstance(empty, Reject) and (empty.error, empty.reason) == (
        "EmptyRecord", "CC-MAIN-x.warc.wet.gz#3: record 3 has an empty text")
    assert second.data == b"Page C."


def test_a_wet_file_cut_short_keeps_the_records_before(tmp_path: Path) -> None:
    data = wet_bytes(("https://a.example/", "Page A."), ("https://b.example/", "Page B. " * 200), gzip=False)
    items = read(tmp_path / "x.wet", data[:-300])  # inside the last record's text
    assert [i.data for i in items if isinstance(i, RawRecord)] == [b"Page A."]
    assert isinstance(items[-1], Reject) and items[-1].record_no == 3
