"""Finding input files and reading them into records.

`discover` turns the command-line paths into a sorted list of `InputFile`s;
`read_records` turns one file into `RawRecord`s (text, HTML and Markdown files are one
record each, JSONL lines and WARC responses one record apiece) and, for every problem
with the input, a `Reject` instead of an exception.

Compression is recognised by its magic bytes and undone as a stream that fails as soon
as the output passes `read.max_file_bytes`, so a decompression bomb never sits in
memory.  The format is taken from a specific extension (.html, .md, .jsonl, .warc, ...)
and otherwise sniffed from the first 8 KiB of (decompressed) content.  Decoding text is
not done here: whole files stay bytes for `ingest/decode.py`.
"""

from __future__ import annotations

import bz2
import gzip
import io
import json
import os
import re
import stat
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from email.message import Message
from typing import IO, Any

import zstandard
from warcio.archiveiterator import ArchiveIterator
from warcio.limitreader import LimitReader
from warcio.recordloader import ArcWarcRecord

from ingest.config import ReadConfig
from ingest.decode import bom_codec
from ingest.document import RawRecord, Reject

SNIFF_BYTES = 8192
_CHUNK = 64 * 1024

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
# gzip with deflate; bz2 "BZh<level>" and then a block or end-of-stream marker; zstd frame.
_COMPRESSION_MAGIC = re.compile(rb"(\x1f\x8b\x08)|(BZh[1-9](?:1AY&SY|\x17rE8P\x90))|(\x28\xb5\x2f\xfd)")
_COMPRESSIONS = ("gzip", "bz2", "zstd")

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
_HTML_TYPES = ("text/html", "application/xhtml+xml")


@dataclass(frozen=True)
class InputFile:
    path: str  # filesystem path of the file
    source: str  # the name used in output (the argument, or argument/relative path)
    size: int  # bytes on disk


# --------------------------------------------------------------------------- discovery


def discover(paths: Sequence[str | InputFile], config: ReadConfig) -> list[InputFile]:
    """The files named by `paths` and the files under the directories among them.

    Sorted by source; a source reached twice is listed once.  Raises FileNotFoundError
    for a path that does not exist.  An `InputFile` among `paths` was discovered
    earlier (a scheduled run lists and hashes its inbox first) and is kept as it is:
    when it has gone since, reading it gives its reject.
    """
    found: dict[str, InputFile] = {}
    for arg in paths:
        if isinstance(arg, InputFile):
            found.setdefault(arg.source, arg)
            continue
        try:
            info = os.stat(arg)
        except (FileNotFoundError, NotADirectoryError):
            what = "is a broken symbolic link" if os.path.islink(arg) else "does not exist"
            raise FileNotFoundError(f"input path {arg!r} {what}") from None
        except OSError:
            info = None  # exists but cannot be inspected: reading it will report why
        if info is not None and stat.S_ISDIR(info.st_mode):
            for item in _walk(arg, config):
                found.setdefault(item.source, item)
        else:
            found.setdefault(arg, InputFile(arg, arg, info.st_size if info else 0))
    return sorted(found.values(), key=lambda item: item.source)


def _walk(top: str, config: ReadConfig) -> Iterator[InputFile]:
    def source_of(path: str) -> str:
        rel = os.path.relpath(path, top)
        return top if rel == os.curdir else os.path.join(top, rel)

    # A directory that cannot be listed is handed on as an input so that reading it
    # produces an "Unreadable" reject instead of its files vanishing silently.
    unlistable: list[str] = []
    seen_dirs: set[tuple[int, int]] = set()
    walk = os.walk(top, onerror=lambda exc: unlistable.append(exc.filename), followlinks=config.follow_symlinks)
    for dirpath, dirnames, filenames in walk:
        if config.follow_symlinks and not _first_visit(dirpath, seen_dirs):
            dirnames.clear()  # a symlink loop, or a directory reached twice
            continue
        dirnames[:] = [d for d in dirnames if _wanted(dirpath, d, config)]
        for name in filenames:
            path = os.path.join(dirpath, name)
            if not _wanted(dirpath, name, config):
                continue
            try:
                info = os.stat(path)
            except OSError:
                yield InputFile(path, source_of(path), 0)  # e.g. a dangling link
                continue
            # FIFOs, sockets and devices are listed too, so that each gets a reject
            # (reading refuses them without blocking) instead of vanishing silently.
            yield InputFile(path, source_of(path), info.st_size if stat.S_ISREG(info.st_mode) else 0)
    for path in unlistable:
        yield InputFile(path, source_of(path), 0)


