"""Incremental runs over an inbox folder: what each scheduled run does, without Prefect.

`ingest_new(inbox, out, state, config)`:

1. takes the state folder's lock (`STATE/ingest.lock`, an exclusive flock held for the
   whole run).  A run that finds it held does nothing and says so: the run holding it,
   or the next one, takes the inputs.  Runs are serialised, not merely kept apart on
   their inputs, because dedup must see every earlier run's documents in the index;
2. finishes what a crashed run had committed (`recover`);
3. lists the inbox and claims the files the ledger has not seen (by content hash);
4. runs the pipeline on them into a hidden staging folder `OUT/.partial-<name>`,
   deduplicating against all earlier runs through the index in STATE;
5. commits: the ledger records the inputs and the partition in one transaction, the
   staging folder is renamed to `OUT/<name>` (its start time, so names sort), and
   `OUT/manifest.jsonl` is rewritten.

A crash before the ledger commit leaves the inputs new: the next run does them again,
and documents that the crashed run had already put in the index come out as they did
(same ids and dedup decisions, with the first attempt's `added`).  A crash after it
leaves a complete staging folder, which the next run renames (2).  Loaders read
`manifest.jsonl`: it lists complete partitions only.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingest.config import Config
from ingest.ledger import Claim, Ledger
from ingest.pipeline import Mapper, run, serial_mapper
from ingest.read import InputFile, discover
from ingest.write import _fsync_dir, read_jsonl, write_json, write_jsonl

LOCK_NAME = "ingest.lock"
MANIFEST_NAME = "manifest.jsonl"
INPUTS_NAME = "inputs.jsonl"
_STAGING_PREFIX = ".partial-"
# 2026-11-21T05-30-00Z, with ".1", ".2" ... when a run starts in the same second as the last.
_PARTITION_NAME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z(?:\.\d+)?")


@dataclass
class Outcome:
    """What one incremental run did: "ingested", "nothing-new" or "skipped"."""

    status: str
    message: str
    partition: str | None = None
    report: dict[str, Any] | None = None
    recovered: list[str] = field(default_factory=list)  # partitions a crashed run had left to publish

    def to_json(self) -> dict[str, Any]:
        return {"status": self.status, "message": self.message, "partition": self.partition,
                "report": self.report, "recovered": self.recovered}


# ---------------------------------------------------------------- the lock


class StateLock:
    """An exclusive flock on STATE/ingest.lock for the length of a run.

    The kernel drops it when the holder exits, even by SIGKILL, so a crash never
    leaves a stale lock.  The holder writes its pid into the file for the message of a
    run that finds it held.
    """

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / LOCK_NAME
        # O_CLOEXEC: worker processes started by exec must not inherit (and hold) it.
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)

    def acquire(self) -> bool:
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, f"{os.getpid()}\n".encode(), 0)
        return True

    def wait(self) -> None:
        """Block until the lock is free, then hold it."""
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, f"{os.getpid()}\n".encode(), 0)

    def holder(self) -> str:
        return os.pread(self._fd, 32, 0).decode(errors="replace").strip() or "?"

    def close(self) -> None:
        os.close(self._fd)  # releases the lock if held


# ---------------------------------------------------------------- partitions


@dataclass(frozen=True)
class Partition:
    out: Path
    name: str

    @property
    def staging(self) -> Path:
        return self.out / f"{_STAGING_PREFIX}{self.name}"

    @property
    def final(self) -> Path:
        return self.out / self.name


def partition_name(started: dt.datetime) -> str:
    return started.astimezone(dt.UTC).strftime("%Y-%m-%dT%H-%M-%SZ")


def new_partition(out: Path, started: dt.datetime, taken: Sequence[str] = ()) -> Partition:
    """A partition named by the run's start time, made unique with a suffix."""
    base = partition_name(started)
    name, n = base, 0
    while name in taken or (out / name).exists() or (out / f"{_STAGING_PREFIX}{name}").exists():
        n += 1
        name = f"{base}.{n}"
    return Partition(out, name)


def publish(partition: Partition, ledger: Ledger) -> None:
    """Rename the committed staging folder into place (idempotent)."""
    if partition.staging.exists():
        os.rename(partition.staging, partition.final)
        _fsync_dir(partition.out)
    ledger.mark_published(partition.name)


def recover(out: Path, ledger: Ledger) -> list[str]:
    """Finish a crashed run's publishing and drop its uncommitted staging folders.

    Returns the partitions published now.  A committed partition whose output has
    vanished (both folders deleted by hand) is forgotten, so its inputs are new again.
    """
    recovered = []
    committed = ledger.unpublished()
    for name in committed:
        partition = Partition(out, name)
        if partition.staging.exists() or partition.final.exists():
            publish(partition, ledger)
            recovered.append(name)
        else:
            ledger.forget(name)
    if out.is_dir():
        for entry in out.iterdir():
            if entry.name.startswith(_STAGING_PREFIX) and entry.name[len(_STAGING_PREFIX):] not in committed:
                shutil.rmtree(entry, ignore_errors=True)  # a run that crashed before its commit
    return recovered


