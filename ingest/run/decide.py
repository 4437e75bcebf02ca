"""The central dedup step, in the flow's process: the run's sketches read back, clustered.

The workers spilled each cleaned batch's sketches (`ingest/run/spill.py`); here they
are read back without their word marks, which are read only for candidate pairs, and
the run's near-duplicate clusters are decided, against the index of earlier runs when
there is one.

An input too large for `[run] central_memory_mib` is decided out of core
(`central_spill`): the sketches are read back without their signatures too, which the
LSH reads once into band keys on disk (`ingest/dedup/spilled_lsh.py`), and the passage
candidates are found from spilled anchors (`ingest/dedup/spilled_anchors.py`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from ingest.config import Config
from ingest.dedup.clusters import Deduplicator
from ingest.dedup.decisions import DedupResult
from ingest.dedup.minhash import Sketch
from ingest.dedup.prior import PriorIndex
from ingest.run.clean import CleanSummary
from ingest.run.spill import SpilledWords
from ingest.workspace import Workspace

# What the central steps hold a document in memory at their peak, bytes: measured by
# bench/central_memory.py at 20,000 bench documents (dedup 1.6 KB, then the passage
# candidates 2.9 KB over the 1.1 KB dedup left).
CENTRAL_BYTES_PER_DOCUMENT = 4096
_NO_SIGNATURE = np.empty(0, dtype=np.uint32)


def central_spill(summaries: Iterable[CleanSummary], config: Config, workspace: Workspace) -> Path | None:
    """Where the central steps spill, or None when the run's documents fit in
    `[run] central_memory_mib` (then they run in memory)."""
    documents = sum(len(s.documents) for s in summaries)
    if documents * CENTRAL_BYTES_PER_DOCUMENT <= config.run.central_memory_mib * 2**20:
        return None
    return workspace.root


def deduplicate(summaries: Iterable[CleanSummary], config: Config, words: SpilledWords, added: str,
                state: PriorIndex | None = None, spill_to: Path | None = None) -> tuple[Deduplicator, DedupResult]:
    """`spill_to`: where to spill (`central_spill`), None to decide in memory."""
    dedup = Deduplicator(config.dedup, marks_of=lambda s: words.marks(s.batch, s.row),
                         signature_of=(lambda s: words.signature(s.batch, s.row)) if spill_to else None,
                         spill_to=spill_to)
    for summary in summaries:
        for s in load_sketches(words, summary, added, with_signatures=spill_to is None):
            dedup.add(s)
        summary.documents.clear()  # in the sketches now (the same strings)
    return dedup, dedup.run(state)


def load_sketches(words: SpilledWords, summary: CleanSummary, added: str,
                  with_signatures: bool = True) -> Iterator[Sketch]:
    """The sketches of a cleaned batch, over its spilled arrays (views, not copies),
    without their word marks: `deduplicate` reads those of candidate pairs only; and
    without their signatures unless `with_signatures`."""
    b = summary.batch
    offsets, tokens = words.array(b, "offsets").tolist(), words.array(b, "tokens")
    signatures = words.signatures(b) if with_signatures else None
    for row, (doc_id, length, created, source) in enumerate(summary.documents):
        yield Sketch(doc_id, length, created, added, source, tokens[offsets[row] : offsets[row + 1]],
                     signatures[row] if signatures is not None else _NO_SIGNATURE, b, row)
