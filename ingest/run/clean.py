"""Phase 2, in the workers: artefact rules and learned boilerplate; words and sketches.

Each cleaned batch is spilled to the workspace: its documents (JSONL), its rejects,
and its words, their marks, MinHash signatures and passage anchors (`ingest/run/spill.py`).
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

from ingest.clean.boilerplate import LearnedLines
from ingest.clean.record import clean_record
from ingest.clean.rules import Cleaner
from ingest.config import Config
from ingest.dedup.minhash import MinHasher
from ingest.document import Reject
from ingest.run.spill import BatchWords
from ingest.workspace import Workspace
from ingest.write.jsonl import read_jsonl, write_jsonl
from ingest.write.rejects import write_batch_rejects


# Characters of clean text sketched at a time (`BatchWords.add`): a few hundred news
# documents, enough that numpy's fixed cost per call is small, few enough that the
# arrays of code points stay a few MiB.
_CHARACTERS_AT_ONCE = 1 << 20


@dataclass
class CleanSummary:
    batch: int
    # Per document, in row order: id, characters of clean text, created, source. Its
    # word hashes, MinHash signature and anchors are spilled (`BatchWords`): numpy
    # arrays by the thousand cost more to pass back from a task than to read again.
    documents: list[tuple[str, int, str | None, str]]
    rejected: int = 0
    removals: Counter = field(default_factory=Counter)  # rule -> count
    removed_chars: Counter = field(default_factory=Counter)  # rule -> characters
    repairs: Counter = field(default_factory=Counter)  # repair -> count
    seconds: float = 0.0


def clean_batch(batch: int, config: Config, workspace: Workspace, boilerplate: set[tuple[str, int]],
                added: str) -> CleanSummary:
    started = time.perf_counter()
    cleaner = Cleaner(config.clean)
    learned = LearnedLines(boilerplate)
    hasher = MinHasher(config.dedup.num_perm, config.dedup.seed)
    summary = CleanSummary(batch, [])
    words = BatchWords()
    documents: list[dict] = []
    rejects: list[dict] = []
    pending: list[tuple[str, str]] = []  # id and text of the documents not sketched yet
    pending_characters = 0
    for row in read_jsonl(workspace.prepared(batch)):
        doc = clean_record(row, cleaner, config, learned, added)
        if isinstance(doc, Reject):
            rejects.append(doc.to_json())
            continue
        for r in doc.cleaning["removed"]:
            summary.removals[r["rule"]] += 1
            summary.removed_chars[r["rule"]] += len(r["text"])
        for repair in doc.cleaning["repairs"]:
            summary.repairs[repair["rule"]] += repair.get("count", 1)
        documents.append(doc.to_json())
        summary.documents.append((doc.id, len(doc.text), doc.created, doc.source))
        pending.append((doc.id, doc.text))
        pending_characters += len(doc.text)
        if pending_characters >= _CHARACTERS_AT_ONCE:
            words.add(*map(list, zip(*pending)), config.dedup, hasher)
            pending, pending_characters = [], 0
    if pending:
        words.add(*map(list, zip(*pending)), config.dedup, hasher)
    write_jsonl(workspace.cleaned(batch), documents, durable=False)
    words.save(workspace, batch)
    summary.rejected = write_batch_rejects(workspace, batch, "clean", rejects)
    summary.seconds = time.perf_counter() - started
    return summary
