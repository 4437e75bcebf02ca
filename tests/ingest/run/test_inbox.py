"""Incremental runs over an inbox (the library under `ingest update`/`ingest serve`):
partitions, manifest, ledger, lock, and what the next run does after a crash."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import pytest

from ingest.config import load_config
from ingest.index.ledger import Ledger
from ingest.index.lock import StateLock
from ingest.index.sqlite_index import StateIndex
from ingest.read.files import discover
from ingest.run.inbox import _run_partition, ingest_new
from ingest.run.pipeline import serial_mapper
from ingest.write.partitions import new_partition, read_manifest
from tests.samples import ARTICLE
from tests.schema_check import validate_lines

CONFIG = load_config()
OTHER = ("A storm closed the airport for six hours on Sunday, stranding hundreds of travellers in the terminal "
         "while airlines waited for the gusts to drop below the limit set by the regulator.")


@pytest.fixture()
def folders(tmp_path: Path) -> tuple[Path, Path, Path]:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "ferry.txt").write_text(ARTICLE, encoding="utf-8")
    (inbox / "storm.txt").write_text(OTHER, encoding="utf-8")
    return inbox, tmp_path / "out", tmp_path / "state"


def rows(out: Path, name: str) -> list[dict]:
    """One output of every partition in the manifest, in partition order."""
    found = []
    for entry in read_manifest(out):
        found += validate_lines(out / entry["partition"] / name, "reject" if name == "rejects.jsonl" else "document")
    return found


def test_each_run_puts_only_new_files_into_its_own_partition(folders) -> None:
    inbox, out, state = folders
    first = ingest_new(inbox, out, state, CONFIG)
    assert first.status == "ingested" and first.report["counts"]["documents"] == 2
    assert ingest_new(inbox, out, state, CONFIG).status == "nothing-new"

    (inbox / "ferry-copy.txt").write_text("Ferry timetable: a second site's copy\n\n" + ARTICLE, encoding="utf-8")
    third = ingest_new(inbox, out, state, CONFIG)
    assert third.status == "ingested"
    manifest = read_manifest(out)
    assert [m["partition"] for m in manifest] == [first.partition, third.partition]
    assert first.partition < third.partition  # names sort by start time
    assert [(m["files"], m["inputs"], m["documents"], m["duplicates"], m["rejected"]) for m in manifest] == [
        (2, 2, 2, 0, 0), (1, 1, 0, 1, 0)]
    original = next(d for d in rows(out, "documents.jsonl") if d["source"].endswith("ferry.txt"))
    (copy,) = validate_lines(out / third.partition / "duplicates.jsonl", "document")
    assert copy["dedup"]["duplicate_of"] == original["id"]
    partition = out / third.partition
    assert sorted(p.name for p in partition.iterdir()) == [
        "documents.jsonl", "duplicates.jsonl", "inputs.jsonl", "rejects.jsonl", "report.json"]
    report = json.loads((partition / "report.json").read_text(encoding="utf-8"))
    assert report["partition"] == {"name": third.partition, "files": 1, "files_ingested_before": 2}
    (listed,) = validate_inputs(partition)
    assert listed["source"] == str(inbox / "ferry-copy.txt") and len(listed["content_hash"]) == 32


def validate_inputs(partition: Path) -> list[dict]:
    return [json.loads(line) for line in (partition / "inputs.jsonl").read_text(encoding="utf-8").splitlines()]


def test_a_changed_file_is_ingested_again(folders) -> None:
    inbox, out, state = folders
    ingest_new(inbox, out, state, CONFIG)
    (inbox / "storm.txt").write_text(OTHER + " Flights resumed on Monday morning.", encoding="utf-8")
    again = ingest_new(inbox, out, state, CONFIG)
    assert again.status == "ingested" and again.report["partition"]["files"] == 1


def test_a_run_that_finds_the_lock_held_skips_and_leaves_the_files_new(folders) -> None:
    inbox, out, state = folders
    holder = StateLock(state)  # what a running `ingest update` or scheduled run holds
    assert holder.acquire()
    try:
        skipped = ingest_new(inbox, out, state, CONFIG)
    finally:
        holder.close()
    assert skipped.status == "skipped" and "holds" in skipped.message
    assert read_manifest(out) == []
    assert ingest_new(inbox, out, state, CONFIG).report["partition"]["files"] == 2


def stop_after(step: str, inbox: Path, out: Path, state: Path) -> str:
    """Do what ingest_new does up to `step` ("outputs": the partition written in its
    staging folder and the index updated; "commit": also the ledger commit), then stop
    there, as a process killed at that point would."""
    ledger = Ledger(state)
    claims, known = ledger.claim(discover([str(inbox)], CONFIG.read))
    partition = new_partition(out, dt.datetime.now(dt.UTC))
    report = _run_partition(partition, claims, known, state, CONFIG, serial_mapper, 1)
    if step == "commit":
        ledger.commit(partition.name, report["finished"], claims)
    ledger.close()
    return partition.name


def test_a_partition_committed_before_a_crash_is_published_by_the_next_run(folders) -> None:
    inbox, out, state = folders
    name = stop_after("commit", inbox, out, state)
    assert not (out / name).exists() and read_manifest(out) == []  # loaders see nothing yet
    outcome = ingest_new(inbox, out, state, CONFIG)
    assert outcome.status == "nothing-new" and outcome.recovered == [name]
    assert [m["partition"] for m in read_manifest(out)] == [name]
    assert not list(out.glob(".partial-*"))


def test_outputs_of_a_run_that_crashed_before_its_commit_are_redone_the_same(folders, tmp_path: Path) -> None:
    inbox, out, state = folders
    stop_after("outputs", inbox, out, state)  # the index already holds the documents
    redone = ingest_new(inbox, out, state, CONFIG)
    assert redone.status == "ingested" and redone.report["counts"]["documents"] == 2
    assert len(list(out.iterdir())) == 2  # the partition and the manifest: the staging folder is gone

    reference_out = tmp_path / "reference"
    ingest_new(inbox, reference_out, tmp_path / "reference-state", CONFIG)
    assert without_added(rows(out, "documents.jsonl")) == without_added(rows(reference_out, "documents.jsonl"))
    index = StateIndex(state, CONFIG.dedup)
    assert index.stats()["documents"] == 2
    index.close()


def without_added(docs: list[dict]) -> list[dict]:
    return sorted(({**d, "added": None} for d in docs), key=lambda d: d["id"])


def test_a_committed_partition_deleted_by_hand_is_ingested_again(folders) -> None:
    inbox, out, state = folders
    name = stop_after("commit", inbox, out, state)
    for item in (out / f".partial-{name}").iterdir():
        item.unlink()
    (out / f".partial-{name}").rmdir()
    again = ingest_new(inbox, out, state, CONFIG)
    assert again.status == "ingested" and again.recovered == []
    assert again.report["partition"]["files"] == 2


def test_partitions_started_in_the_same_second_get_sorting_suffixes(tmp_path: Path) -> None:
    started = dt.datetime(2026, 11, 21, 5, 30, tzinfo=dt.UTC)
    first = new_partition(tmp_path, started)
    first.final.mkdir()
    second = new_partition(tmp_path, started)
    assert (first.name, second.name) == ("2026-11-21T05-30-00Z", "2026-11-21T05-30-00Z.1")
    later = new_partition(tmp_path, started + dt.timedelta(seconds=1))
    assert sorted([later.name, second.name, first.name]) == [first.name, second.name, later.name]


@pytest.mark.parametrize("inside", ["out", "state"])
def test_outputs_inside_the_inbox_are_refused(folders, inside: str) -> None:
    inbox, out, state = folders
    folders_by_name = {"out": out, "state": state, inside: inbox / "nested"}
    with pytest.raises(ValueError, match=f"--{inside} .* is inside the inbox"):
        ingest_new(inbox, folders_by_name["out"], folders_by_name["state"], CONFIG)


def test_a_waiting_run_gets_the_lock_when_the_holder_releases_it(tmp_path: Path) -> None:
    import threading

    from ingest.index.lock import StateLock

    holder = StateLock(tmp_path)
    assert holder.acquire()
    waiter = StateLock(tmp_path)
    assert not waiter.acquire()
    got = threading.Event()
    thread = threading.Thread(target=lambda: (waiter.wait(), got.set()))
    thread.start()
    assert not got.wait(0.3)  # still held
    holder.close()
    assert got.wait(60)
    thread.join(timeout=60)
    waiter.close()


def test_a_run_with_a_store_loads_the_partitions_not_loaded_yet(folders, tmp_path: Path) -> None:
    inbox, out, state = folders
    store = tmp_path / "store.duckdb"
    first = ingest_new(inbox, out, state, CONFIG)  # published, not loaded
    (inbox / "ferry-copy.txt").write_text("Ferry timetable: a second site's copy\n\n" + ARTICLE, encoding="utf-8")
    second = ingest_new(inbox, out, state, CONFIG.with_format("parquet"), load_into=f"duckdb:{store}")
    assert second.load.startswith(f"2 partitions loaded into duckdb:{store}") and second.load in second.message
    assert ingest_new(inbox, out, state, CONFIG, load_into=f"duckdb:{store}").load.endswith("2 loaded before")
    with duckdb.connect(str(store), read_only=True) as con:
        assert con.execute("SELECT partition, documents, duplicates FROM loads ORDER BY partition").fetchall() == [
            (f"{out.name}@{first.partition}", 2, 0), (f"{out.name}@{second.partition}", 0, 1)]
