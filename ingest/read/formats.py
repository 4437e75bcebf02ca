"""What format a file's content is in: by a specific extension, else sniffed.

The format is taken from a specific extension (.html, .md, .jsonl, .warc, ...) under
any compression suffix, and otherwise sniffed from the first 8 KiB of (decompressed)
content. Binary content (NUL bytes, many control codes, known binary signatures) has
no format: it is rejected.
"""

from __future__ import annotations

import codecs
import io
import json
import os
import re
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
}
_COMPRESSION_SUFFIXES = (".gz", ".bz2", ".zst")


# Binary formats whose first 8 KiB may hold no NUL byte (PDF starts with a text header).
_BINARY_SIGNATURES = (b"%PDF-", b"GIF87a", b"GIF89a", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"PK\x03\x04")
# C0 controls other than tab, newline, carriage return, form feed and escape: text has
# next to none, binary data about one byte in eight.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f\x7f]")
_MAX_CONTROL_SHARE = 0.1

_JSON_OBJECT_START = re.compile(r'\{\s*["}]')
_FRONT_MATTER_START = re.compile(r"---[ \t]*\r?\n[ \t]*[A-Za-z_][\w .-]*:")
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


def content_format(path: str, head: _Head) -> str | None:
    """text | html | markdown | jsonl | warc, or None for a binary file."""
    by_extension = _EXTENSION_FORMATS.get(_inner_extension(path))
    # Before the binary test: WARC payloads are often images.
    if by_extension == "warc" or head.raw.startswith(b"WARC/1."):
        return "warc"
    if _is_binary(head):
        return None
    return by_extension or _sniff_format(head)


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


def _sniff_format(head: _Head) -> str:
    text = head.text
    if not head.wide and _looks_like_jsonl(text, head.complete):
        return "jsonl"
    if _FRONT_MATTER_START.match(text):
        return "markdown"
    if _HTML_START.match(text):
        return "html"
    return "text"


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
