"""The central dedup step, in the flow's process: the run's sketches read back, clustered.

The workers spilled each cleaned batch's sketches (`ingest/run/spill.py`); here they
are read back without their word marks, which are read only for candidate pairs, and
the run's near-duplicate clusters are decided, against the index of earlier runs when
there is one.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from ingest.config import Config
from ingest.dedup.clusters import Deduplicator
from ingest.dedup.decisions import DedupResult
from ingest.dedup.minhash import Sketch
from ingest.dedup.prior import PriorIndex
from ingest.run.clean import CleanSummary
from ingest.run.spill import SpilledWords


def deduplicate(summaries: Iterable[CleanSummary], config: Config, words: SpilledWords, added: str,
                state: PriorIndex | None = None) -> tuple[Deduplicator, DedupResult]:
    dedup = Deduplicator(config.dedup, marks_of=lambda s: words.marks(s.batch, s.row))
    for summary in summaries:
        for s in load_sketches(words, summary, added):
            dedup.add(s)
    return dedup, dedup.run(state)


def load_sketches(words: SpilledWords, summary: CleanSummary, added: str) -> Iterator[Sketch]:
    """The sketches of a cleaned batch, over its spilled arrays (views, not copies),
    without their word marks: `deduplicate` reads those of candidate pairs only."""
    b = summary.batch
    offsets, tokens = words.array(b, "offsets").tolist(), words.array(b, "tokens")
    signatures = words.signatures(b)
    for row, (doc_id, length, created, source) in enumerate(summary.documents):
        yield Sketch(doc_id, length, created, added, source, tokens[offsets[row] : offsets[row + 1]],
                     signatures[row], b, row)
