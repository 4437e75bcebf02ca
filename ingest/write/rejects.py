"""Rejects: input records that could not become documents, each written once with its reason.

A batch writes the rejects it meets to the workspace as it goes (unreadable or malformed
input, undecodable bytes and failed extraction in the prepare phase; no text left after
cleaning in the clean phase); `write_rejects` gathers them into `rejects.jsonl`, one
line each (`ingest/schema/reject.schema.json`), or into `rejects.parquet`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from ingest.workspace import Workspace
from ingest.write.jsonl import read_jsonl, write_jsonl
from ingest.write.parquet import write_parquet

# The phases that meet rejects, in the order their rejects are written out.
PHASES = ("prepare", "clean")


def write_batch_rejects(workspace: Workspace, batch: int, phase: str, rejects: Iterable[dict]) -> int:
    """One batch's rejects of one phase (as `Reject.to_json` gives them), in the workspace."""
    return write_jsonl(workspace.rejects(batch, phase), rejects, durable=False)


def write_rejects(out_dir: Path, workspace: Workspace, batches: int, output_format: str = "jsonl") -> int:
    """`rejects.jsonl` (or `.parquet`), written atomically from every batch's rejects; returns how many."""

    def rejects() -> Iterator[dict]:
        for phase in PHASES:
            for b in range(batches):
                yield from read_jsonl(workspace.rejects(b, phase))

    if output_format == "parquet":
        return write_parquet(out_dir / "rejects.parquet", "rejects", rejects())
    return write_jsonl(out_dir / "rejects.jsonl", rejects())
