from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from ingest.write import atomic_writer, read_jsonl, write_jsonl


def test_jsonl_round_trip_keeps_unicode_unescaped(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    assert write_jsonl(path, [{"text": "Iran’s “war”"}, {"text": "é"}]) == 2
    raw = path.read_text(encoding="utf-8")
    assert "Iran’s “war”" in raw
    assert [row["text"] for row in read_jsonl(path)] == ["Iran’s “war”", "é"]


def test_failed_write_leaves_old_file_and_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "documents.jsonl"
    path.write_text('{"old": true}\n', encoding="utf-8")

    def rows():
        yield {"new": 1}
        raise RuntimeError("disk gone")

    with pytest.raises(RuntimeError):
        write_jsonl(path, rows())
    assert json.loads(path.read_text(encoding="utf-8")) == {"old": True}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["documents.jsonl"]


def test_file_appears_only_when_complete(tmp_path: Path) -> None:
    path = tmp_path / "report.json"
    with atomic_writer(path) as fh:
        fh.write("{}")
        assert not path.exists()
    assert path.read_text(encoding="utf-8") == "{}"


def test_outputs_get_ordinary_permissions(tmp_path: Path) -> None:
    path = tmp_path / "documents.jsonl"
    write_jsonl(path, [{"a": 1}])
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~mask
