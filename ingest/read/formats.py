"""What format a file's content is in: by a specific extension, else sniffed.

The format is taken from a specific extension (.html, .md, .jsonl, .warc, .wet, .csv,
.tsv, .parquet, ...) under any compression suffix, and otherwise sniffed from the first
8 KiB of (decompressed) content. XML extensions (.xml, .rss, .atom, .rdf) name a
family: the root element tells a WordPress export (RSS with the wp: namespace) from a
feed (RSS, Atom, RSS 1.0 RDF) or a page. A table is sniffed by its header naming a
text column (`[read.table]`). Binary content (NUL bytes, many control codes, known
binary signatures) has no format: it is rejected, except Parquet, which is binary.
"""

from __future__ import annotations

import codecs
import io
import json
import os
import re
from collections.abc import Collection
from dataclasses import dataclass

SNIFF_BYTES = 8192


_EXTENSION_FORMATS = {
    ".html": "html",
    ".htm": "html",
    ".xhtml": "html",
    ".md": "markdown",
    ".markdown": "markdown",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json-lines": "jsonl",
    ".warc": "warc",
    ".wet": "warc",  # Common Crawl's extracted text: WARC conversion records
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
}
# The XML family: which member the root element says; a feed when it says nothing.
_XML_EXTENSIONS = {".xml": None, ".rss": "feed", ".atom": "feed", ".rdf": "feed"}
_PARQUET_MAGIC = b"PAR1"
_COMPRESSION_SUFFIXES = (".gz", ".bz2", ".zst")


# Binary formats whose first 8 KiB may hold no NUL byte (PDF starts with a text header).
_BINARY_SIGNATURES = (b"%PDF-", b"GIF87a", b"GIF89a", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"PK\x03\x04")
# C0 controls other than tab, newline, carriage return, form feed and escape: text has
# next to none, binary data about one byte in eight.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f\x7f]")
_MAX_CONTROL_SHARE = 0.1

_JSON_OBJECT_START = re.compile(r'\{\s*["}]')
# The root element of an XML document, after the declaration, comments, a doctype and
# processing instructions.
_XML_ROOT = re.compile(
    r"\s*(?:<\?xml[^>]*>\s*)?(?:(?:<!--.*?-->|<\?.*?\?>|<!DOCTYPE[^>\[]*(?:\[.*?\])?\s*>)\s*)*<([A-Za-z_][\w:.-]*)",
    re.DOTALL | re.IGNORECASE,
)
_WXR_NAMESPACE = re.compile(r"xmlns:wp\s*=\s*[\"']https?://wordpress\.org/export/")
_TABLE_DELIMITERS = ",\t;|"
# YAML's "---" or TOML's "+++" fence, then a first key (Jekyll, Hugo, Eleventy, Astro).
_FRONT_MATTER_START = re.compile(
    r"---[ \t]*\r?\n[ \t]*[A-Za-z_][\w .-]*:|\+\+\+[ \t]*\r?\n[ \t]*(?:[A-Za-z_\"][\w.\"-]*[ \t]*=|\[)"
)
_HTML_START = re.compile(
    r"\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*"
    r"<(?:!doctype\s+html|html|head|body|article|section|main|header|footer|nav|aside|div|p|"
    r"h[1-6]|ul|ol|li|table|blockquote|pre|figure|span|a|img|br|hr|title|meta|link|script|style)"
    r"[\s>/]",
    re.IGNORECASE | re.DOTALL,
)


@dataclass(frozen=True)
class _Head:
    raw: bytes  # the first SNIFF_BYTES of content
    text: str  # decoded by its BOM, else byte for byte (latin-1), for sniffing only
    wide: bool  # UTF-16/32 with a BOM: NUL bytes are part of the text
    complete: bool  # `raw` is the whole content


def sniff(stream: io.BufferedReader) -> _Head:
    """The first SNIFF_BYTES of content, left in the stream for the reader."""
    # peek fills the whole buffer (CHUNK_BYTES bytes; `_Bounded` reads short only at the end),
    # so getting no more than SNIFF_BYTES means that is all the content.
    peeked = stream.peek(SNIFF_BYTES)
    raw = peeked[:SNIFF_BYTES]
    complete = len(peeked) <= SNIFF_BYTES
    encoding = bom_codec(raw)
    text = raw.decode(encoding, "replace") if encoding else raw.decode("latin-1")
    return _Head(raw=raw, text=text, wide=encoding in ("utf-16", "utf-32"), complete=complete)


