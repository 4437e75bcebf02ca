"""The central dedup step, in the flow's process: the run's sketches read back, clustered.

The workers spilled each cleaned batch's sketches (`ingest/run/spill.py`); here they
are held as columns (`ingest/dedup/sketch_table.py`), their words read back by (batch,
row) when compared and their word marks only for candidate pairs, and the run's
near-duplicate clusters are decided, against the index of earlier runs when there is one.
The candidate pairs are verified in the workers by chunks (`verify_pair_chunk`, the
"verify" phase), in rounds whose verdicts do not depend on where they ran
(`ingest/dedup/pair_rounds.py`).

An input too large for `[run] central_memory_mib` is decided out of core
(`central_spill`): the signatures are not held either, the LSH reads them once into
band keys on disk (`ingest/dedup/spilled_lsh.py`), and the passage candidates are found
from spilled anchors (`ingest/dedup/spilled_anchors.py`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np

from ingest.config import Config
from ingest.dedup.clusters import Deduplicator
from ingest.dedup.decisions import DedupResult
from ingest.dedup.minhash import Sketch
from ingest.dedup.pair_rounds import ChunkVerdicts, ChunkVerifier, verify_chunk
from ingest.dedup.prior import PriorIndex
from ingest.run.clean import CleanSummary
from ingest.run.spill import SpilledWords
from ingest.workspace import Workspace

# What the central steps hold a document in memory at their peak, bytes: measured by
# bench/central_memory.py at 20,000 bench documents (dedup 1.6 KB, then the passage
# candidates 2.9 KB over the 1.1 KB dedup left).
CENTRAL_BYTES_PER_DOCUMENT = 4096
_NO_ARRAY = np.empty(0, dtype=np.uint32)
# A run's pairs are verified in this process until this many (about 2 s of CPU) have
# been: a phase in the workers costs a Prefect task (0.2-0.5 s at 20,000 documents).
# Past it the run is large, and its later chunks, small ones too (the last rounds, whose
# pairs are mostly connected already; the members compared with their kept one), go to
# the workers: verified here, they left both idle.
PAIRS_IN_WORKERS = 32_768


def central_spill(summaries: Iterable[CleanSummary], config: Config, workspace: Workspace) -> Path | None:
    """Where the central steps spill, or None when the run's documents fit in
    `[run] central_memory_mib` (then they run in memory)."""
    documents = sum(len(s.documents) for s in summaries)
    if documents * CENTRAL_BYTES_PER_DOCUMENT <= config.run.central_memory_mib * 2**20:
        return None
    return workspace.root


def deduplicate(summaries: Iterable[CleanSummary], config: Config, words: SpilledWords, added: str,
                state: PriorIndex | None = None, spill_to: Path | None = None,
                mapper: Callable[[str, list[tuple]], list] | None = None,
                workspace: Workspace | None = None) -> tuple[Deduplicator, DedupResult]:
    """`spill_to`: where to spill (`central_spill`), None to decide in memory;
    `mapper` (with the run's `workspace`): runs the "verify" phase, chunks of candidate
    pairs verified where the words were spilled (`verify_pair_chunk`), None to verify
    them here.

    The sketches are held as columns (`SketchTable`): their words are read back from the
    spilled batches by (batch, row); the LSH takes the signatures a batch at a time,
    out of core each batch's read whole when it is its turn, in memory each batch's
    held as one array."""
    signatures: dict[int, np.ndarray] = {}
    classes: dict[int, np.ndarray] = {}  # each batch's text classes (8 bytes a document)
    dedup = Deduplicator(config.dedup, marks_of=lambda s: words.marks(s.batch, s.row),
                         signature_of=((lambda s: words.signature(s.batch, s.row)) if spill_to
                                       else (lambda s: signatures[s.batch][s.row])),
                         spill_to=spill_to, tokens_of=lambda b, row: _tokens(words, b, row),
                         batch_signatures=words.signatures if spill_to else signatures.__getitem__,
                         chunk_verifier=(lambda where: _verifier(where, mapper, config, workspace))
                         if mapper is not None else None,
                         text_classes_of=lambda where: _by_location(classes, where))
    for summary in summaries:
        classes[summary.batch] = words.classes(summary.batch)
        if spill_to is None:
            signatures[summary.batch] = words.signatures(summary.batch)
        for s in load_sketches(summary, added):
            dedup.add(s)
        summary.documents.clear()  # in the sketches' columns now (the same strings)
    return dedup, dedup.run(state)


def _by_location(values: dict[int, np.ndarray], where: np.ndarray) -> np.ndarray:
    """The values of documents at rows (batch, row), from each batch's array of them."""
    batches = sorted(values)
    flat = np.concatenate([values[b] for b in batches]) if batches else np.empty(0, np.int64)
    starts = np.zeros(batches[-1] + 1 if batches else 0, dtype=np.int64)
    starts[batches] = np.cumsum([0] + [len(values[b]) for b in batches[:-1]])
    return flat[starts[where[:, 0]] + where[:, 1]]


def _verifier(where: np.ndarray, mapper: Callable[[str, list[tuple]], list], config: Config,
              workspace: Workspace) -> ChunkVerifier:
    """Chunks of candidate pairs of positions, verified by `verify_pair_chunk`s run by
    `mapper`; `where`: each position's document's (batch, row)."""
    pairs_so_far = 0

    def verify(chunks: list[np.ndarray]) -> list[ChunkVerdicts]:
        nonlocal pairs_so_far
        args = [(np.hstack((where[c[:, 0]], where[c[:, 1]], c[:, 2:])), config, workspace) for c in chunks]
        pairs_so_far += sum(len(c) for c in chunks)
        if pairs_so_far < PAIRS_IN_WORKERS:
            return [verify_pair_chunk(*a) for a in args]  # the same verdicts, without a phase's overhead
        return mapper("verify", args)

    return verify


def verify_pair_chunk(rows: np.ndarray, config: Config, workspace: Workspace) -> ChunkVerdicts:
    """A chunk of candidate pairs verified (`pair_rounds.verify_chunk`), rows of (a_batch,
    a_row, b_batch, b_row, a's component, b's component, a's text class, b's, what was
    found before of them), the words read from the clean phase's spilled batches."""
    words = SpilledWords(workspace)
    try:
        return verify_chunk([tuple(r) for r in rows[:, :2].tolist()], [tuple(r) for r in rows[:, 2:4].tolist()],
                            rows[:, 4:], lambda doc: (words.tokens(*doc), words.marks(*doc)), config.dedup)
    finally:
        words.close()


def _tokens(words: SpilledWords, batch: int, row: int) -> np.ndarray:
    """A document's word hashes: a view of its batch's mapped array."""
    offsets = words.array(batch, "offsets")
    return words.array(batch, "tokens")[offsets[row] : offsets[row + 1]]


def load_sketches(summary: CleanSummary, added: str) -> Iterator[Sketch]:
    """The sketches of a cleaned batch without their arrays: `SketchTable` reads the
    words by (batch, row), `deduplicate` the word marks of candidate pairs only."""
    for row, (doc_id, length, created, source) in enumerate(summary.documents):
        yield Sketch(doc_id, length, created, added, source, _NO_ARRAY, _NO_ARRAY, summary.batch, row)
