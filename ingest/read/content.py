"""A file's content as a bounded stream: opened safely, decompressed, size-limited.

Compression is recognised by its magic bytes (gzip, bz2, zstd) and undone as a stream
that fails as soon as the output passes `read.max_file_bytes`, so a decompression bomb
never sits in memory. A truncated or corrupt archive, an unreadable file and a FIFO
each fail with a `ReadProblem` naming what is wrong.
"""

from __future__ import annotations

import bz2
import gzip
import io
import os
import re
import stat
import zlib
from typing import IO, Any

import zstandard

from ingest.config import ReadConfig
from ingest.read.problems import ReadProblem, describe

CHUNK_BYTES = 64 * 1024


# gzip with deflate; bz2 "BZh<level>" and then a block or end-of-stream marker; zstd frame.
_COMPRESSION_MAGIC = re.compile(rb"(\x1f\x8b\x08)|(BZh[1-9](?:1AY&SY|\x17rE8P\x90))|(\x28\xb5\x2f\xfd)")
_COMPRESSIONS = ("gzip", "bz2", "zstd")


def open_regular(path: str) -> io.BufferedReader:
    """`path` opened for reading, when it is a regular file.

    O_NONBLOCK keeps open() from waiting for a writer when the path is a FIFO (it
    changes nothing for a regular file, and is cleared before reading).
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise ReadProblem("Unreadable", f"cannot open the file ({exc.strerror or exc})") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise ReadProblem("NotAFile", f"not a regular file but {_file_kind(mode)}")
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def _file_kind(mode: int) -> str:
    kinds = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"),
             (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))
    return next((name for test, name in kinds if test(mode)), "a special file")


def open_content(fh: io.BufferedReader, config: ReadConfig) -> tuple[io.BufferedReader, str | None]:
    """The file's (decompressed) content as a stream bounded by read.max_file_bytes."""
    try:
        size = os.fstat(fh.fileno()).st_size
        compression = _compression(fh.peek(16)[:16])
    except OSError as exc:
        raise ReadProblem("Unreadable", f"cannot read the file ({exc.strerror or exc})") from None
    if compression is None and size > config.max_file_bytes:
        raise ReadProblem("TooLarge", f"the file is {size} bytes, more than read.max_file_bytes ({config.max_file_bytes})")
    inner = _decompressor(fh, compression)
    return io.BufferedReader(_Bounded(inner, config.max_file_bytes, compression), CHUNK_BYTES), compression


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
    """Content read from `inner`, failing with `ReadProblem` once it passes `limit` bytes or
    when the decompressor or the disk fails.

    The bytes before a failure are handed out first and the failure raised on the next
    read, so that the records before a truncation are still read.
    """

    def __init__(self, inner: Any, limit: int, compression: str | None) -> None:
        self._inner = inner
        self._limit = limit
        self._compression = compression
        self._taken = 0
        self._failure: ReadProblem | None = None

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._taken

    def readinto(self, buffer: Any) -> int:
        if self._failure:
            raise self._failure
        # Fill the whole buffer, short only at the end of the content: `sniff` relies on it.
        view = memoryview(buffer).cast("B")
        filled = 0
        while filled < len(view):
            try:
                data = self._take(len(view) - filled)
            except ReadProblem as bad:
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
            raise ReadProblem("TruncatedCompression", f"the {self._compression} data ends early (truncated file)") from None
        except OSError as exc:
            # Decompressors raise OSError without errno for bad data (BadGzipFile, bz2).
            if exc.errno is None and self._compression:
                raise self._corrupt(exc) from None
            raise ReadProblem("Unreadable", f"cannot read the file ({exc.strerror or exc})") from None
        except (zlib.error, zstandard.ZstdError) as exc:
            raise self._corrupt(exc) from None
        self._taken += len(data)
        if self._taken > self._limit:
            raise self._too_large()
        return data

    def _corrupt(self, exc: Exception) -> ReadProblem:
        return ReadProblem("CorruptCompression", f"the {self._compression} data is corrupt ({describe(exc)})")

    def _too_large(self) -> ReadProblem:
        if self._compression:
            return ReadProblem(
                "DecompressionBomb",
                f"the {self._compression} data decompresses to more than read.max_file_bytes ({self._limit} bytes)",
            )
        return ReadProblem("TooLarge", f"the file is larger than read.max_file_bytes ({self._limit} bytes)")


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
            self._input, self._pos = memoryview(self._raw.read(CHUNK_BYTES)), 0
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
