"""Documents and duplicates: `documents.jsonl` and `duplicates.jsonl`, each written atomically.

Each batch writes its share of both to the workspace, with its dedup decisions and
passages filled in (`write_batch`, in the workers); the shares are then concatenated
into the output files (`write_documents`). A line nothing changed is copied as the
clean phase wrote it. With `[write] format = "parquet"` each batch also converts its
shares to Parquet, and the output files are `documents.parquet` and `duplicates.parquet`.
"""

from __future__ import annotations

import functools
import json
import shutil
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ingest.arrays import unique_index
from ingest.config import Config
from ingest.dedup.decisions import NO_CLUSTER, Decision
from ingest.workspace import Workspace
from ingest.write.jsonl import atomic_writer, dumps
from ingest.write.parquet import concatenate, write_part

_ID_PREFIX = '{"id":"'


def _line_id(line: str) -> str:
    """The id of a cleaned line without parsing it: `dumps` writes the id first."""
    if line.startswith(_ID_PREFIX):
        end = line.index('"', len(_ID_PREFIX))
        return line[len(_ID_PREFIX) : end]
    return json.loads(line)["id"]


def _passages_json(sides: np.ndarray, id_of: Callable[[int, int], str]) -> list[dict]:
    """One document's passage sides as output: grouped by span, partners by id."""
    found = sorted((s, e, id_of(ob, orow), os_, oe, sim)
                   for s, e, ob, orow, os_, oe, sim in zip(*(sides[k].tolist() for k in (
                       "start", "end", "other_batch", "other_row", "other_start", "other_end", "similarity"))))
    grouped: dict[tuple[int, int], list[dict]] = defaultdict(list)
    for s, e, other_id, other_start, other_end, sim in found:
        grouped[(s, e)].append({"id": other_id, "start": other_start, "end": other_end, "similarity": sim})
    return [{"start": s, "end": e, "duplicates": dups} for (s, e), dups in grouped.items()]


def write_batch(batch: int, config: Config, workspace: Workspace, decisions: dict[str, Decision],
                added_before: dict[str, str], passages: np.ndarray) -> dict[str, int]:
    """This batch's share of documents.jsonl and duplicates.jsonl, in the workspace.

    `decisions` holds the documents whose decision is not NO_CLUSTER, `passages`
    the sides of passages in this batch (PASSAGE_SIDE). A line nothing changed is
    copied as the clean phase wrote it.
    """
    ids = functools.cache(workspace.ids)
    sides_of: dict[int, np.ndarray] = {}
    if len(passages):
        passages = passages[np.argsort(passages["row"], kind="stable")]
        rows, starts = unique_index(passages["row"])
        for row, lo, hi in zip(rows.tolist(), starts.tolist(), [*starts[1:].tolist(), len(passages)]):
            sides_of[row] = passages[lo:hi]
    # "label" mode keeps every copy in documents.jsonl; duplicates.jsonl is then empty.
    keep_apart = config.dedup.mode == "keep"
    counts = {"documents": 0, "duplicates": 0}
    with open(workspace.cleaned(batch), encoding="utf-8") as lines, \
            open(workspace.part(batch, "documents"), "w", encoding="utf-8") as docs, \
            open(workspace.part(batch, "duplicates"), "w", encoding="utf-8") as dups:
        for row_no, line in enumerate(lines):
            doc_id = _line_id(line)
            decision = decisions.get(doc_id, NO_CLUSTER)
            sides = sides_of.get(row_no)
            if decision == NO_CLUSTER and sides is None and doc_id not in added_before:
                docs.write(line)
                counts["documents"] += 1
                continue
            row = json.loads(line)
            if doc_id in added_before:
                row["added"] = added_before[doc_id]  # a rerun: the same line as before
            row["dedup"] = decision.to_json()
            row["passages"] = _passages_json(sides, lambda b, row: ids(b)[row]) if sides is not None else []
            to_duplicates = keep_apart and decision.duplicate_of is not None
            (dups if to_duplicates else docs).write(dumps(row) + "\n")
            counts["duplicates" if to_duplicates else "documents"] += 1
    if config.write.format == "parquet":
        for name in ("documents", "duplicates"):
            write_part(workspace.part(batch, name), name)
    return counts


def write_documents(out_dir: Path, workspace: Workspace, batches: int, output_format: str = "jsonl") -> None:
    """documents and duplicates (.jsonl or .parquet), each written atomically from the batches' parts."""
    for name in ("documents", "duplicates"):
        if output_format == "parquet":
            parts = (workspace.part(b, name).with_suffix(".parquet") for b in range(batches))
            concatenate(out_dir / f"{name}.parquet", name, parts)
            continue
        with atomic_writer(out_dir / f"{name}.jsonl") as out:
            for b in range(batches):
                with open(workspace.part(b, name), "rb") as part:
                    shutil.copyfileobj(part, out.buffer, 2**20)  # bytes: UTF-8 already
