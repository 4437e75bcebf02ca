"""The ledger of ingested inbox files: keyed by path and content hash, committed per partition."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from ingest.config import load_config
from ingest.index.ledger import DB_NAME, Ledger, LedgerError, content_hash
from ingest.read.files import discover

READ = load_config().read


def listed(folder: Path):
    return discover([str(folder)], READ)


@pytest.fixture()
def inbox(tmp_path: Path) -> Path:
    d = tmp_path / "inbox"
    d.mkdir()
    (d / "a.txt").write_text("First article text.\n", encoding="utf-8")
    (d / "b.txt").write_text("Second article text.\n", encoding="utf-8")
    return d


def test_new_files_are_claimed_once_committed(inbox: Path, tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "state")
    claims, known = ledger.claim(listed(inbox))
    assert [Path(c.file.path).name for c in claims] == ["a.txt", "b.txt"] and known == 0
    assert all(c.content_hash and c.unchanged() for c in claims)
    claims_again, _ = ledger.claim(listed(inbox))
    assert len(claims_again) == 2  # claimed is not ingested: only a commit records them
    ledger.commit("p1", "2026-01-01T00:00:00Z", claims)
    assert ledger.claim(listed(inbox)) == ([], 2)
    assert ledger.unpublished() == ["p1"]
    ledger.mark_published("p1")
    assert ledger.unpublished() == []
    assert ledger.stats() == {"inputs": 2, "partitions": 1}


def test_a_changed_file_is_new_and_a_touched_one_is_not(inbox: Path, tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "state")
    ledger.commit("p1", "t", ledger.claim(listed(inbox))[0])
    os.utime(inbox / "a.txt", ns=(1, 1))  # same bytes, another mtime
    (inbox / "b.txt").write_text("Second article text, corrected.\n", encoding="utf-8")
    claims, known = ledger.claim(listed(inbox))
    assert [Path(c.file.path).name for c in claims] == ["b.txt"] and known == 1
    # The touched file's new mtime is remembered: the next listing does not hash it again.
    row = sqlite3.connect(tmp_path / "state" / DB_NAME).execute(
        "SELECT mtime_ns FROM inputs WHERE source LIKE '%a.txt'").fetchone()
    assert row == (1,)


def test_a_file_changed_after_hashing_is_not_unchanged(inbox: Path, tmp_path: Path) -> None:
    (claim, _), _ = Ledger(tmp_path / "state").claim(listed(inbox))
    with open(claim.file.path, "a", encoding="utf-8") as fh:
        fh.write("A line appended while the run went on.\n")
    assert not claim.unchanged()


def test_unreadable_files_are_claimed_without_a_hash(inbox: Path, tmp_path: Path) -> None:
    os.mkfifo(inbox / "pipe")
    files = listed(inbox)
    (inbox / "b.txt").unlink()  # gone between listing and hashing
    claims, _ = Ledger(tmp_path / "state").claim(files)
    by_name = {Path(c.file.path).name: c for c in claims}
    assert by_name["pipe"].content_hash is None and by_name["b.txt"].content_hash is None
    assert not by_name["pipe"].unchanged()  # so a commit never records them
    assert content_hash(str(inbox / "pipe")) is None  # and hashing did not block on the FIFO


def test_forget_makes_a_partitions_inputs_new_again(inbox: Path, tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "state")
    ledger.commit("p1", "t", ledger.claim(listed(inbox))[0])
    assert ledger.forget("p1") == 2
    assert len(ledger.claim(listed(inbox))[0]) == 2
    assert ledger.unpublished() == []


def test_a_failed_commit_records_nothing(inbox: Path, tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "state")
    claims, _ = ledger.claim(listed(inbox))
    ledger.commit("p1", "t", claims[:1])
    with pytest.raises(sqlite3.IntegrityError):
        ledger.commit("p1", "t", claims[1:])  # the partition name is taken
    assert ledger.stats() == {"inputs": 1, "partitions": 1}


def test_unusable_state_folder_is_one_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "state"
    blocker.write_text("a file where the folder should be", encoding="utf-8")
    with pytest.raises(LedgerError, match="cannot open the ledger"):
        Ledger(blocker)
