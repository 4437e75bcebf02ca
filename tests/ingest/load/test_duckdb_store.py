"""Loads into a real DuckDB file: exactly once per partition, whatever happens."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from ingest.config import load_config
from ingest.load.common import KILL_AT_VARIABLE
from ingest.run.inbox import ingest_new
from ingest.write.jsonl import read_jsonl
from ingest.write.parquet import rows_of
from ingest.write.partitions import read_manifest
from tests.ingest.load.stores import (
    DROPS,
    copied,
    duckdb_counts,
    duckdb_rows,
    expected_counts,
    inbox_output,
    killed_between_batches_then_rerun,
    loaded_beside_a_copy,
    loaded_whole_and_batched,
    load,
    one_line_error,
    popen_load,
)
from tests.samples import unprivileged


@pytest.fixture(scope="module")
def jsonl_out(tmp_path_factory) -> Path:
    return inbox_output(tmp_path_factory.mktemp("jsonl"), "jsonl")


@pytest.fixture(scope="module")
def parquet_out(tmp_path_factory) -> Path:
    return inbox_output(tmp_path_factory.mktemp("parquet"), "parquet")


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_loading_twice_gives_the_same_rows(request, fmt: str, tmp_path: Path) -> None:
    out, store = request.getfixturevalue(f"{fmt}_out"), tmp_path / "store.duckdb"
    first = load(out, f"duckdb:{store}")
    assert first.returncode == 0, first.stderr
    assert "3 partitions loaded" in first.stdout
    counts = duckdb_counts(store)
    assert counts == expected_counts(request.getfixturevalue("jsonl_out"))
    second = load(out, f"duckdb:{store}")
    assert second.returncode == 0 and "0 partitions loaded" in second.stdout and "3 loaded before" in second.stdout
    assert duckdb_counts(store) == counts


def test_every_field_reads_back_from_duckdb(jsonl_out: Path, tmp_path: Path) -> None:
    store = tmp_path / "store.duckdb"
    assert load(jsonl_out, f"duckdb:{store}").returncode == 0
    with duckdb.connect(str(store), read_only=True) as con:
        for kind in ("documents", "duplicates", "rejects"):
            expected = [row for entry in read_manifest(jsonl_out)
                        for row in read_jsonl(jsonl_out / entry["partition"] / f"{kind}.jsonl")]
            table = con.sql(f"SELECT * EXCLUDE (partition) FROM {kind} ORDER BY source").to_arrow_table()
            assert expected
            assert list(rows_of(kind, table)) == sorted(expected, key=lambda r: r["source"])
        links = con.execute("SELECT document, other, similarity FROM passages").fetchall()
    assert len(links) == 2 and {links[0][0], links[0][1]} == {links[1][0], links[1][1]}


@pytest.mark.parametrize("point", ["before-commit", "after-commit"])
def test_a_load_killed_midway_then_rerun_gives_exact_counts(jsonl_out: Path, tmp_path: Path, point: str) -> None:
    store = tmp_path / "store.duckdb"
    killed = load(jsonl_out, f"duckdb:{store}", **{KILL_AT_VARIABLE: point})
    assert killed.returncode == -9
    partial = duckdb_counts(store)
    assert partial["loads"] == (1 if point == "after-commit" else 0)
    assert partial["documents"] == (len(list(read_jsonl(jsonl_out / read_manifest(jsonl_out)[0]["partition"]
                                                        / "documents.jsonl"))) if point == "after-commit" else 0)
    rerun = load(jsonl_out, f"duckdb:{store}")
    assert rerun.returncode == 0, rerun.stderr
    assert duckdb_counts(store) == expected_counts(jsonl_out)


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_a_partition_read_a_record_at_a_time_loads_the_same_rows(request, fmt: str, tmp_path: Path) -> None:
    # batch_rows 1: each of the second partition's files is several batches.
    whole, batched = loaded_whole_and_batched(request.getfixturevalue(f"{fmt}_out"), "duckdb", "store.duckdb", tmp_path)
    assert duckdb_rows(batched) == duckdb_rows(whole)
    assert duckdb_counts(batched) == expected_counts(request.getfixturevalue("jsonl_out"))


def test_a_load_killed_between_batches_leaves_nothing_of_the_partition(jsonl_out: Path, tmp_path: Path) -> None:
    store = tmp_path / "store.duckdb"
    killed_between_batches_then_rerun(jsonl_out, f"duckdb:{store}", lambda: duckdb_counts(store))


def test_a_line_that_is_not_a_record_is_named_and_nothing_loaded(jsonl_out: Path, tmp_path: Path) -> None:
    out = copied(jsonl_out, tmp_path / "out")
    documents = out / read_manifest(out)[0]["partition"] / "documents.jsonl"
    lines = documents.read_text(encoding="utf-8").splitlines(keepends=True)
    record = json.loads(lines[1])
    del record["metadata"]
    lines[1] = json.dumps(record) + "\n"
    documents.write_text("".join(lines), encoding="utf-8")
    store = tmp_path / "store.duckdb"
    for rows in (1, 1_000_000):  # the line is named whether its batch is itself or the whole file
        one_line_error(load(out, f"duckdb:{store}", batch_rows=rows),
                       f"{documents} line 2: not an ingest documents record (KeyError: 'metadata')")
        assert duckdb_counts(store)["loads"] == 0


def test_two_loads_at_once_load_each_partition_once(jsonl_out: Path, parquet_out: Path, tmp_path: Path) -> None:
    store = tmp_path / "store.duckdb"
    loads = [popen_load(jsonl_out, f"duckdb:{store}") for _ in range(3)]
    results = [(p.wait(timeout=300), *p.communicate()) for p in loads]
    assert [code for code, _, _ in results] == [0, 0, 0], results
    assert sum(int(out.split()[0]) for _, out, _ in results) == 3  # partitions loaded, over the three
    assert duckdb_counts(store) == expected_counts(jsonl_out)


def test_a_partition_with_new_source_fields_loads_into_the_existing_tables(tmp_path: Path) -> None:
    out = inbox_output(tmp_path / "first", drops=DROPS[:1])
    store = tmp_path / "store.duckdb"
    assert load(out, f"duckdb:{store}").returncode == 0
    with duckdb.connect(str(store), read_only=True) as con:
        columns = con.execute("DESCRIBE documents").fetchall()
    inbox = tmp_path / "first" / "inbox"
    for name, text in DROPS[1].items():
        (inbox / name).write_text(text, encoding="utf-8")
    ingest_new(inbox, out, tmp_path / "first" / "state", load_config())
    result = load(out, f"duckdb:{store}")
    assert result.returncode == 0 and "1 partitions loaded" in result.stdout, result.stderr
    with duckdb.connect(str(store), read_only=True) as con:
        assert con.execute("DESCRIBE documents").fetchall() == columns
        fields = con.execute("SELECT metadata.source_fields->>'section', metadata.source_fields->>'desk', "
                             "metadata.source_fields->'tags' FROM documents WHERE metadata.input_format = 'jsonl' "
                             "ORDER BY partition").fetchall()
    # `tags` is a standard field of every document (null when the source has none), kept
    # among the source fields by the Parquet schema: JSON null, not a missing key.
    assert fields == [("world", None, "null"), (None, "sport", '["cup","final"]')]


def test_a_partition_changed_after_its_load_is_refused(jsonl_out: Path, tmp_path: Path) -> None:
    out = copied(jsonl_out, tmp_path / "out")
    store = tmp_path / "store.duckdb"
    assert load(out, f"duckdb:{store}").returncode == 0
    before = duckdb_counts(store)
    name = read_manifest(out)[1]["partition"]
    with open(out / name / "documents.jsonl", "a", encoding="utf-8") as fh:
        fh.write(json.dumps(next(read_jsonl(out / name / "documents.jsonl"))) + "\n")
    one_line_error(load(out, f"duckdb:{store}"), f"partition out@{name} of {out} changed since it was loaded")
    assert duckdb_counts(store) == before


def test_two_outputs_whose_partitions_started_in_one_second_both_load(jsonl_out: Path, tmp_path: Path) -> None:
    store = loaded_beside_a_copy(jsonl_out, "duckdb", "store.duckdb", tmp_path, duckdb_counts)
    with duckdb.connect(str(store), read_only=True) as con:
        names = {row[0] for row in con.execute("SELECT partition FROM loads").fetchall()}
    bare = [entry["partition"] for entry in read_manifest(jsonl_out)]
    assert names == {f"{folder}@{name}" for folder in ("out", "other") for name in bare}


def test_partitions_a_store_holds_under_their_bare_names_are_loaded_already(jsonl_out: Path, tmp_path: Path) -> None:
    store = tmp_path / "store.duckdb"
    assert load(jsonl_out, f"duckdb:{store}").returncode == 0
    with duckdb.connect(str(store)) as con:  # as loads named an inbox's partitions by their folders alone
        con.execute("UPDATE loads SET partition = split_part(partition, '@', 2)")
    before = duckdb_counts(store)
    again = load(jsonl_out, f"duckdb:{store}")
    assert again.returncode == 0 and "0 partitions loaded" in again.stdout and "3 loaded before" in again.stdout
    assert duckdb_counts(store) == before
    # Another output's partitions of the same names are other partitions.
    other = copied(jsonl_out, tmp_path / "other")
    assert "3 partitions loaded" in load(other, f"duckdb:{store}").stdout


def test_bad_outputs_are_refused_with_one_line_and_nothing_loaded(jsonl_out: Path, tmp_path: Path) -> None:
    store = tmp_path / "store.duckdb"
    one_line_error(load(tmp_path, f"duckdb:{store}"), "is not an ingest output")
    out = copied(jsonl_out, tmp_path / "out")
    last = read_manifest(out)[-1]["partition"]
    (out / last / "rejects.jsonl").unlink()
    one_line_error(load(out, f"duckdb:{store}"), f"partition {last} names {last}/rejects.jsonl, which is missing")
    assert not store.exists() or duckdb_counts(store)["loads"] == 0


def test_a_store_locked_by_another_program_is_refused(jsonl_out: Path, tmp_path: Path) -> None:
    store = tmp_path / "store.duckdb"
    holder = subprocess.Popen([sys.executable, "-c", "import sys, duckdb; c = duckdb.connect(sys.argv[1]); "
                               "print('open', flush=True); sys.stdin.read()", str(store)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        one_line_error(load(jsonl_out, f"duckdb:{store}"), "the store is locked by another process")
    finally:
        holder.communicate("", timeout=30)
    with duckdb.connect(str(store), read_only=True) as con:
        assert con.execute("SELECT table_name FROM duckdb_tables()").fetchall() == []


def test_a_read_only_store_is_refused(jsonl_out: Path, tmp_path: Path) -> None:
    store = tmp_path / "store.duckdb"
    assert load(jsonl_out, f"duckdb:{store}").returncode == 0
    duckdb.connect(str(store)).execute("DELETE FROM loads WHERE partition = (SELECT max(partition) FROM loads)").close()
    before = duckdb_counts(store)
    store.chmod(0o444)
    one_line_error(load(jsonl_out, f"duckdb:{store}", prefix=tuple(unprivileged())), "cannot open the store")
    store.chmod(0o644)
    assert duckdb_counts(store) == before
