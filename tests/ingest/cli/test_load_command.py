"""`ingest load`, and `--format parquet` / `--load` on the commands that run the flow,
as a user runs them: real processes, a real DuckDB file."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from ingest.cli.options import OUTPUT_FORMATS
from ingest.config import OUTPUT_FORMATS as CONFIG_FORMATS
from tests.ingest.load.stores import DROPS, duckdb_counts, expected_counts
from tests.processes import ingest


def test_the_command_line_offers_the_configs_formats() -> None:
    assert OUTPUT_FORMATS == CONFIG_FORMATS
    for command in ("run", "update", "serve"):
        assert "--format [jsonl|parquet]" in ingest(command, "--help").stdout
    assert "--load" in ingest("update", "--help").stdout and "--load" in ingest("serve", "--help").stdout


def test_a_store_that_is_not_one_is_bad_usage(tmp_path: Path) -> None:
    result = ingest("load", str(tmp_path), "--into", "sqlite:x.db")
    assert result.returncode == 2 and "give duckdb:PATH or iceberg:FOLDER" in result.stderr


def test_run_writes_parquet_that_loads_into_duckdb(tmp_path: Path, seeds: Path) -> None:
    out, store = tmp_path / "out", tmp_path / "store.duckdb"
    result = ingest("run", str(seeds), "--out", str(out), "--format", "parquet")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["documents.parquet", "duplicates.parquet", "rejects.parquet",
                                                     "report.json"]
    loaded = ingest("load", str(out), "--into", f"duckdb:{store}")
    assert loaded.returncode == 0, loaded.stderr
    report = json.loads((out / "report.json").read_text())
    # DuckDB reads the files in place too, as the README shows.
    assert duckdb.sql(f"SELECT count(*) FROM '{out / 'documents.parquet'}'").fetchall() == [(report["counts"]["documents"],)]
    with duckdb.connect(str(store), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM documents").fetchall() == [(report["counts"]["documents"],)]
        (name,) = con.execute("SELECT partition FROM loads").fetchone()
    assert name == f"out@{report['started'][:19].replace(':', '-')}Z"


def test_update_loads_each_partition_once_published(tmp_path: Path) -> None:
    inbox, out, state, store = (tmp_path / n for n in ("inbox", "out", "state", "store.duckdb"))
    inbox.mkdir()
    for files in DROPS[:2]:
        for name, text in files.items():
            (inbox / name).write_text(text, encoding="utf-8")
        result = ingest("update", str(inbox), "--out", str(out), "--state", str(state), "--format", "parquet",
                        "--load", f"duckdb:{store}")
        assert result.returncode == 0, result.stderr
        assert "1 partitions loaded into duckdb:" in result.stdout
    assert all((out / e.name / "documents.parquet").exists() for e in out.iterdir() if e.is_dir())
    assert duckdb_counts(store) == expected_counts(out)
