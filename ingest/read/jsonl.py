"""JSON lines: each line an object whose text (or HTML) field is the document.

The body and standard fields are found by the names `[read.jsonl]` lists (this
project's "text", news-please's "maintext", scrapers' "content", "body", "html", ...:
`ingest/read/fields.py`); every other field of the object is kept as the document's
metadata. A line that is not
valid JSON, not an object, too long or without text is a reject naming its line; the
other lines are read on.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

from ingest.config import FieldNames, ReadConfig
from ingest.document import RawRecord, Reject
from ingest.read.content import CHUNK_BYTES
from ingest.read.fields import item_record
from ingest.read.files import InputFile
from ingest.read.problems import ReadProblem, describe, reject


def read_jsonl_records(
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
        except ReadProblem as bad:
            yield reject(f, bad.error, f"reading stopped at line {n}: {bad.detail}", n)
            return
        if not line:
            break
        if too_long:
            has_content = True
            yield reject(f, "TooLarge", f"line {n} is longer than read.max_record_bytes ({limit} bytes)", n)
        elif line.strip():
            has_content = True
            yield _jsonl_record(f, n, line, meta, config.jsonl)
    if not has_content:
        yield reject(f, "EmptyFile", "the file holds no JSON lines")


def _skip_rest_of_line(stream: io.BufferedReader) -> None:
    while chunk := stream.readline(CHUNK_BYTES):
        if chunk.endswith(b"\n"):
            return


def _jsonl_record(f: InputFile, n: int, line: bytes, meta: dict[str, Any], names: FieldNames) -> RawRecord | Reject:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        return reject(f, "MalformedJSON", f"line {n} is not valid JSON ({exc.msg} at column {exc.colno})", n)
    except UnicodeDecodeError as exc:
        return reject(f, "MalformedJSON", f"line {n} is not valid UTF-8 ({exc.reason} at byte {exc.start + 1})", n)
    except (ValueError, RecursionError) as exc:  # e.g. a huge integer, deep nesting
        return reject(f, "MalformedJSON", f"line {n} is not valid JSON ({describe(exc)})", n)
    if not isinstance(obj, dict):
        return reject(f, "MalformedJSON", f"line {n} is a JSON {_json_type(obj)}, not an object", n)
    return item_record(f, n, f"line {n}", obj, names, meta)


def _json_type(value: Any) -> str:
    names = {list: "array", str: "string", bool: "boolean", int: "number", float: "number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)
