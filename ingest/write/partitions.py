"""Partitions of an inbox's output: one folder per run, and the manifest of complete ones.

A run writes `OUT/<start time>/` (names sort) as the hidden staging folder
`OUT/.partial-<start time>`, renamed into place when complete; `OUT/manifest.jsonl`
lists the complete partitions with their counts, so loaders read the partitions it
names and nothing half-written.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest.write.jsonl import read_jsonl, write_jsonl

MANIFEST_NAME = "manifest.jsonl"
OUTPUT_KINDS = ("documents", "duplicates", "rejects")
INPUTS_NAME = "inputs.jsonl"
STAGING_PREFIX = ".partial-"
# 2026-11-21T05-30-00Z, with ".1", ".2" ... when a run starts in the same second as the last.
_PARTITION_NAME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z(?:\.\d+)?")


@dataclass(frozen=True)
class Partition:
    out: Path
    name: str

    @property
    def staging(self) -> Path:
        return self.out / f"{STAGING_PREFIX}{self.name}"

    @property
    def final(self) -> Path:
        return self.out / self.name


def partition_name(started: dt.datetime) -> str:
    return started.astimezone(dt.UTC).strftime("%Y-%m-%dT%H-%M-%SZ")


def new_partition(out: Path, started: dt.datetime, taken: Sequence[str] = ()) -> Partition:
    """A partition named by the run's start time, made unique with a suffix."""
    base = partition_name(started)
    name, n = base, 0
    while name in taken or (out / name).exists() or (out / f"{STAGING_PREFIX}{name}").exists():
        n += 1
        name = f"{base}.{n}"
    return Partition(out, name)


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
        "outputs": [f"{folder.name}/{output_file(folder, kind).name}" for kind in OUTPUT_KINDS],
    }


def output_file(folder: Path, kind: str) -> Path:
    """A run's output of one kind ("documents", "duplicates", "rejects"): .parquet when
    the run wrote Parquet, else .jsonl."""
    parquet = folder / f"{kind}.parquet"
    return parquet if parquet.exists() else folder / f"{kind}.jsonl"


def read_manifest(out: str | Path) -> list[dict[str, Any]]:
    path = Path(out) / MANIFEST_NAME
    return list(read_jsonl(path)) if path.exists() else []
