"""Tables with a header: CSV and TSV (python's csv), Parquet (pyarrow); one record a row.

The text, title, date, url and author columns are found by the names `[read.table]`
lists (any case); every other column is kept in the metadata under its header name.
CSV's delimiter is sniffed (comma, tab, semicolon or bar); TSV's is a tab. A row whose
cells do not match the header, whose bytes are not UTF-8, or that has no text is a
reject naming its row and line; the other rows are read on. Parquet is read one batch
of rows at a time (`read.table_batch_rows`), its values made JSON-safe (dates as ISO
8601, bytes as UTF-8 text).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import decimal
import io
from collections.abc import Iterator
from typing import Any

from ingest.config import ReadConfig
from ingest.document import RawRecord, Reject
from ingest.read.fields import item_record
from ingest.read.files import InputFile
from ingest.read.formats import SNIFF_BYTES, bom_codec
from ingest.read.problems import ReadProblem, describe, reject

_DELIMITERS = ",\t;|"


def read_csv_records(
    f: InputFile, stream: io.BufferedReader, fmt: str, meta: dict[str, Any], config: ReadConfig
) -> Iterator[RawRecord | Reject]:
    """One record per data row of a CSV (`fmt` "csv") or TSV ("tsv") file.

    A quote that is never closed makes a lenient parser take the lines after it into
    one cell, up to the next quote in the file, which it takes for the closing one.
    The rows are parsed strictly (a closing quote is followed by a delimiter or the end
    of a line): a row that runs over several lines and does not parse (strictly, or its
    cells do not match the header) is such a quote, so its first line is rejected and
    the lines after it are read again as rows. A one-line row that only the strict
    parser refuses ('"Hello" world') is read leniently, as before."""
    head = stream.peek(SNIFF_BYTES)[:SNIFF_BYTES]
    encoding = bom_codec(head) or "utf-8-sig"
    # Undecodable bytes stay as surrogates, so that only the rows holding them are rejected.
    text = io.TextIOWrapper(stream, encoding=encoding, errors="surrogateescape", newline="")
    delimiter = "\t" if fmt == "tsv" else _sniff_delimiter(head.decode(encoding, "replace"))
    csv.field_size_limit(config.max_record_bytes)
    lines = _Lines(text)
    rows = csv.reader(lines, delimiter=delimiter, strict=True)
    n = 0
    header: list[str] | None = None
    while True:
        lines.start_row()
        try:
            cells = next(rows)
            problem = None
        except StopIteration:
            break
        except csv.Error as exc:
            cells, problem = [], describe(exc)
            if lines.in_row() == 1:
                cells, problem = _lenient(lines.row_text(), delimiter, problem)
        except ReadProblem as bad:
            yield reject(f, bad.error, f"reading stopped at row {n + 1}: {bad.detail}", n + 1)
            return
        first_line = lines.first_of_row()
        if header is None and problem is None:
            if any(cell.strip() for cell in cells):
                header = _header(cells)
            continue
        if problem is None and not any(cell.strip() for cell in cells):
            continue  # a blank line is no row
        n += 1
        where = f"row {n} (line {first_line})"
        if header is not None and problem is None and len(cells) != len(header):
            problem = f"{len(cells)} cells, the header {len(header)}"
        if problem is not None and lines.in_row() > 1:
            yield reject(f, "MalformedCSV", f"{where}: a quote opened there is never closed ({problem} at line "
                         f"{first_line + lines.in_row() - 1}); the line is rejected, reading goes on at line "
                         f"{first_line + 1}", n)
            lines.read_again_after_first()
            rows = csv.reader(lines, delimiter=delimiter, strict=True)
        elif problem is not None:
            yield reject(f, "MalformedCSV", f"{where} has {problem}", n)
        else:
            yield _csv_row(f, n, where, header, cells, meta, config)
    if header is None:
        yield reject(f, "EmptyFile", "the table has no header line")
    elif n == 0:
        yield reject(f, "EmptyFile", "the table has a header but no rows")


class _Lines:
    """A text's lines for python's csv reader, numbered, with the lines of the row being
    read kept so that they can be read again."""

    def __init__(self, text: Iterator[str]) -> None:
        self._text = text
        self._again: list[str] = []  # lines to read again, the next one last
        self._row: list[str] = []
        self._read = 0  # lines read, counting each line read again once

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = self._again.pop() if self._again else next(self._text)
        self._read += 1
        self._row.append(line)
        return line

    def start_row(self) -> None:
        self._row = []

    def in_row(self) -> int:
        return len(self._row)

    def row_text(self) -> str:
        return "".join(self._row)

    def first_of_row(self) -> int:
        return self._read - len(self._row) + 1

    def read_again_after_first(self) -> None:
        """The row's lines after its first are read again, as rows of their own."""
        again = self._row[1:]
        self._again.extend(reversed(again))
        self._read -= len(again)
        self._row = self._row[:1]


