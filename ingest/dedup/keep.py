"""The keep policy: which document of a duplicate cluster is kept.

`[dedup] keep_policy` orders the criteria (earliest `created`, earliest ingested, the
longest, ...); the id breaks every tie, so the choice never depends on input order or
on the number of workers.
"""

from __future__ import annotations

from collections.abc import Sequence

from ingest.dedup.minhash import Sketch
from ingest.dedup.prior import IndexedDocument
from ingest.dedup.shingles import NO_HASHES


def keep_order_key(s: Sketch, policy: Sequence[str]) -> tuple:
    """Sort key: the first document of a cluster under this key is kept."""
    key: list = []
    for criterion in policy:
        if criterion == "created":
            key.append((s.created is None, s.created or ""))
        elif criterion == "added":
            key.append(s.added)
        elif criterion == "longest":
            key.append(-s.length)
        elif criterion == "shortest":
            key.append(s.length)
        elif criterion == "source":
            key.append(s.source)
    key.append(s.id)  # the final tie-break never depends on input order
    return tuple(key)


def prior_keep_key(doc: IndexedDocument, policy: Sequence[str]) -> tuple:
    return keep_order_key(
        Sketch(doc.id, doc.length, doc.created, doc.added, doc.source, NO_HASHES, NO_HASHES), policy
    )
