"""JSON lines: each line an object whose "text" (or "html") field is the document.

Every other field of the object is kept as the document's metadata. A line that is not
valid JSON, not an object, too long or without text is a reject naming its line; the
other lines are read on.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

from ingest.config import ReadConfig
from ingest.document import RawRecord, Reject
from ingest.read.content import CHUNK_BYTES
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
            yield _jsonl_record(f, n, line, meta)
    if not has_content:
        yield reject(f, "EmptyFile", "the file holds no JSON lines")


def _skip_rest_of_line(stream: io.BufferedReader) -> None:
    while chunk := stream.readline(CHUNK_BYTES):
        if chunk.endswith(b"\n"):
            return


def _jsonl_record(f: InputFile, n: int, line: bytes, meta: dict[str, Any]) -> RawRecord | Reject:
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
    body = _body_field(obj)
    if body is None:
        if isinstance(obj.get("text"), str) or isinstance(obj.get("html"), str):
            return reject(f, "EmptyRecord", f'line {n} has an empty "text"/"html" field', n)
        return reject(f, "MissingText", f'line {n} has no string "text" or "html" field', n)
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