def _lenient(line: str, delimiter: str, problem: str) -> tuple[list[str], str | None]:
    """A one-line row read by python's lenient parser, or `problem` when it fails too."""
    try:
        return next(csv.reader([line], delimiter=delimiter), []), None
    except csv.Error:
        return [], problem


def _sniff_delimiter(sample: str) -> str:
    lines = sample.splitlines()
    # The last line of the sample may be cut off; the sniffer needs whole lines.
    sample = "\n".join(lines[:-1] if len(lines) > 2 else lines)
    try:
        return csv.Sniffer().sniff(sample, delimiters=_DELIMITERS).delimiter
    except csv.Error:
        return ","


def _header(cells: list[str]) -> list[str]:
    """Header names, stripped; a blank one named by its column, a repeated one numbered."""
    names: list[str] = []
    for i, cell in enumerate(cells, 1):
        name = cell.strip() or f"column_{i}"
        while name in names:
            name = f"{name}_{i}"
        names.append(name)
    return names


def _csv_row(f: InputFile, n: int, where: str, header: list[str], cells: list[str], meta: dict[str, Any],
             config: ReadConfig) -> RawRecord | Reject:
    try:
        values = [cell.encode("utf-8", "surrogateescape").decode("utf-8") if _has_surrogates(cell) else cell
                  for cell in cells]
    except UnicodeDecodeError as exc:
        return reject(f, "DecodeError", f"{where} is not valid UTF-8 ({exc.reason})", n)
    if sum(len(v) for v in values) > config.max_record_bytes:
        return reject(f, "TooLarge", f"{where} is larger than read.max_record_bytes ({config.max_record_bytes} bytes)", n)
    return item_record(f, n, where, dict(zip(header, values)), config.table, meta)


def _has_surrogates(cell: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in cell)


def read_parquet_records(
    f: InputFile, source: io.BufferedReader, meta: dict[str, Any], config: ReadConfig
) -> Iterator[RawRecord | Reject]:
    """One record per row of a Parquet file; `source` is the file itself (seekable), or
    its decompressed content when it was compressed."""
    import pyarrow as pa  # 0.2 s of import: only for runs that read Parquet
    import pyarrow.parquet as pq

    n = 0
    try:
        if not source.seekable():
            source = pa.BufferReader(source.read())
        table = pq.ParquetFile(source)
        for batch in table.iter_batches(batch_size=config.table_batch_rows):
            for row in batch.to_pylist():
                n += 1
                fields = {str(key): _json_safe(value) for key, value in row.items()}
                yield item_record(f, n, f"row {n}", fields, config.table, meta)
    except ReadProblem as bad:
        yield reject(f, bad.error, f"reading stopped at row {n + 1}: {bad.detail}", n + 1)
        return
    except (pa.ArrowException, OSError, ValueError) as exc:
        yield reject(f, "MalformedParquet", f"reading stopped at row {n + 1}: not a readable Parquet file"
                     f" ({describe(exc)})", n + 1)
        return
    if n == 0:
        yield reject(f, "EmptyFile", "the Parquet file has no rows")


def _json_safe(value: Any) -> Any:
    """A Parquet value as JSON can hold it."""
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, bytes):
        return codecs.decode(value, "utf-8", "replace")
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value