def _wanted(dirpath: str, name: str, config: ReadConfig) -> bool:
    if config.skip_hidden and name.startswith("."):
        return False
    return config.follow_symlinks or not os.path.islink(os.path.join(dirpath, name))


def _first_visit(dirpath: str, seen: set[tuple[int, int]]) -> bool:
    try:
        info = os.stat(dirpath)
    except OSError:
        return True
    key = (info.st_dev, info.st_ino)
    if key in seen:
        return False
    seen.add(key)
    return True


# --------------------------------------------------------------------------- reading


class _Bad(Exception):
    """A problem that ends reading a file; becomes a Reject where it is caught."""

    def __init__(self, error: str, detail: str) -> None:
        super().__init__(detail)
        self.error = error
        self.detail = detail


@dataclass(frozen=True)
class _Head:
    raw: bytes  # the first SNIFF_BYTES of content
    text: str  # decoded by its BOM, else byte for byte (latin-1), for sniffing only
    wide: bool  # UTF-16/32 with a BOM: NUL bytes are part of the text
    complete: bool  # `raw` is the whole content


def read_records(f: InputFile, config: ReadConfig) -> Iterator[RawRecord | Reject]:
    """The records of one file; every problem with the input is yielded as a Reject."""
    try:
        fh = _open_regular(f.path)
    except _Bad as bad:
        yield _reject(f, bad.error, bad.detail)
        return
    with fh:
        try:
            stream, compression = _open_content(fh, config)
            head = _sniff(stream)
        except _Bad as bad:
            yield _reject(f, bad.error, bad.detail)
            return
        fmt = _content_format(f.path, head)
        if fmt is None:
            yield _reject(f, "BinaryFile", "binary file (not text, HTML, Markdown, JSONL or WARC)")
            return
        meta: dict[str, Any] = {"input_format": fmt}
        if compression:
            meta["compression"] = compression
        if fmt == "jsonl":
            yield from _read_jsonl(f, stream, meta, config)
        elif fmt == "warc":
            yield from _read_warc(f, stream, meta, config)
        else:
            yield _read_whole(f, stream, fmt, meta, config)


def _open_regular(path: str) -> io.BufferedReader:
    """`path` opened for reading, when it is a regular file.

    O_NONBLOCK keeps open() from waiting for a writer when the path is a FIFO (it
    changes nothing for a regular file, and is cleared before reading).
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise _Bad("Unreadable", f"cannot open the file ({exc.strerror or exc})") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise _Bad("NotAFile", f"not a regular file but {_file_kind(mode)}")
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def _file_kind(mode: int) -> str:
    kinds = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"),
             (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))
    return next((name for test, name in kinds if test(mode)), "a special file")


def _reject(f: InputFile, error: str, detail: str, record_no: int | None = None) -> Reject:
    source = f.source if record_no is None else f"{f.source}#{record_no}"
    reason = re.sub(r"\s*[\r\n]+\s*", " ", f"{source}: {detail}")
    return Reject(source=source, reason=reason, error=error, path=f.path, record_no=record_no)


def _describe(exc: BaseException) -> str:
    """An exception as a short phrase for a reason."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:200] + "..."


# --------------------------------------------------------------------------- content stream


def _open_content(fh: io.BufferedReader, config: ReadConfig) -> tuple[io.BufferedReader, str | None]:
    """The file's (decompressed) content as a stream bounded by read.max_file_bytes."""
    try:
        size = os.fstat(fh.fileno()).st_size
        compression = _compression(fh.peek(16)[:16])
    except OSError as exc:
        raise _Bad("Unreadable", f"cannot read the file ({exc.strerror or exc})") from None
    if compression is None and size > config.max_file_bytes:
        raise _Bad("TooLarge", f"the file is {size} bytes, more than read.max_file_bytes ({config.max_file_bytes})")
    inner = _decompressor(fh, compression)
    return io.BufferedReader(_Bounded(inner, config.max_file_bytes, compression), _CHUNK), compression