def content_format(path: str, head: _Head, text_columns: Collection[str] = ()) -> str | None:
    """text | html | markdown | jsonl | warc | wxr | feed | csv | tsv | parquet, or None
    for a binary file. `text_columns`: header names that make a sniffed table."""
    extension = _inner_extension(path)
    by_extension = _EXTENSION_FORMATS.get(extension)
    # Before the binary test: WARC payloads are often images, and Parquet is binary.
    if by_extension == "warc" or head.raw.startswith(b"WARC/1."):
        return "warc"
    if by_extension == "parquet" or head.raw.startswith(_PARQUET_MAGIC):
        return "parquet"
    if _is_binary(head):
        return None
    if extension in _XML_EXTENSIONS:
        return _xml_format(head.text) or _XML_EXTENSIONS[extension] or _sniff_format(head, text_columns)
    # Site generators (Hugo, Jekyll, Eleventy) take .html content files with front
    # matter: read like a Markdown post, whose reader takes HTML bodies.
    if by_extension == "html" and _FRONT_MATTER_START.match(head.text):
        return "markdown"
    return by_extension or _sniff_format(head, text_columns)


def _xml_format(text: str) -> str | None:
    """wxr or feed by the root element, else None."""
    match = _XML_ROOT.match(text)
    if not match:
        return None
    root = match.group(1).lower()
    if root == "rss":
        return "wxr" if _WXR_NAMESPACE.search(text) else "feed"
    if root == "feed" or (root == "rdf:rdf" and "purl.org/rss/1.0" in text):
        return "feed"
    return None


def _inner_extension(path: str) -> str:
    """The extension that names the format, under any compression suffix."""
    name = os.path.basename(path).lower()
    for suffix in _COMPRESSION_SUFFIXES:
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    return os.path.splitext(name)[1]


def _is_binary(head: _Head) -> bool:
    if head.raw.startswith(_BINARY_SIGNATURES) or "\x00" in head.text:
        return True
    return len(_CONTROL.findall(head.text)) > _MAX_CONTROL_SHARE * len(head.text)


def _sniff_format(head: _Head, text_columns: Collection[str]) -> str:
    text = head.text
    if not head.wide and _looks_like_jsonl(text, head.complete):
        return "jsonl"
    if _FRONT_MATTER_START.match(text):
        return "markdown"
    if fmt := _xml_format(text):
        return fmt
    if _HTML_START.match(text):
        return "html"
    if not head.wide and _looks_like_table(text, text_columns):
        return "csv"
    return "text"


def _looks_like_table(text: str, text_columns: Collection[str]) -> bool:
    """The first line is a header of two or more cells, one of them a text column's name."""
    header = text.lstrip("\ufeff").partition("\n")[0].strip()
    wanted = {name.casefold() for name in text_columns}
    for delimiter in _TABLE_DELIMITERS:
        cells = [cell.strip().strip('"').casefold() for cell in header.split(delimiter)]
        if len(cells) >= 2 and wanted.intersection(cells):
            return True
    return False


def _looks_like_jsonl(text: str, complete: bool) -> bool:
    """The first non-blank line is a JSON object (or starts like one and runs past the
    sniffed bytes: JSONL lines carrying whole articles are often longer)."""
    start = text.lstrip()
    if not _JSON_OBJECT_START.match(start):
        return False
    line, newline, _ = start.partition("\n")
    if not newline and not complete:
        return True
    try:
        return isinstance(json.loads(line), dict)
    except (ValueError, RecursionError):
        return False


# UTF-32 LE's BOM starts with UTF-16 LE's, so UTF-32 is tried first.
BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
    (codecs.BOM_UTF8, "utf-8-sig"),
)



def bom_codec(data: bytes) -> str | None:
    """The codec named by a byte order mark at the start of `data`, if there is one."""
    return next((codec for bom, codec in BOMS if data.startswith(bom)), None)
