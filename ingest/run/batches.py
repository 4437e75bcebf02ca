"""A run's input files, split into batches for the workers."""

from __future__ import annotations

import heapq
from collections.abc import Sequence

from ingest.config import RunConfig
from ingest.read.files import InputFile

_MIN_BATCH_BYTES = 2**20
# Each phase waits for its last batch: with about eight batches a worker, the last
# round leaves a core idle for about an eighth of a phase at most. The batches of a
# phase are grouped into a few tasks (flows/ingest_flow.py), so their number costs no
# task overhead.
_BATCHES_PER_WORKER = 8


def plan_batches(files: Sequence[InputFile], config: RunConfig, workers: int) -> list[list[InputFile]]:
    """Split the inputs into batches, in order, without splitting a file.

    About eight batches per worker, so that one slow batch does not leave a core idle,
    and a multiple of the workers, so that the last round of a phase keeps them all
    busy (17 batches on 2 workers left one idle for a batch's time in every phase);
    never more than `batch_files` files or `batch_bytes` bytes in one (memory), nor
    batches so small that task overhead dominates (1 MB). Whole files make even shares
    uneven: of a few counts from there, the one whose batches, handed in order to the
    next free worker, finish first (bytes standing for time); the fewest on a tie.
    """
    workers = max(workers, 1)
    total = sum(f.size for f in files)
    least = max(1, min(_BATCHES_PER_WORKER * workers, total // _MIN_BATCH_BYTES), -(-total // config.batch_bytes))
    least = -(-least // workers) * workers
    plans = [_cut(files, total / count, config) for count in range(least, least + 4 * workers + 1, workers)]
    return min(plans, key=lambda batches: (_finish(batches, workers), len(batches)))


def _finish(batches: list[list[InputFile]], workers: int) -> int:
    """When the last of `batches` ends, in bytes, each going to the first free worker."""
    free = [0] * workers
    for batch in batches:
        heapq.heapreplace(free, free[0] + sum(f.size for f in batch))
    return max(free)


def _cut(files: Sequence[InputFile], share: float, config: RunConfig) -> list[list[InputFile]]:
    """Batches that end where the running total of bytes passes a multiple of `share`."""
    batches: list[list[InputFile]] = []
    current: list[InputFile] = []
    size = done = 0
    for f in files:
        past_share = done + f.size / 2 > share * (len(batches) + 1)
        if current and (past_share or len(current) >= config.batch_files or size + f.size > config.batch_bytes):
            batches.append(current)
            current, size = [], 0
        current.append(f)
        size += f.size
        done += f.size
    if current:
        batches.append(current)
    return batches