def _compression(magic: bytes) -> str | None:
    match = _COMPRESSION_MAGIC.match(magic)
    return _COMPRESSIONS[match.lastindex - 1] if match and match.lastindex else None


def _decompressor(fh: io.BufferedReader, compression: str | None) -> Any:
    if compression == "gzip":
        return gzip.GzipFile(fileobj=fh, mode="rb")
    if compression == "bz2":
        return bz2.BZ2File(fh)
    if compression == "zstd":
        return _ZstdReader(fh)
    return fh


class _Bounded(io.RawIOBase):
    """Content read from `inner`, failing with `_Bad` once it passes `limit` bytes or
    when the decompressor or the disk fails.

    The bytes before a failure are handed out first and the failure raised on the next
    read, so that the records before a truncation are still read.
    """

    def __init__(self, inner: Any, limit: int, compression: str | None) -> None:
        self._inner = inner
        self._limit = limit
        self._compression = compression
        self._taken = 0
        self._failure: _Bad | None = None

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._taken

    def readinto(self, buffer: Any) -> int:
        if self._failure:
            raise self._failure
        # Fill the whole buffer, short only at the end of the content: `_sniff` relies on it.
        view = memoryview(buffer).cast("B")
        filled = 0
        while filled < len(view):
            try:
                data = self._take(len(view) - filled)
            except _Bad as bad:
                if not filled:
                    raise
                self._failure = bad
                break
            if not data:
                break
            view[filled : filled + len(data)] = data
            filled += len(data)
        return filled

    def _take(self, size: int) -> bytes:
        # At most one byte past the limit: enough to know it was passed.  read1 returns
        # what one step of decompression gives, so the data before a failure comes out.
        want = min(size, self._limit - self._taken + 1)
        try:
            data = self._inner.read1(want)
        except EOFError:
            raise _Bad("TruncatedCompression", f"the {self._compression} data ends early (truncated file)") from None
        except OSError as exc:
            # Decompressors raise OSError without errno for bad data (BadGzipFile, bz2).
            if exc.errno is None and self._compression:
                raise self._corrupt(exc) from None
            raise _Bad("Unreadable", f"cannot read the file ({exc.strerror or exc})") from None
        except (zlib.error, zstandard.ZstdError) as exc:
            raise self._corrupt(exc) from None
        self._taken += len(data)
        if self._taken > self._limit:
            raise self._too_large()
        return data

    def _corrupt(self, exc: Exception) -> _Bad:
        return _Bad("CorruptCompression", f"the {self._compression} data is corrupt ({_describe(exc)})")

    def _too_large(self) -> _Bad:
        if self._compression:
            return _Bad(
                "DecompressionBomb",
                f"the {self._compression} data decompresses to more than read.max_file_bytes ({self._limit} bytes)",
            )
        return _Bad("TooLarge", f"the file is larger than read.max_file_bytes ({self._limit} bytes)")


class _ZstdReader:
    """Concatenated zstd frames; raises EOFError when the input ends inside a frame.

    zstandard's stream_reader ends silently at a truncated frame, so each frame gets its
    own decompressobj, whose `eof` tells whether the frame was complete.
    """

    # A zstd block of up to 128 KiB can be encoded in 4 bytes: feeding 64 bytes at a
    # time keeps one burst of output to about 2 MiB, whatever the compression ratio.
    _FEED = 64

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self._dctx = zstandard.ZstdDecompressor()
        self._frame: Any = None  # the decompressobj of the frame being read
        self._input = memoryview(b"")
        self._pos = 0
        self._output = memoryview(b"")

    def read1(self, size: int) -> bytes:
        while not self._output:
            if not self._decompress_some():
                return b""
        data, self._output = self._output[:size], self._output[size:]
        return bytes(data)

    def _decompress_some(self) -> bool:
        """Feed the next piece of input; False at a clean end of input."""
        if self._pos == len(self._input):
            self._input, self._pos = memoryview(self._raw.read(_CHUNK)), 0
            if not self._input:
                if self._frame is not None:
                    raise EOFError("zstd frame incomplete")
                return False
        if self._frame is None:
            self._frame = self._dctx.decompressobj()
        piece = self._input[self._pos : self._pos + self._FEED]
        self._pos += len(piece)
        self._output = memoryview(self._frame.decompress(piece))
        if self._frame.eof:
            self._pos -= len(self._frame.unused_data)  # it starts the next frame
            self._frame = None
        return True