def write_manifest(out: Path) -> list[dict[str, Any]]:
    """OUT/manifest.jsonl: one line per complete partition, oldest first."""
    rows = [manifest_entry(p) for p in sorted(out.iterdir()) if p.is_dir() and _PARTITION_NAME.fullmatch(p.name)]
    write_jsonl(out / MANIFEST_NAME, rows)
    return rows


def manifest_entry(folder: Path) -> dict[str, Any]:
    report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    counts = report["counts"]
    return {
        "partition": folder.name,
        "started": report["started"],
        "finished": report["finished"],
        "files": report["partition"]["files"],
        "inputs": counts["inputs"],
        "documents": counts["documents"],
        "duplicates": counts["duplicates"],
        "rejected": counts["rejected"],
        "outputs": [f"{folder.name}/{name}" for name in ("documents.jsonl", "duplicates.jsonl", "rejects.jsonl")],
    }


def read_manifest(out: str | Path) -> list[dict[str, Any]]:
    path = Path(out) / MANIFEST_NAME
    return list(read_jsonl(path)) if path.exists() else []


# ---------------------------------------------------------------- a run


def check_folders(inbox: Path, out: Path, state: Path) -> None:
    """Raise ValueError when the outputs or the state would be read back as inputs."""
    inbox = inbox.resolve()
    for name, folder in (("--out", out.resolve()), ("--state", state.resolve())):
        if folder == inbox or inbox in folder.parents:
            raise ValueError(f"{name} {folder} is inside the inbox {inbox}: its files would be ingested")


def ingest_new(inbox: str | Path, out: str | Path, state: str | Path, config: Config,
               mapper: Mapper = serial_mapper, workers: int = 1) -> Outcome:
    """One incremental run: the new files of `inbox` into a new partition of `out`.

    Sources are absolute paths, so that the ledger knows a file however the inbox was
    named on the command line.
    """
    inbox, out, state = Path(os.path.abspath(inbox)), Path(out), Path(state)
    check_folders(inbox, out, state)
    lock = StateLock(state)
    try:
        if not lock.acquire():
            return Outcome("skipped", f"another run (pid {lock.holder()}) holds {lock.path}; its inputs wait for the next run")
        return _locked_run(inbox, out, state, config, mapper, workers)
    finally:
        lock.close()


def _locked_run(inbox: Path, out: Path, state: Path, config: Config, mapper: Mapper, workers: int) -> Outcome:
    started = dt.datetime.now(dt.UTC)
    out.mkdir(parents=True, exist_ok=True)
    ledger = Ledger(state)
    try:
        recovered = recover(out, ledger)
        claims, known = ledger.claim(discover([str(inbox)], config.read))
        if not claims:
            write_manifest(out)
            return Outcome("nothing-new", f"nothing new in {inbox} ({known} files ingested before)", recovered=recovered)
        partition = new_partition(out, started)
        report = _run_partition(partition, claims, known, state, config, mapper, workers)
        settled = [c for c in claims if c.unchanged()]  # a file changed meanwhile is new again next run
        ledger.commit(partition.name, report["finished"], settled)
        publish(partition, ledger)
        write_manifest(out)
        c = report["counts"]
        return Outcome(
            "ingested",
            f"{len(claims)} new files, {c['inputs']} inputs: {c['documents']} documents, {c['duplicates']} duplicates, "
            f"{c['rejected']} rejected -> {partition.final}",
            partition.name, report, recovered,
        )
    finally:
        ledger.close()


def _run_partition(partition: Partition, claims: Sequence[Claim], known: int, state: Path, config: Config,
                   mapper: Mapper, workers: int) -> dict[str, Any]:
    """The pipeline over the claimed files into the staging folder, with the partition's
    inputs listed beside the outputs; returns the report (also in report.json)."""
    staging = partition.staging
    staging.mkdir(parents=True)
    write_jsonl(staging / INPUTS_NAME, (_input_json(c) for c in claims))
    files: list[str | InputFile] = [c.file for c in claims]
    report = run(files, staging, config, mapper=mapper, state_dir=state, workers=workers)
    report["partition"] = {"name": partition.name, "files": len(claims), "files_ingested_before": known}
    write_json(staging / "report.json", report)
    return report


def _input_json(claim: Claim) -> dict[str, Any]:
    f = claim.file
    return {"source": f.source, "path": f.path, "size": claim.size, "content_hash": claim.content_hash}
