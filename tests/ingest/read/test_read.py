"""Tests for ingest/read.py: discovery, format detection, compression, and rejects."""

from __future__ import annotations

import bz2
import codecs
import gzip
import json
import os
from pathlib import Path

import pytest
import zstandard

from ingest.config import ReadConfig
from ingest.document import RawRecord, Reject
from ingest.read.files import InputFile, discover
from ingest.read.records import read_records
from tests.samples import warc_bytes

CONFIG = ReadConfig()
HTML = b"<!DOCTYPE html>\n<html><head><title>T</title></head><body><p>Hello.</p></body></html>\n"
MARKDOWN = b"---\ntitle: A post\ndate: 2024-04-14\n---\n\n# Heading\n\nSome *text*.\n"
TEXT = b"Plain words on a line.\nAnd another line.\n"


def crawl_warc(*, gzip_records: bool = False) -> bytes:
    """warcinfo, response (HTML), request, response (HTML), response (image)."""
    return warc_bytes([
        ("response", "https://example.com/a", b"<html><body><p>Page A</p></body></html>", "text/html; charset=ISO-8859-1"),
        ("request", "https://example.com/a"),
        ("response", "https://example.com/b", b"<html><body><p>Page B</p></body></html>", "text/html"),
        ("response", "https://example.com/logo.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image/png"),
    ], gzip_records=gzip_records, warcinfo=True)


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def read_path(path: Path, config: ReadConfig = CONFIG) -> list[RawRecord | Reject]:
    f = InputFile(path=str(path), source=path.name, size=path.stat().st_size)
    return list(read_records(f, config))


def only(items: list[RawRecord | Reject]) -> RawRecord | Reject:
    assert len(items) == 1, items
    return items[0]


def jsonl(*lines: object) -> bytes:
    return b"".join((line if isinstance(line, bytes) else json.dumps(line).encode()) + b"\n" for line in lines)



# --------------------------------------------------------------------------- discovery