# --------------------------------------------------------------------------- format


def _sniff(stream: io.BufferedReader) -> _Head:
    """The first SNIFF_BYTES of content, left in the stream for the reader."""
    # peek fills the whole buffer (_CHUNK bytes; `_Bounded` reads short only at the end),
    # so getting no more than SNIFF_BYTES means that is all the content.
    peeked = stream.peek(SNIFF_BYTES)
    raw = peeked[:SNIFF_BYTES]
    complete = len(peeked) <= SNIFF_BYTES
    encoding = bom_codec(raw)
    text = raw.decode(encoding, "replace") if encoding else raw.decode("latin-1")
    return _Head(raw=raw, text=text, wide=encoding in ("utf-16", "utf-32"), complete=complete)


def _content_format(path: str, head: _Head) -> str | None:
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


def _is_blank(data: bytes) -> bool:
    encoding = bom_codec(data)
    return not (data.decode(encoding, "replace") if encoding else data).strip()


# --------------------------------------------------------------------------- whole files


def _read_whole(
    f: InputFile, stream: io.BufferedReader, fmt: str, meta: dict[str, Any], config: ReadConfig
) -> RawRecord | Reject:
    limit = config.max_record_bytes
    try:
        data = stream.read(limit + 1)
    except _Bad as bad:
        return _reject(f, bad.error, bad.detail)
    if len(data) > limit:
        return _reject(f, "TooLarge", f"the content is larger than read.max_record_bytes ({limit} bytes)")
    if _is_blank(data):
        return _reject(f, "EmptyFile", "empty file" if not data else "the file holds only whitespace")
    return RawRecord(source=f.source, path=f.path, format=fmt, data=data, metadata=meta)


# --------------------------------------------------------------------------- JSONL


def _read_jsonl(
    f: InputFile, stream: io.BufferedReader, meta: dict[str, Any], config: ReadConfig
) -> Iterator[RawRecord | Reject]:
    limit = config.max_record_bytes
    n = 0
    has_content = False
    while True:
        n += 1
        try:
            line = stream.readline(limit + 1)
            too_long = len(line) > limit and not line.endswith(b"\n")
            if too_long:
                _skip_rest_of_line(stream)
        except _Bad as bad:
            yield _reject(f, bad.error, f"reading stopped at line {n}: {bad.detail}", n)
            return
        if not line:
            break
        if too_long:
            has_content = True
            yield _reject(f, "TooLarge", f"line {n} is longer than read.max_record_bytes ({limit} bytes)", n)
        elif line.strip():
            has_content = True
            yield _jsonl_record(f, n, line, meta)
    if not has_content:
        yield _reject(f, "EmptyFile", "the file holds no JSON lines")


def _skip_rest_of_line(stream: io.BufferedReader) -> None:
    while chunk := stream.readline(_CHUNK):
        if chunk.endswith(b"\n"):
            return


