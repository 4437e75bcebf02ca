"""What dedup decides: one `Decision` per document, and a run's `DedupResult`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Decision:
    """One document's dedup outcome; every link it reports is a verified pair.

    cluster_id: the cluster's kept document (for the kept one too), None without
    duplicates. duplicate_of: the document this one was verified against: the kept one
    when the two are similar, else the nearest copy on a path of verified pairs to it;
    None when kept. The rest describe that pair (`ingest/dedup/verify.py`), None when
    kept: kind "duplicate" (similar throughout) or "contained" (one is the other
    trimmed or extended); similarity, the share of their words aligned; containment,
    the share of the shorter one's words aligned; contained_in, for a contained pair,
    the longer of the two (duplicate_of for a trimmed copy, this one for an extended one).
    With slots: a run of a million bench documents holds some 700,000.
    """

    cluster_id: str | None
    duplicate_of: str | None
    similarity: float | None
    kind: str | None = None
    containment: float | None = None
    contained_in: str | None = None

    def to_json(self) -> dict:
        return {"cluster_id": self.cluster_id, "duplicate_of": self.duplicate_of, "kind": self.kind,
                "similarity": self.similarity, "containment": self.containment, "contained_in": self.contained_in}


# The decision of a document in no duplicate cluster.
NO_CLUSTER = Decision(None, None, None)


class Clusters(Sequence):
    """A run's duplicate clusters, largest first (then by id), each read as {cluster_id,
    kept, members: [{id, duplicate_of, kind, similarity, containment, contained_in}]}:
    the members are the cluster's new documents but the kept one, each with its
    decision. Made from the decisions when read: a run holds a member's id, not a dict
    of its decision again (about 400 bytes)."""

    def __init__(self, clusters: list[tuple[str, list[str]]], decisions: dict[str, Decision]) -> None:
        """`clusters`: (kept id, the other members' ids) each."""
        self._clusters = sorted(clusters, key=lambda c: (-len(c[1]), c[0]))
        self._decisions = decisions

    def __len__(self) -> int:
        return len(self._clusters)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self._shown(c) for c in self._clusters[i]]
        return self._shown(self._clusters[i])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and list(self) == list(other)

    __hash__ = None

    def _shown(self, cluster: tuple[str, list[str]]) -> dict:
        kept, members = cluster
        return {"cluster_id": kept, "kept": kept,
                "members": [{"id": m} | {k: v for k, v in self._decisions[m].to_json().items() if k != "cluster_id"}
                            for m in members]}


@dataclass
class DedupResult:
    decisions: dict[str, Decision]
    clusters: Sequence[dict]  # `Clusters`
    stats: dict[str, int] = field(default_factory=dict)
    # Documents indexed by an earlier run (same input again): their original `added`.
    added_before: dict[str, str] = field(default_factory=dict)
    # Each document's cluster's kept document (itself when it is in no cluster).
    cluster_of: dict[str, str] = field(default_factory=dict)
