"""Near-duplicate clusters: candidates verified, clustered, one kept, every copy linked.

Candidate pairs come from LSH (`ingest/dedup/lsh.py`) among the run's documents and
from the index among earlier runs' documents; every one is verified on the exact
shingle sets before it counts. Verified pairs are clustered with union-find; one
document per cluster is kept by the keep policy (`ingest/dedup/keep.py`), and every
other one is linked to a document it was verified against: the kept one when the two
are similar, else the nearest copy on a path of verified pairs towards it.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np

from ingest.config import DedupConfig
from ingest.dedup.decisions import NO_CLUSTER, Decision, DedupResult
from ingest.dedup.keep import keep_order_key, prior_keep_key
from ingest.dedup.lsh import band_key, band_keys, lsh_pairs
from ingest.dedup.minhash import Sketch
from ingest.dedup.prior import IndexedDocument, PriorDocuments, PriorIndex, known_decision
from ingest.dedup.shingles import jaccard, jaccards
from ingest.dedup.spilled_lsh import spilled_lsh_pairs


# Signatures stacked at a time when the LSH spills (`Deduplicator._keys_by_band`): 8 MiB.
_SIGNATURES_AT_ONCE = 16_384


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        root = x
        while self.parent.get(root, root) != root:
            root = self.parent[root]
        while x != root:  # path compression
            self.parent[x], x = root, self.parent[x]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            # Deterministic: the smaller id becomes the root.
            lo, hi = sorted((ra, rb))
            self.parent[hi] = lo


class Deduplicator:
    """Collects the sketches of one run and decides its duplicate clusters.

    With an index (`PriorIndex`), documents of earlier runs take part: a new document that
    duplicates one of them joins that cluster (whose kept document stays kept), and a
    document already indexed (a rerun of the same input) keeps the decision it had.
    """

    def __init__(self, config: DedupConfig, shingles_of: Callable[[Sketch], np.ndarray] | None = None,
                 signature_of: Callable[[Sketch], np.ndarray] | None = None, spill_to: Path | None = None) -> None:
        """`shingles_of`: a document's shingle set, read when a pair is verified (by
        default the sketch's own, `Sketch.shingles`); `signature_of`: its MinHash
        signature (by default `Sketch.signature`); `spill_to`: a folder where the LSH
        spills its candidates (`spilled_lsh.py`), None to find them in memory."""
        self.config = config
        self._sketches: dict[str, Sketch] = {}
        self._shingles_of = shingles_of or (lambda s: s.shingles)
        self._signature_of = signature_of or (lambda s: s.signature)
        self._spill_to = spill_to

    def add(self, s: Sketch) -> None:
        if s.id in self._sketches:
            raise ValueError(f"document id {s.id} added twice")
        self._sketches[s.id] = s

    def sketches(self) -> Iterable[Sketch]:
        return self._sketches.values()

    def batch_of(self, doc_id: str) -> int:
        return self._sketches[doc_id].batch

    def shingles(self, doc_id: str) -> np.ndarray:
        return self._shingles_of(self._sketches[doc_id])

    def candidate_pairs(self, ids: list[str]) -> Iterator[tuple[str, str]]:
        """Pairs of `ids` that share an LSH bucket in at least one band, sorted by their
        positions in `ids`."""
        if len(ids) < 2:
            return iter(())
        if self._spill_to is not None:
            pairs = spilled_lsh_pairs(self._keys_by_band(ids), len(ids), self._spill_to)
        else:
            signatures = np.stack([self._signature_of(self._sketches[i]) for i in ids])
            pairs = lsh_pairs(signatures, self.config.bands, self.config.rows)
        return ((ids[a], ids[b]) for a, b in pairs)

    def _keys_by_band(self, ids: list[str]) -> Iterator[np.ndarray]:
        """The band keys of `ids` band by band, spilled first to one file a band: the
        signatures are read once, a slice of documents at a time."""
        paths = [self._spill_to / f"band-keys-{band:03d}.bin" for band in range(self.config.bands)]
        try:
            files = [open(path, "wb") for path in paths]  # noqa: SIM115 (closed below)
            try:
                for at in range(0, len(ids), _SIGNATURES_AT_ONCE):
                    signatures = np.stack([self._signature_of(self._sketches[i])
                                           for i in ids[at : at + _SIGNATURES_AT_ONCE]])
                    for band, f in enumerate(files):
                        band_keys(signatures, band, self.config.rows).tofile(f)
            finally:
                for f in files:
                    f.close()
            for path in paths:
                yield np.fromfile(path, dtype=np.uint64)
                path.unlink()
        finally:
            for path in paths:
                path.unlink(missing_ok=True)

    def state_keys(self, s: Sketch) -> list[int]:
        rows, signature = self.config.rows, self._signature_of(s)
        return [band_key(i, signature[i * rows : (i + 1) * rows].tobytes()) for i in range(self.config.bands)]

    def run(self, state: PriorIndex | None = None) -> DedupResult:
        known = state.known(self._sketches) if state is not None else {}
        prior = PriorDocuments(state, self.config.shingle_size)
        pairs, stats = self._verified_pairs(set(known), prior)
        decisions, clusters, cluster_of = self._cluster(pairs, known, prior)
        for doc_id, doc in known.items():
            decisions[doc_id] = known_decision(doc, state)
            cluster_of[doc_id] = doc.kept_id
        stats["already_indexed"] = len(known)
        return DedupResult(decisions, clusters, stats, {k: d.added for k, d in known.items()}, cluster_of)

    def index_entry(self, doc_id: str, text: str, decision: Decision) -> tuple[IndexedDocument, str, list[int]]:
        """What the state keeps of one new document of this run: the whole decision, so
        that a rerun of the same input reports it again (`known_decision`)."""
        s = self._sketches[doc_id]
        kept_id = doc_id if decision.duplicate_of is None else decision.cluster_id
        record = IndexedDocument(doc_id, kept_id, decision.similarity, s.created, s.added, s.length, s.source,
                                 decision.duplicate_of)
        return record, text, self.state_keys(s)

    def _verified_pairs(self, known: set[str], prior: PriorDocuments):
        pairs: dict[tuple[str, str], float] = {}
        candidates = rejected = 0
        new_ids = sorted(set(self._sketches) - known)
        # Pairs come sorted by their first document: each one is checked against all
        # its partners at once.
        for a, group in itertools.groupby(self.candidate_pairs(new_ids), key=lambda pair: pair[0]):
            partners = [b for _, b in group]
            for b, sim in zip(partners, jaccards(self.shingles(a), [self.shingles(b) for b in partners])):
                candidates += 1
                if sim >= self.config.threshold:
                    pairs[(a, b)] = sim
                else:
                    rejected += 1
        for doc_id in new_ids if prior.active else ():
            for doc in prior.candidates(self.state_keys(self._sketches[doc_id])):
                if doc.id == doc_id:
                    continue
                candidates += 1
                sim = jaccard(self.shingles(doc_id), prior.shingles(doc.id))
                if sim >= self.config.threshold:
                    pairs[(doc_id, doc.id)] = sim
                else:
                    rejected += 1
        return pairs, {"lsh_candidates": candidates, "lsh_false_positives": rejected, "verified_pairs": len(pairs)}

    def _cluster(self, pairs: dict[tuple[str, str], float], known: dict, prior: PriorDocuments):
        """Clusters are the connected components of the verified pairs; each keeps one
        document, and each other new member is linked to a document it was verified
        against, on a shortest path of verified pairs to the kept one (`_links`)."""
        uf = _UnionFind()
        for a, b in pairs:
            uf.union(a, b)
        groups: dict[str, list[str]] = defaultdict(list)
        for doc_id in set(self._sketches) - set(known):
            groups[uf.find(doc_id)].append(doc_id)
        # Documents of earlier runs met as candidates, this run's input included when it
        # was indexed already (a rerun with new documents beside it).
        for doc_id in list(prior.seen):
            if (doc_id not in self._sketches or doc_id in known) and uf.find(doc_id) in groups:
                groups[uf.find(doc_id)].append(doc_id)
        edges: dict[str, list[tuple[str, str, float]]] = defaultdict(list)
        for (a, b), sim in pairs.items():
            edges[uf.find(a)].append((a, b, sim))
        decisions: dict[str, Decision] = {}
        clusters: list[dict] = []
        cluster_of: dict[str, str] = {}
        policy = self.config.keep_policy
        for root, members in groups.items():
            if len(members) == 1:
                decisions[members[0]] = NO_CLUSTER
                continue
            new = [m for m in members if m in self._sketches and m not in known]
            ordered = sorted(new, key=lambda m: keep_order_key(self._sketches[m], policy))
            new_set = set(new)
            earlier = [prior.seen[m] for m in members if m not in new_set]
            graph: dict[str, dict[str, float]] = defaultdict(dict)
            for a, b, sim in edges[root]:
                graph[a][b] = graph[b][a] = sim
            if earlier:
                # Documents of earlier runs are published already: their cluster's kept
                # document stays kept, and new copies join it. The links they were
                # indexed with (verified pairs then) lead from them to their kept one.
                kept = min((prior.kept(d) for d in earlier), key=lambda d: prior_keep_key(d, policy))
                shingles_of_kept = prior.shingles
                for a, b, sim in prior.links(earlier):
                    graph[a].setdefault(b, sim)
                    graph[b].setdefault(a, sim)
            else:
                kept = self._sketches[ordered.pop(0)]
                shingles_of_kept = self.shingles
                decisions[kept.id] = Decision(kept.id, None, None)
            # Similar to the kept document itself: linked to it, even if the LSH did
            # not propose the pair (those it did are verified already).
            unpaired = [m for m in ordered if m not in graph[kept.id]]
            direct = dict(zip(unpaired, jaccards(shingles_of_kept(kept.id), [self.shingles(m) for m in unpaired])
                              if unpaired else []))
            for member, sim in direct.items():
                if sim >= self.config.threshold:
                    graph[member][kept.id] = graph[kept.id][member] = sim
            links = self._links(kept.id, graph)
            cluster = {"cluster_id": kept.id, "kept": kept.id, "members": []}
            for member in ordered:
                # Always reached, unless the index lost a link: then the kept one, as before.
                parent, sim = links[member] if member in links else (kept.id, direct[member])
                sim = round(sim, 4)
                decisions[member] = Decision(kept.id, parent, sim)
                cluster["members"].append({"id": member, "duplicate_of": parent, "similarity": sim})
            for member in new:
                cluster_of[member] = kept.id
            clusters.append(cluster)
        clusters.sort(key=lambda c: (-len(c["members"]), c["cluster_id"]))
        return decisions, clusters, cluster_of

    @staticmethod
    def _links(kept: str, graph: dict[str, dict[str, float]]) -> dict[str, tuple[str, float]]:
        """Document -> (the neighbour it is linked to, their similarity), over the
        verified pairs in `graph`, by breadth-first search from the kept document.

        A document's neighbour is one step nearer the kept document (so the kept one
        itself for those similar to it), the most similar of those, the smaller id on a
        tie: the links depend on the pairs alone, never on the order of the input.
        """
        links: dict[str, tuple[str, float]] = {}
        reached, layer = {kept}, {kept}
        while layer:
            following = {other for doc in layer for other in graph[doc] if other not in reached}
            for doc in following:
                parent = min((p for p in graph[doc] if p in layer), key=lambda p: (-graph[doc][p], p))
                links[doc] = (parent, graph[doc][parent])
            reached |= following
            layer = following
        return links
