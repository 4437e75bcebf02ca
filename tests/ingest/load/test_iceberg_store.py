"""Loads into Iceberg tables of a real SQL catalog (SQLite): exactly once per
partition and table, the partition recorded in each snapshot's properties."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.load.common import KILL_AT_VARIABLE
from ingest.load.iceberg_store import NAMESPACE, PARTITION_PROPERTY, catalog
from ingest.write.parquet import rows_of
from ingest.write.partitions import read_manifest
from tests.ingest.load.stores import (
    DROPS,
    copied,
    expected_counts,
    iceberg_counts,
    inbox_output,
    killed_between_batches_then_rerun,
    loaded_beside_a_copy,
    loaded_whole_and_batched,
    load,
    one_line_error,
    output_rows,
    popen_load,
)
from tests.samples import unprivileged


@pytest.fixture(scope="module")
def out(tmp_path_factory) -> Path:
    return inbox_output(tmp_path_factory.mktemp("iceberg"), "parquet")


def test_loading_twice_gives_the_same_rows(out: Path, tmp_path: Path) -> None:
    store = tmp_path / "lake"
    first = load(out, f"iceberg:{store}")
    assert first.returncode == 0 and "3 partitions loaded" in first.stdout, first.stderr
    counts = iceberg_counts(store)
    assert counts == expected_counts(out)
    second = load(out, f"iceberg:{store}")
    assert second.returncode == 0 and "3 loaded before" in second.stdout, second.stderr
    assert iceberg_counts(store) == counts
    documents = catalog(store).load_table(f"{NAMESPACE}.documents")
    recorded = [s.summary.additional_properties.get(PARTITION_PROPERTY) for s in documents.snapshots()]
    assert recorded == [f"out@{e['partition']}" for e in read_manifest(out)]
    assert [f.name for f in documents.spec().fields] == ["partition"]


def test_rows_read_back_from_the_tables(out: Path, tmp_path: Path) -> None:
    store = tmp_path / "lake"
    assert load(out, f"iceberg:{store}").returncode == 0
    for kind in ("documents", "duplicates", "rejects"):
        table = catalog(store).load_table(f"{NAMESPACE}.{kind}").scan().to_arrow().drop_columns(["partition"])
        expected = output_rows(out, kind)
        assert expected
        assert sorted(rows_of(kind, table), key=lambda r: r["source"]) == sorted(expected, key=lambda r: r["source"])


@pytest.mark.parametrize("point", ["between-tables", "after-commit"])
def test_a_load_killed_midway_then_rerun_gives_exact_counts(out: Path, tmp_path: Path, point: str) -> None:
    store = tmp_path / "lake"
    killed = load(out, f"iceberg:{store}", **{KILL_AT_VARIABLE: point})
    assert killed.returncode == -9
    partial = iceberg_counts(store)
    assert partial["loads"] == (1 if point == "after-commit" else 0)
    assert partial["documents"] > 0  # the first table's append was committed
    rerun = load(out, f"iceberg:{store}")
    assert rerun.returncode == 0, rerun.stderr
    assert iceberg_counts(store) == expected_counts(out)


def _rows(folder: Path) -> dict[str, list]:
    """Every row of every table, in a stable order (the `loads` rows without their time)."""
    found = {}
    for name in ("documents", "duplicates", "passages", "rejects", "loads"):
        rows = catalog(folder).load_table(f"{NAMESPACE}.{name}").scan().to_arrow().to_pylist()
        found[name] = sorted(({k: v for k, v in row.items() if k != "loaded_at"} for row in rows), key=repr)
    return found


def test_a_partition_read_a_record_at_a_time_loads_the_same_rows_in_one_snapshot(out: Path, tmp_path: Path) -> None:
    # batch_rows 1: each of the second partition's files is several batches, and data files.
    whole, batched = loaded_whole_and_batched(out, "iceberg", "lake", tmp_path)
    assert _rows(batched) == _rows(whole)
    assert iceberg_counts(batched) == expected_counts(out)
    for name in ("documents", "duplicates", "passages", "rejects", "loads"):
        table = catalog(batched).load_table(f"{NAMESPACE}.{name}")
        recorded = [s.summary.additional_properties.get(PARTITION_PROPERTY) for s in table.snapshots()]
        assert recorded == [f"out@{e['partition']}" for e in read_manifest(out)], name
    files = catalog(batched).load_table(f"{NAMESPACE}.documents").inspect.files().num_rows
    assert files == sum(entry["documents"] for entry in read_manifest(out))


def test_a_load_killed_between_batches_leaves_nothing_of_the_partition(out: Path, tmp_path: Path) -> None:
    store = tmp_path / "lake"
    killed_between_batches_then_rerun(out, f"iceberg:{store}", lambda: iceberg_counts(store))


def test_two_loads_at_once_load_each_partition_once(out: Path, tmp_path: Path) -> None:
    store = tmp_path / "lake"
    assert load(out, f"iceberg:{store}", **{KILL_AT_VARIABLE: "after-commit"}).returncode == -9  # tables exist
    loads = [popen_load(out, f"iceberg:{store}") for _ in range(2)]
    results = [(p.wait(timeout=300), *p.communicate()) for p in loads]
    assert [code for code, _, _ in results] == [0, 0], results
    assert iceberg_counts(store) == expected_counts(out)


def test_a_partition_with_new_source_fields_loads_into_the_existing_tables(tmp_path: Path) -> None:
    from ingest.config import load_config
    from ingest.run.inbox import ingest_new

    first = inbox_output(tmp_path / "first", "parquet", drops=DROPS[:1])
    store = tmp_path / "lake"
    assert load(first, f"iceberg:{store}").returncode == 0
    schema = catalog(store).load_table(f"{NAMESPACE}.documents").schema()
    inbox = tmp_path / "first" / "inbox"
    for name, text in DROPS[1].items():
        (inbox / name).write_text(text, encoding="utf-8")
    ingest_new(inbox, first, tmp_path / "first" / "state", load_config().with_format("parquet"))
    result = load(first, f"iceberg:{store}")
    assert result.returncode == 0 and "1 partitions loaded" in result.stdout, result.stderr
    documents = catalog(store).load_table(f"{NAMESPACE}.documents")
    assert documents.schema() == schema
    fields = {row["source"].rsplit("/", 1)[-1]: row["metadata"] for row in rows_of("documents", documents.scan().to_arrow())}
    assert fields["feed.jsonl#1"]["section"] == "world"
    assert fields["wire.jsonl#1"]["desk"] == "sport" and fields["wire.jsonl#1"]["tags"] == ["cup", "final"]


def test_a_partition_changed_after_its_load_is_refused(out: Path, tmp_path: Path) -> None:
    copy = copied(out, tmp_path / "out")
    store = tmp_path / "lake"
    assert load(copy, f"iceberg:{store}").returncode == 0
    before = iceberg_counts(store)
    name = read_manifest(copy)[0]["partition"]
    (copy / name / "rejects.parquet").write_bytes((copy / read_manifest(copy)[1]["partition"] / "rejects.parquet").read_bytes())
    one_line_error(load(copy, f"iceberg:{store}"), f"partition out@{name} of {copy} changed since it was loaded")
    assert iceberg_counts(store) == before


def test_two_outputs_whose_partitions_started_in_one_second_both_load(out: Path, tmp_path: Path) -> None:
    loaded_beside_a_copy(out, "iceberg", "lake", tmp_path, iceberg_counts)


def test_a_read_only_store_is_refused_with_nothing_loaded(out: Path, tmp_path: Path) -> None:
    store = tmp_path / "lake"
    assert load(out, f"iceberg:{store}", **{KILL_AT_VARIABLE: "after-commit"}).returncode == -9
    before = iceberg_counts(store)
    for path in [store, *store.rglob("*")]:
        path.chmod(0o555 if path.is_dir() else 0o444)
    try:
        one_line_error(load(out, f"iceberg:{store}", prefix=tuple(unprivileged())), "cannot write the store")
    finally:
        for path in [store, *store.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
    assert iceberg_counts(store) == before