def _jsonl_record(f: InputFile, n: int, line: bytes, meta: dict[str, Any]) -> RawRecord | Reject:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        return _reject(f, "MalformedJSON", f"line {n} is not valid JSON ({exc.msg} at column {exc.colno})", n)
    except UnicodeDecodeError as exc:
        return _reject(f, "MalformedJSON", f"line {n} is not valid UTF-8 ({exc.reason} at byte {exc.start + 1})", n)
    except (ValueError, RecursionError) as exc:  # e.g. a huge integer, deep nesting
        return _reject(f, "MalformedJSON", f"line {n} is not valid JSON ({_describe(exc)})", n)
    if not isinstance(obj, dict):
        return _reject(f, "MalformedJSON", f"line {n} is a JSON {_json_type(obj)}, not an object", n)
    body = _body_field(obj)
    if body is None:
        if isinstance(obj.get("text"), str) or isinstance(obj.get("html"), str):
            return _reject(f, "EmptyRecord", f'line {n} has an empty "text"/"html" field', n)
        return _reject(f, "MissingText", f'line {n} has no string "text" or "html" field', n)
    metadata = {key: value for key, value in obj.items() if key != body}
    return RawRecord(
        source=f"{f.source}#{n}",
        path=f.path,
        format=body,
        data=obj[body],
        record_no=n,
        metadata={**metadata, **meta},
    )


def _body_field(obj: dict[str, Any]) -> str | None:
    """ "text" when it holds text, else "html" when that does."""
    for key in ("text", "html"):
        value = obj.get(key)
        if isinstance(value, str) and value.strip():
            return key
    return None


def _json_type(value: Any) -> str:
    names = {list: "array", str: "string", bool: "boolean", int: "number", float: "number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


# --------------------------------------------------------------------------- WARC


def _read_warc(
    f: InputFile, stream: io.BufferedReader, meta: dict[str, Any], config: ReadConfig
) -> Iterator[RawRecord | Reject]:
    """Response records with an HTML or plain-text payload; other records are skipped.

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
        except _Bad as bad:
            yield _reject(f, bad.error, f"reading stopped at record {n}: {bad.detail}", n)
            return
        except Exception as exc:  # warcio fails with assorted exception types on bad input
            yield _reject(f, "MalformedWARC", f"record {n} is not a valid WARC record ({_describe(exc)})", n)
            return
        if problem:
            yield _reject(f, problem.error, f"record {n} {problem.detail}", n)
            return
        if item is not None:
            yield item
    # warcio also stops silently when the file ends inside a record header: then bytes
    # remain after the end of the last record it returned.
    if records.offset < stream.tell():
        yield _reject(f, "TruncatedWARC", f"record {n} is cut off: the file ends inside its header", n)
    elif n == 1:
        yield _reject(f, "EmptyFile", "the file holds no WARC records")


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
        return _reject(f, "TooLarge", f"record {n} has a payload larger than read.max_record_bytes ({limit} bytes)", n)
    if not payload.strip():
        return _reject(f, "EmptyRecord", f"record {n} has an empty HTTP payload", n)
    content_type = record.http_headers.get_header("Content-Type")
    header = Message()
    header["Content-Type"] = content_type
    encoding = header.get_content_charset()
    metadata: dict[str, Any] = {
        "url": record.rec_headers.get_header("WARC-Target-URI"),
        "warc_date": record.rec_headers.get_header("WARC-Date"),
        "warc_record_id": record.rec_headers.get_header("WARC-Record-ID"),
        "content_type": content_type,
        "http_status": record.http_headers.get_statuscode(),
    }
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
    if record.rec_type != "response" or record.http_headers is None:
        return None
    content_type = record.http_headers.get_header("Content-Type") or ""
    mime = content_type.split(";", 1)[0].strip().lower()
    if mime in _HTML_TYPES:
        return "html"
    return "text" if mime == "text/plain" else None


def _warc_record_problem(record: ArcWarcRecord) -> _Bad | None:
    """What is wrong with the record's framing, read to its end.

    warcio returns short data without complaint when the file ends inside a record, so
    drain the record and look at what its length-limited reader still expected.
    """
    declared = record.rec_headers.get_header("Content-Length") or ""
    if not declared.strip().isdigit():
        return _Bad("MalformedWARC", "is not a valid WARC record (no valid Content-Length)")
    stream = record.raw_stream
    while stream.read(_CHUNK):
        pass
    if isinstance(stream, LimitReader) and stream.limit > 0:
        return _Bad("TruncatedWARC", "is cut off: the file ends inside it")
    return None
