"""The records' JSON against the shipped schemas, which the tests use on every output:
the schema check itself must refuse what the schema refuses, formats included."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from ingest.document import Document, Reject, document_id
from tests.schema_check import validate_lines


def written(tmp_path: Path, *rows: dict) -> Path:
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def document(**changes) -> dict:
    doc = Document(id=document_id("a.txt", "0" * 16), source="a.txt", text="Some text.", added="2026-11-21T05:30:00Z",
                   metadata={"title": None, "url": None, "author": None, "language": "en", "input_format": "text",
                             "encoding": "utf-8"})
    return doc.to_json() | changes


def test_a_document_and_a_reject_validate(tmp_path: Path) -> None:
    reject = Reject(source="feed.jsonl#2", path="feed.jsonl", record_no=2, error="MalformedJSON",
                    reason="feed.jsonl: line 2 is not valid JSON").to_json()
    assert validate_lines(written(tmp_path, document()), "document") == [document()]
    assert validate_lines(written(tmp_path, reject), "reject") == [reject]


@pytest.mark.parametrize("added", ["yesterday", "2026-13-01T00:00:00Z", "2026-11-21 05:30", "2026-11-21T05:30:00"])
def test_an_added_time_that_is_not_rfc3339_fails(tmp_path: Path, added: str) -> None:
    """jsonschema checks "format": "date-time" only with rfc3339-validator installed."""
    with pytest.raises(AssertionError, match=r"rows.jsonl line 2: .* is not a 'date-time' at \['added'\]"):
        validate_lines(written(tmp_path, document(), document(added=added)), "document")


@pytest.mark.parametrize(("change", "where"), [({"id": "not-hex"}, "['id']"),
                                                ({"dedup": {"cluster_id": None, "duplicate_of": None}}, "['dedup']"),
                                                ({"extra": 1}, "[]")])
def test_a_document_off_the_schema_fails(tmp_path: Path, change: dict, where: str) -> None:
    with pytest.raises(AssertionError, match=f"rows.jsonl line 1: .* at {re.escape(where)}$"):
        validate_lines(written(tmp_path, document(**change)), "document")
