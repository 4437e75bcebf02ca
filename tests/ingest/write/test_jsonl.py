from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import numpy as np
import pytest

from ingest.write.jsonl import atomic_writer, dumps, read_jsonl, write_jsonl


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


def _count_fsyncs(monkeypatch) -> list[int]:
    synced: list[int] = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real(fd))[1])
    return synced


def test_outputs_are_fsynced_and_scratch_files_only_renamed(tmp_path: Path, monkeypatch) -> None:
    synced = _count_fsyncs(monkeypatch)
    write_jsonl(tmp_path / "documents.jsonl", [{"a": 1}])
    assert len(synced) == 2  # the file, then the folder's entry
    synced.clear()
    scratch = tmp_path / "work" / "prepared-0.jsonl"
    assert write_jsonl(scratch, [{"a": 1}, {"b": 2}], durable=False) == 2
    assert synced == []
    assert [row for row in read_jsonl(scratch)] == [{"a": 1}, {"b": 2}]
    assert sorted(p.name for p in scratch.parent.iterdir()) == ["prepared-0.jsonl"]  # renamed into place


def test_outputs_get_ordinary_permissions(tmp_path: Path) -> None:
    path = tmp_path / "documents.jsonl"
    write_jsonl(path, [{"a": 1}])
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~mask


@pytest.mark.parametrize("row", [
    {"id": "a", "text": "Café “quoted” — 東京 😀", "n": 3, "x": 0.25, "none": None, "ok": True, "list": [1, [2, {}]]},
    {"id": "b", "metadata": {"nested": {"deep": ["x", 1.5, -7]}}, "similarity": 0.8571428571428571},
])
def test_dumps_writes_the_json_module_s_line(row: dict) -> None:
    assert dumps(row) == json.dumps(row, ensure_ascii=False, separators=(",", ":"))


@pytest.mark.parametrize("value", [2**70, -(2**70), "lone \ud800 surrogate", np.float64(0.5)])
def test_dumps_falls_back_to_json_for_what_orjson_refuses(value) -> None:
    row = {"id": "a", "value": value}
    assert dumps(row) == json.dumps(row, ensure_ascii=False, separators=(",", ":"))


def test_big_integers_come_back_exact(tmp_path: Path) -> None:
    rows = [{"id": 2**70 + 1}, {"id": 12345678901234567890123}]
    write_jsonl(tmp_path / "a.jsonl", rows)
    assert list(read_jsonl(tmp_path / "a.jsonl")) == rows


def test_non_string_keys_become_strings_and_nan_becomes_null() -> None:
    assert json.loads(dumps({1: "a", None: "b"})) == {"1": "a", "null": "b"}
    assert dumps({"x": float("nan")}) == '{"x":null}'  # json's NaN is not JSON
