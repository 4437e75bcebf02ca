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
   `OUT/manifest.jsonl` is rewritten;
6. with a store to load into, loads the partitions of OUT it has not loaded yet.

A crash before the ledger commit leaves the inputs new: the next run does them again,
and documents that the crashed run had already put in the index come out as they did
(same ids and dedup decisions, with the first attempt's `added`).  A crash after it
leaves a complete staging folder, which the next run renames (2).  Loaders read
`manifest.jsonl`: it lists complete partitions only.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingest.config import Config
from ingest.faults import fault_point
from ingest.index.ledger import Claim, Ledger
from ingest.index.lock import StateLock
from ingest.load.target import load
from ingest.read.files import InputFile, discover
from ingest.run.pipeline import Mapper, run, serial_mapper
from ingest.run.report import skipped_note
from ingest.write.jsonl import fsync_dir, write_json, write_jsonl
from ingest.write.partitions import INPUTS_NAME, STAGING_PREFIX, Partition, new_partition, write_manifest


@dataclass
class Outcome:
    """What one incremental run did: "ingested", "nothing-new" or "skipped"."""

    status: str
    message: str
    partition: str | None = None
    report: dict[str, Any] | None = None
    recovered: list[str] = field(default_factory=list)  # partitions a crashed run had left to publish
    load: str | None = None  # what loading the output into a store did

    def to_json(self) -> dict[str, Any]:
        return {"status": self.status, "message": self.message, "partition": self.partition,
                "report": self.report, "recovered": self.recovered, "load": self.load}


def publish(partition: Partition, ledger: Ledger) -> None:
    """Rename the committed staging folder into place (idempotent)."""
    if partition.staging.exists():
        os.rename(partition.staging, partition.final)
        fsync_dir(partition.out)
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
            if entry.name.startswith(STAGING_PREFIX) and entry.name[len(STAGING_PREFIX):] not in committed:
                shutil.rmtree(entry, ignore_errors=True)  # a run that crashed before its commit
    return recovered


def check_folders(inbox: Path, out: Path, state: Path) -> None:
    """Raise ValueError when the outputs or the state would be read back as inputs."""
    inbox = inbox.resolve()
    for name, folder in (("--out", out.resolve()), ("--state", state.resolve())):
        if folder == inbox or inbox in folder.parents:
            raise ValueError(f"{name} {folder} is inside the inbox {inbox}: its files would be ingested")


def ingest_new(inbox: str | Path, out: str | Path, state: str | Path, config: Config,
               mapper: Mapper = serial_mapper, workers: int = 1, load_into: str | None = None) -> Outcome:
    """One incremental run: the new files of `inbox` into a new partition of `out`.

    Sources are absolute paths, so that the ledger knows a file however the inbox was
    named on the command line. With `load_into` (`duckdb:PATH`, `iceberg:FOLDER`), the
    partitions of `out` not loaded yet (this run's, and any an earlier load missed) are
    loaded once published; a load that fails raises LoadError, the partition published.
    """
    inbox, out, state = Path(os.path.abspath(inbox)), Path(out), Path(state)
    check_folders(inbox, out, state)
    lock = StateLock(state)
    try:
        if not lock.acquire():
            return Outcome("skipped", f"another run (pid {lock.holder()}) holds {lock.path}; its inputs wait for the next run")
        outcome = _locked_run(inbox, out, state, config, mapper, workers)
        if load_into is not None:
            outcome.load = load(out, load_into, config.load).message()
            outcome.message += f"; {outcome.load}"
        return outcome
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
        fault_point("indexed")
        settled = [c for c in claims if c.unchanged()]  # a file changed meanwhile is new again next run
        ledger.commit(partition.name, report["finished"], settled)
        fault_point("committed")
        publish(partition, ledger)
        write_manifest(out)
        c = report["counts"]
        return Outcome(
            "ingested",
            f"{len(claims)} new files, {c['inputs']} inputs: {c['documents']} documents, {c['duplicates']} duplicates, "
            f"{c['rejected']} rejected{skipped_note(c)} -> {partition.final}",
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
    fault_point("claimed")
    files: list[str | InputFile] = [c.file for c in claims]
    report = run(files, staging, config, mapper=mapper, state_dir=state, workers=workers)
    report["partition"] = {"name": partition.name, "files": len(claims), "files_ingested_before": known}
    write_json(staging / "report.json", report)
    return report


def _input_json(claim: Claim) -> dict[str, Any]:
    f = claim.file
    return {"source": f.source, "path": f.path, "size": claim.size, "content_hash": claim.content_hash}