def test_discover_walks_directories_recursively_sorted_and_skips_hidden(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "data"
    write(root / "b.txt", TEXT)
    write(root / "a" / "z.html", HTML)
    write(root / "a" / "deep" / "c.md", MARKDOWN)
    write(root / ".hidden.txt", TEXT)
    write(root / ".git" / "config.txt", TEXT)
    single = write(tmp_path / "single.txt", TEXT)
    monkeypatch.chdir(tmp_path)

    found = discover(["data", "single.txt"], CONFIG)

    assert [f.source for f in found] == [
        "data/a/deep/c.md",
        "data/a/z.html",
        "data/b.txt",
        "single.txt",
    ]
    assert found[1].path == os.path.join("data", "a", "z.html")
    assert found[1].size == len(HTML)
    assert found[3] == InputFile(path="single.txt", source="single.txt", size=single.stat().st_size)


def test_discover_keeps_hidden_files_when_configured_and_named_explicitly(tmp_path: Path) -> None:
    write(tmp_path / "d" / ".h.txt", TEXT)
    hidden_arg = write(tmp_path / ".given.txt", TEXT)

    assert [f.source for f in discover([str(hidden_arg)], CONFIG)] == [str(hidden_arg)]
    shown = discover([str(tmp_path / "d")], ReadConfig(skip_hidden=False))
    assert [f.source for f in shown] == [os.path.join(str(tmp_path / "d"), ".h.txt")]
    assert discover([str(tmp_path / "d")], CONFIG) == []


def test_discover_follows_symlinks_only_when_configured(tmp_path: Path) -> None:
    target = write(tmp_path / "elsewhere" / "t.txt", TEXT)
    root = tmp_path / "root"
    write(root / "real.txt", TEXT)
    (root / "link.txt").symlink_to(target)
    (root / "linkdir").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    (root / "loop").symlink_to(root, target_is_directory=True)

    plain = discover([str(root)], CONFIG)
    assert [os.path.basename(f.source) for f in plain] == ["real.txt"]

    followed = discover([str(root)], ReadConfig(follow_symlinks=True))
    rel = sorted(os.path.relpath(f.source, root) for f in followed)
    assert rel == ["link.txt", os.path.join("linkdir", "t.txt"), "real.txt"]


def test_discover_missing_path_raises_with_the_path(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope")
    with pytest.raises(FileNotFoundError, match="nope.*does not exist"):
        discover([missing], CONFIG)


# --------------------------------------------------------------------------- formats


@pytest.mark.parametrize(
    ("name", "data", "fmt"),
    [
        ("a.txt", TEXT, "text"),
        ("a.html", b"<div>just a div</div>", "html"),
        ("a.htm", HTML, "html"),
        ("a.xhtml", HTML, "html"),
        ("a.md", b"# Title\n\nNo front matter.\n", "markdown"),
        ("a.markdown", MARKDOWN, "markdown"),
    ],
)
def test_whole_file_formats_by_extension(tmp_path: Path, name: str, data: bytes, fmt: str) -> None:
    record = only(read_path(write(tmp_path / name, data)))
    assert isinstance(record, RawRecord)
    assert (record.format, record.data, record.source, record.record_no) == (fmt, data, name, None)
    assert record.metadata == {"input_format": fmt}


@pytest.mark.parametrize(
    ("data", "fmt"),
    [
        (TEXT, "text"),
        (HTML, "html"),
        (b"\xef\xbb\xbf  \n<!doctype HTML><title>x</title>", "html"),
        (b"<p>A fragment of a page.</p>\n<p>Second.</p>", "html"),
        (b"<?xml version='1.0'?>\n<!-- c -->\n<html xmlns='http://www.w3.org/1999/xhtml'></html>", "html"),
        (MARKDOWN, "markdown"),
        (b"<3 is not a tag, just text\n", "text"),
        (b"--- not front matter\nplain\n", "text"),
    ],
)
def test_whole_file_formats_sniffed_without_extension(tmp_path: Path, data: bytes, fmt: str) -> None:
    record = only(read_path(write(tmp_path / "noext", data)))
    assert isinstance(record, RawRecord)
    assert (record.format, record.data) == (fmt, data)


def test_content_wins_over_generic_extension(tmp_path: Path) -> None:
    record = only(read_path(write(tmp_path / "page.txt", HTML)))
    assert isinstance(record, RawRecord) and record.format == "html"
    rows = read_path(write(tmp_path / "rows.dat", jsonl({"text": "one"}, {"text": "two"})))
    assert [r.data for r in rows] == ["one", "two"]


def test_utf16_with_bom_is_text_not_binary(tmp_path: Path) -> None:
    data = codecs.BOM_UTF16_LE + "Grüße aus Köln.\nZweite Zeile.\n".encode("utf-16-le")
    record = only(read_path(write(tmp_path / "u16", data)))
    assert isinstance(record, RawRecord)
    assert (record.format, record.data) == ("text", data)
    html32 = codecs.BOM_UTF32_BE + "<html><body>x</body></html>".encode("utf-32-be")
    record = only(read_path(write(tmp_path / "u32", html32)))
    assert isinstance(record, RawRecord) and record.format == "html"


# --------------------------------------------------------------------------- JSONL


def test_jsonl_good_lines_survive_a_malformed_one(tmp_path: Path) -> None:
    data = jsonl(
        {"text": "first", "url": "https://e.com/1", "tags": ["a", {"b": 1}]},
        b'{"text": "broken" "url": 1}',
        b"",
        b"   ",
        {"text": "third", "title": "T"},
    )
    items = read_path(write(tmp_path / "feed.jsonl", data))

    assert [type(i).__name__ for i in items] == ["RawRecord", "Reject", "RawRecord"]
    first, bad, third = items
    assert (first.source, first.record_no, first.format, first.data) == ("feed.jsonl#1", 1, "text", "first")
    assert first.metadata == {"url": "https://e.com/1", "tags": ["a", {"b": 1}], "input_format": "jsonl"}
    assert (third.source, third.record_no, third.data) == ("feed.jsonl#5", 5, "third")
    assert bad == Reject(
        source="feed.jsonl#2",
        reason="feed.jsonl#2: line 2 is not valid JSON (Expecting ',' delimiter at column 19)",
        error="MalformedJSON",
        path=str(tmp_path / "feed.jsonl"),
        record_no=2,
    )


def test_jsonl_html_field_missing_text_and_non_objects(tmp_path: Path) -> None:
    data = jsonl(
        {"html": "<p>Hi</p>", "id": 7},
        {"text": "", "html": "<p>fallback</p>"},
        {"title": "no body"},
        {"text": 42},
        {"text": "  "},
        [1, 2],
        b'{"text": "caf\xe9"}',
    )
    items = read_path(write(tmp_path / "x.ndjson", data))

    html = items[0]
    assert isinstance(html, RawRecord)
    assert (html.format, html.data, html.metadata) == ("html", "<p>Hi</p>", {"id": 7, "input_format": "jsonl"})
    assert isinstance(items[1], RawRecord) and (items[1].format, items[1].metadata["text"]) == ("html", "")
    assert [(r.error, r.reason) for r in items[2:]] == [
        ("MissingText", 'x.ndjson#3: line 3 has no string "text" or "html" field'),
        ("MissingText", 'x.ndjson#4: line 4 has no string "text" or "html" field'),
        ("EmptyRecord", 'x.ndjson#5: line 5 has an empty "text" field'),
        ("MalformedJSON", "x.ndjson#6: line 6 is a JSON array, not an object"),
        ("MalformedJSON", "x.ndjson#7: line 7 is not valid UTF-8 (invalid continuation byte at byte 14)"),
    ]


def test_jsonl_line_longer_than_max_record_bytes_is_rejected_alone(tmp_path: Path) -> None:
    data = jsonl({"text": "short"}, {"text": "x" * 500}, {"text": "after"})
    items = read_path(write(tmp_path / "f.jsonl", data), ReadConfig(max_record_bytes=100))
    assert [getattr(i, "data", None) for i in items] == ["short", None, "after"]
    assert (items[1].error, items[1].source) == ("TooLarge", "f.jsonl#2")
    assert "line 2 is longer than read.max_record_bytes (100 bytes)" in items[1].reason


def test_jsonl_with_only_blank_lines_is_empty(tmp_path: Path) -> None:
    reject = only(read_path(write(tmp_path / "e.jsonl", b"\n  \n\n")))
    assert isinstance(reject, Reject) and (reject.error, reject.source) == ("EmptyFile", "e.jsonl")


# --------------------------------------------------------------------------- WARC


@pytest.mark.parametrize(("name", "gzip_records"), [("crawl.warc", False), ("crawl.warc.gz", True), ("crawl", False)])
def test_warc_html_responses_become_records(tmp_path: Path, name: str, gzip_records: bool) -> None:
    items = read_path(write(tmp_path / name, crawl_warc(gzip_records=gzip_records)))

    assert all(isinstance(i, RawRecord) for i in items)
    assert [(i.source, i.record_no, i.format) for i in items] == [(f"{name}#2", 2, "html"), (f"{name}#4", 4, "html")]
    a, b = items
    assert a.data == b"<html><body><p>Page A</p></body></html>"
    assert a.encoding == "iso-8859-1" and b.encoding is None
    assert a.metadata["url"] == "https://example.com/a"
    assert a.metadata["content_type"] == "text/html; charset=ISO-8859-1"
    assert a.metadata["encoding"] == "iso-8859-1" and "encoding" not in b.metadata
    assert a.metadata["warc_record_id"].startswith("<urn:uuid:")
    assert a.metadata["warc_date"][:2] == "20" and a.metadata["http_status"] == "200"
    assert a.metadata["input_format"] == "warc"
    assert a.metadata.get("compression") == ("gzip" if gzip_records else None)


def test_truncated_warc_keeps_earlier_records_and_rejects_the_cut_one(tmp_path: Path) -> None:
    data = crawl_warc()
    cut = data.index(b"Page B") + 2  # inside the payload of record 4
    items = read_path(write(tmp_path / "cut.warc", data[:cut]))

    assert [i.source for i in items] == ["cut.warc#2", "cut.warc#4"]
    assert isinstance(items[0], RawRecord)
    assert isinstance(items[1], Reject) and items[1].error == "TruncatedWARC"
    assert items[1].reason == "cut.warc#4: record 4 is cut off: the file ends inside it"


def test_warc_cut_inside_a_record_header_is_rejected(tmp_path: Path) -> None:
    data = crawl_warc()
    fourth = data.index(b"WARC/1.", data.index(b"GET /a"))
    cut = data.index(b"WARC-Date", fourth) + 5
    items = read_path(write(tmp_path / "cut.warc", data[:cut]))
    assert [(i.source, getattr(i, "error", None)) for i in items] == [
        ("cut.warc#2", None),
        ("cut.warc#4", "TruncatedWARC"),
    ]
    assert items[1].reason == "cut.warc#4: record 4 is cut off: the file ends inside its header"


def test_not_a_warc_despite_extension(tmp_path: Path) -> None:
    reject = only(read_path(write(tmp_path / "x.warc", b"hello world\n\nmore\n")))
    assert isinstance(reject, Reject)
    assert (reject.error, reject.source) == ("MalformedWARC", "x.warc#1")
    assert reject.reason.startswith("x.warc#1: record 1 is not a valid WARC record (")


# --------------------------------------------------------------------------- compression


def zstd_compress(data: bytes) -> bytes:
    return zstandard.ZstdCompressor().compress(data)


@pytest.mark.parametrize(
    ("suffix", "compress", "name"),
    [(".gz", gzip.compress, "gzip"), (".bz2", bz2.compress, "bz2"), (".zst", zstd_compress, "zstd")],
)
def test_compressed_files_by_extension_and_by_magic(tmp_path: Path, suffix: str, compress, name: str) -> None:
    feed = read_path(write(tmp_path / f"feed.jsonl{suffix}", compress(jsonl({"text": "a"}, {"text": "b"}))))
    assert [(r.data, r.metadata) for r in feed] == [
        ("a", {"input_format": "jsonl", "compression": name}),
        ("b", {"input_format": "jsonl", "compression": name}),
    ]
    page = only(read_path(write(tmp_path / "blob", compress(HTML))))
    assert isinstance(page, RawRecord)
    assert (page.format, page.data, page.metadata) == ("html", HTML, {"input_format": "html", "compression": name})


def test_zstd_multiple_frames_are_all_read(tmp_path: Path) -> None:
    data = zstd_compress(jsonl({"text": "one"})) + zstd_compress(jsonl({"text": "two"}))
    assert [r.data for r in read_path(write(tmp_path / "two.jsonl.zst", data))] == ["one", "two"]


@pytest.mark.parametrize(
    ("suffix", "compress", "name"),
    [(".gz", gzip.compress, "gzip"), (".bz2", bz2.compress, "bz2"), (".zst", zstd_compress, "zstd")],
)
def test_truncated_compressed_file(tmp_path: Path, suffix: str, compress, name: str) -> None:
    data = compress(TEXT * 50)
    reject = only(read_path(write(tmp_path / f"t.txt{suffix}", data[: len(data) - 12])))
    assert isinstance(reject, Reject)
    assert (reject.error, reject.source) == ("TruncatedCompression", f"t.txt{suffix}")
    assert reject.reason == f"t.txt{suffix}: the {name} data ends early (truncated file)"


def test_truncated_gzip_jsonl_keeps_the_lines_before_the_cut(tmp_path: Path) -> None:
    lines = [{"text": f"line {i} " + "pad " * 30} for i in range(200)]
    data = gzip.compress(jsonl(*lines))
    items = read_path(write(tmp_path / "f.jsonl.gz", data[: len(data) // 2]))
    records, rejects = items[:-1], items[-1]
    assert records and all(isinstance(r, RawRecord) for r in records)
    assert [r.record_no for r in records] == list(range(1, len(records) + 1))
    assert isinstance(rejects, Reject) and rejects.error == "TruncatedCompression"
    assert rejects.record_no == len(records) + 1
    assert f"reading stopped at line {len(records) + 1}" in rejects.reason


def test_corrupt_gzip(tmp_path: Path) -> None:
    data = bytearray(gzip.compress(TEXT * 50))
    data[20:30] = b"\xff" * 10
    reject = only(read_path(write(tmp_path / "c.gz", bytes(data))))
    assert isinstance(reject, Reject) and reject.error == "CorruptCompression"
    assert reject.reason.startswith("c.gz: the gzip data is corrupt (")


@pytest.mark.parametrize(("compress", "name"), [(gzip.compress, "gzip"), (zstd_compress, "zstd")])
def test_decompression_bomb_is_rejected(tmp_path: Path, compress, name: str) -> None:
    bomb = compress(b"a" * 2_000_000)
    assert len(bomb) < 10_000
    reject = only(read_path(write(tmp_path / "bomb.txt.x", bomb), ReadConfig(max_file_bytes=50_000)))
    assert isinstance(reject, Reject)
    assert reject.error == "DecompressionBomb"
    assert reject.reason == f"bomb.txt.x: the {name} data decompresses to more than read.max_file_bytes (50000 bytes)"


# --------------------------------------------------------------------------- rejects


def test_binary_files_are_rejected(tmp_path: Path) -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))
    nul = b"text\x00with a NUL"
    pdf = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"
    controls = bytes([1, 2, 3, 4, 5, 6, 7, 65]) * 100
    for name, data in [("x.bin", png), ("y.txt", nul), ("z.pdf", pdf), ("c.html", controls)]:
        reject = only(read_path(write(tmp_path / name, data)))
        assert isinstance(reject, Reject)
        assert (reject.error, reject.reason) == (
            "BinaryFile",
            f"{name}: binary file (not text, HTML, Markdown, JSONL, WARC or Parquet)",
        )


def test_latin1_text_with_high_bytes_is_not_binary(tmp_path: Path) -> None:
    data = "Ça coûte 5 € – «très» cher…\n".encode("cp1252") * 20
    record = only(read_path(write(tmp_path / "legacy", data)))
    assert isinstance(record, RawRecord) and record.format == "text"


@pytest.mark.parametrize("data", [b"", b"  \n\t\r\n", codecs.BOM_UTF16_LE + " \n".encode("utf-16-le")])
def test_empty_files_are_rejected(tmp_path: Path, data: bytes) -> None:
    reject = only(read_path(write(tmp_path / "e.txt", data)))
    assert isinstance(reject, Reject) and (reject.error, reject.source) == ("EmptyFile", "e.txt")


def test_empty_warc_is_rejected(tmp_path: Path) -> None:
    reject = only(read_path(write(tmp_path / "e.warc", b"")))
    assert isinstance(reject, Reject) and reject.error == "EmptyFile"


def test_file_deleted_after_discovery_is_unreadable(tmp_path: Path) -> None:
    path = write(tmp_path / "gone.txt", TEXT)
    (found,) = discover([str(path)], CONFIG)
    path.unlink()
    reject = only(list(read_records(found, CONFIG)))
    assert isinstance(reject, Reject)
    assert reject.error == "Unreadable"
    assert reject.reason == f"{found.source}: cannot open the file (No such file or directory)"


def test_whole_file_larger_than_max_record_bytes(tmp_path: Path) -> None:
    reject = only(read_path(write(tmp_path / "big.txt", b"word " * 100), ReadConfig(max_record_bytes=100)))
    assert isinstance(reject, Reject)
    assert (reject.error, reject.reason) == (
        "TooLarge",
        "big.txt: the content is larger than read.max_record_bytes (100 bytes)",
    )


def test_uncompressed_file_larger_than_max_file_bytes(tmp_path: Path) -> None:
    data = jsonl(*[{"text": "x" * 50}] * 10)
    reject = only(read_path(write(tmp_path / "big.jsonl", data), ReadConfig(max_file_bytes=100)))
    assert isinstance(reject, Reject)
    assert (reject.error, reject.reason) == (
        "TooLarge",
        f"big.jsonl: the file is {len(data)} bytes, more than read.max_file_bytes (100)",
    )
