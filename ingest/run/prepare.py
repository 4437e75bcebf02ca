"""Phase 1, in the workers: read, decode, extract and repair a batch of files.

The prepared records are spilled to the workspace, rejects beside them, and the
batch reports which lines each source group repeats (for learned boilerplate).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ingest.clean.boilerplate import LineTally
from ingest.clean.record import prepare_record, reject_from
from ingest.config import Config
from ingest.document import Reject, Skipped
from ingest.read.files import InputFile
from ingest.read.records import read_records
from ingest.workspace import Workspace
from ingest.write.jsonl import write_jsonl
from ingest.write.rejects import write_batch_rejects


@dataclass
class PrepareSummary:
    batch: int
    inputs: int = 0
    rejected: int = 0
    # Items that are not documents ("wxr:attachment"), and drafts with `[metadata]
    # skip_drafts` ("draft"), by kind: inputs == documents + duplicates + rejected + skipped.
    skipped: Counter = field(default_factory=Counter)
    bytes_read: int = 0
    seconds: float = 0.0
    # Per source group: how many documents, and in how many documents each line appears
    # (`LineTally`).
    group_docs: Counter = field(default_factory=Counter)
    line_docs: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)


def prepare_batch(batch: int, files: Sequence[InputFile], config: Config, workspace: Workspace) -> PrepareSummary:
    started = time.perf_counter()
    summary = PrepareSummary(batch)
    rejects: list[dict] = []
    prepared_rows: list[dict] = []
    lines = LineTally(config.clean.boilerplate)
    for f in files:
        summary.bytes_read += f.size
        for item in read_records(f, config.read):
            summary.inputs += 1
            if isinstance(item, Reject):
                rejects.append(item.to_json())
                continue
            if isinstance(item, Skipped):
                summary.skipped[item.kind] += 1
                continue
            # Bad input (DecodeError, ExtractError) and a bug on one record alike: the
            # record becomes a reject and the others go on.
            try:
                row = prepare_record(item, config)
            except Exception as exc:
                rejects.append(reject_from(item, exc).to_json())
                continue
            if config.metadata.skip_drafts and row["metadata"].get("draft"):
                summary.skipped["draft"] += 1
                continue
            prepared_rows.append(row)
            lines.add(row["group"], row["text"])
    summary.group_docs, summary.line_docs = lines.group_docs, lines.line_docs()
    write_jsonl(workspace.prepared(batch), prepared_rows, durable=False)
    summary.rejected = write_batch_rejects(workspace, batch, "prepare", rejects)
    summary.seconds = time.perf_counter() - started
    return summary
