"""A run's new documents into the index, and its decisions made final there first.

A shared (Redis) index can be written by other runs while this one decides: the run
claims its new documents before its outputs are written, deciding again while other
runs got there first, so that two runs that meet two copies of one story at once keep
exactly one (`settle`). The embedded index has one writer: it takes the run's
documents once the outputs are in place, in one transaction (`new_entries`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

from ingest.dedup.clusters import Deduplicator
from ingest.dedup.decisions import DedupResult
from ingest.dedup.prior import IndexedDocument
from ingest.index.format import StateError
from ingest.index.sqlite_index import StateIndex

if TYPE_CHECKING:
    from ingest.index.redis_index import RedisIndex


# Re-decisions after conflicts before a run gives up (each needs another run's insert
# into one of its buckets during its own decision: more means the index is hammered).
MAX_CLAIM_ROUNDS = 20


def new_entries(dedup: Deduplicator, result: DedupResult,
                rows: Iterable[dict]) -> Iterator[tuple[IndexedDocument, str, list[int]]]:
    """What the index keeps of the run's documents (its cleaned `rows`) not indexed before."""
    for row in rows:
        if row["id"] not in result.added_before:
            yield dedup.index_entry(row["id"], row["text"], result.decisions[row["id"]])


def claim_run(index: RedisIndex, dedup: Deduplicator, result: DedupResult,
              cleaned_rows: Callable[[], Iterable[dict]]) -> DedupResult:
    """Claim the run's new documents, deciding again while other runs got there first.

    On success every document of the run is in the index with this run's `added`; they
    are recorded in `added_before`, so that writing the outputs does not index them again.
    """
    for _ in range(MAX_CLAIM_ROUNDS):
        claim = index.claim(new_entries(dedup, result, cleaned_rows()))
        if not claim.conflicts:
            result.added_before.update(claim.claimed)
            return result
        index.conflicts += len(claim.conflicts)
        result = dedup.run(index)
    raise StateError(f"{index.shown_as}: other runs kept inserting into this run's buckets; "
                     f"gave up after {MAX_CLAIM_ROUNDS} decisions")


def settle(index: StateIndex | RedisIndex, dedup: Deduplicator, result: DedupResult,
           cleaned_rows: Callable[[], Iterable[dict]]) -> DedupResult:
    """Make the run's decisions final in the index before its outputs are written.

    A shared index can be written by other runs while this one decides: its new
    documents are claimed (re-deciding when another run got there first), and they
    are then in the index, so `new_entries` finds none of them left to add. The
    embedded index is left as it is here.
    """
    if isinstance(index, StateIndex):
        return result
    return claim_run(index, dedup, result, cleaned_rows)
