"""Kill `ingest update` with SIGKILL at several points of a run, run it again with the
same arguments, and get what one uninterrupted run gives: the same documents,
duplicates and rejects, no line twice, no partial file, a consistent ledger and index.
An overlapping run meanwhile skips instead of taking the same inputs.

The run kills itself at each point (INGEST_FAULT, ingest/faults.py): the point is
reached in every run, however fast or busy the machine.

The uninterrupted run is the library's, in this process: it must give what the Prefect
flow on a process pool gives, so it is also the reference for the flow."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from ingest.config import load_config
from ingest.index.ledger import DB_NAME as LEDGER_DB
from ingest.index.sqlite_index import DB_NAME as INDEX_DB
from ingest.run.inbox import ingest_new
from ingest.write.partitions import read_manifest
from ingest.faults import ENV as FAULT
from tests.processes import PrefectServer, stopped_at_fault
from tests.schema_check import validate_lines

pytestmark = pytest.mark.server

FILES = 1500  # several batches a worker
RUN_SECONDS = 300
# Where to kill (ingest/faults.py), in the order a run reaches them.
KILL_POINTS = (
    "claimed",  # inputs claimed, the staging folder made; no batch has run
    "clean",  # a cleaning batch starts: the batches before it have spilled theirs
    "written",  # outputs written; the index commit follows
    "indexed",  # index committed and report.json written; the ledger commit follows
    "committed",  # ledger committed; the staging folder's rename follows
)
OUTPUTS = ("documents.jsonl", "duplicates.jsonl", "rejects.jsonl")


def make_dump(inbox: Path) -> None:
    """Articles of random words, one in five a near-copy of an earlier one, and two bad files."""
    rng = random.Random(20261121)
    vocabulary = [f"{rng.choice('bcdfghklmnprstvw')}{rng.choice('aeiou')}{rng.choice('nrstlm')}{n % 97}"
                  for n in range(3000)]
    texts: list[str] = []
    for n in range(FILES):
        if n % 5 == 4:
            paragraphs = texts[rng.randrange(len(texts))].split("\n\n")
            paragraphs[-1] = " ".join(rng.choice(vocabulary) for _ in range(12)) + "."
        else:
            paragraphs = [" ".join(rng.choice(vocabulary) for _ in range(rng.randint(40, 80))) + "."
                          for _ in range(rng.randint(3, 6))]
        texts.append("\n\n".join(paragraphs))
        folder = inbox / f"day{n % 7}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"article{n:05d}.txt").write_text(texts[-1] + "\n", encoding="utf-8")
    (inbox / "feed.jsonl").write_text('{"text": "A good line of the feed, long enough."}\n{"text": cut\n',
                                      encoding="utf-8")
    (inbox / "photo.bin").write_bytes(bytes(range(256)) * 16)


@pytest.fixture(scope="module")
def inbox(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("crash") / "inbox"
    make_dump(folder)
    return folder


def start_update(server: PrefectServer, inbox: Path, out: Path, state: Path, log: Path,
                 fault: str | None = None) -> subprocess.Popen:
    env = server.env(**{FAULT: fault}) if fault else server.env()
    with open(log, "ab") as fh:
        fh.write(f"--- ingest update, {FAULT}={fault}\n".encode())
        return subprocess.Popen(
            [sys.executable, "-m", "ingest.cli", "update", str(inbox), "--out", str(out), "--state", str(state),
             "--workers", "2"],
            env=env, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True,
        )


def kill_group(process: subprocess.Popen) -> None:
    """SIGKILL to the command and its worker processes at once, as a crash takes them."""
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=RUN_SECONDS)


def finish(process: subprocess.Popen, log: Path, status: int = 0) -> None:
    try:
        assert process.wait(timeout=RUN_SECONDS) == status, log.read_text()[-3000:]
    except subprocess.TimeoutExpired:
        kill_group(process)
        pytest.fail(f"ingest update did not end within {RUN_SECONDS} s\n{log.read_text()[-3000:]}")


def published(out: Path) -> dict[str, list[dict]]:
    """Every output line of the partitions in the manifest, without the ingestion time."""
    lines: dict[str, list[dict]] = {name: [] for name in OUTPUTS}
    for entry in read_manifest(out):
        for name in OUTPUTS:
            schema = "reject" if name == "rejects.jsonl" else "document"
            lines[name] += [{**row, "added": None} for row in validate_lines(out / entry["partition"] / name, schema)]
    return {name: sorted(rows, key=lambda r: (r.get("id", ""), r["source"])) for name, rows in lines.items()}


def totals(out: Path) -> dict[str, int]:
    keys = ("files", "inputs", "documents", "duplicates", "rejected")
    return {k: sum(entry[k] for entry in read_manifest(out)) for k in keys}


def assert_clean(out: Path, state: Path) -> None:
    """Only complete partitions and the manifest; consistent SQLite files."""
    partitions = {entry["partition"] for entry in read_manifest(out)}
    assert {p.name for p in out.iterdir()} == partitions | {"manifest.jsonl"}
    for name in partitions:
        assert sorted(p.name for p in (out / name).iterdir()) == sorted([*OUTPUTS, "inputs.jsonl", "report.json"])
    for db in (LEDGER_DB, INDEX_DB):
        with sqlite3.connect(state / db) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    with sqlite3.connect(state / LEDGER_DB) as conn:
        assert conn.execute("SELECT COUNT(*) FROM partitions WHERE published = 0").fetchone() == (0,)


def count_rows(state: Path, db: str, table: str) -> int:
    with sqlite3.connect(state / db) as conn:
        return conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


def test_killed_runs_resume_to_the_uninterrupted_result(prefect_server: PrefectServer, inbox: Path,
                                                        tmp_path: Path) -> None:
    ref_out, ref_state, log = tmp_path / "ref-out", tmp_path / "ref-state", tmp_path / "update.log"
    ingest_new(inbox, ref_out, ref_state, load_config(), workers=2)
    expected = published(ref_out)
    reference_totals = totals(ref_out)
    assert (reference_totals["files"], reference_totals["inputs"], reference_totals["rejected"]) == (FILES + 2, FILES + 3, 2)
    assert reference_totals["duplicates"] > FILES // 10

    # The same run, killed at each point in turn, then run again to the end.
    out, state = tmp_path / "out", tmp_path / "state"
    # Stopped where it has claimed its inputs, it holds the lock: a run started now
    # overlaps it and must skip. Then the crash.
    stopped = tmp_path / "stopped"
    process = start_update(prefect_server, inbox, out, state, log, f"claimed:stop:{stopped}")
    stopped_at_fault(stopped, process, RUN_SECONDS, log)
    overlapping = ingest_new(inbox, out, state, load_config())
    assert overlapping.status == "skipped", overlapping.message
    kill_group(process)
    assert list(out.glob(".partial-*/inputs.jsonl"))
    for point in KILL_POINTS[1:]:
        finish(start_update(prefect_server, inbox, out, state, log, f"{point}:kill"), log, -signal.SIGKILL)
    assert read_manifest(out) == []  # killed before its rename: nothing was published
    finish(start_update(prefect_server, inbox, out, state, log), log)

    assert published(out) == expected
    assert totals(out) == reference_totals
    ids = [row["id"] for name in ("documents.jsonl", "duplicates.jsonl") for row in expected[name]]
    assert len(ids) == len(set(ids))
    assert_clean(out, state)
    assert count_rows(state, LEDGER_DB, "inputs") == count_rows(ref_state, LEDGER_DB, "inputs") == FILES + 2
    assert count_rows(state, INDEX_DB, "documents") == count_rows(ref_state, INDEX_DB, "documents")

    assert ingest_new(inbox, out, state, load_config()).status == "nothing-new"
