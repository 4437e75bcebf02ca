"""Near-duplicate clusters: candidates verified, clustered, one kept, every copy linked.

Candidate pairs come from LSH (`ingest/dedup/lsh.py`) among the run's documents and
from the index among earlier runs' documents; every one is verified on the two word
sequences (`ingest/dedup/verify.py`: aligned words, containment, figures and names)
before it counts. Verified pairs are clustered with union-find; one
document per cluster is kept by the keep policy (`ingest/dedup/keep.py`), and every
other one is linked to a document it was verified against: the kept one when the two
are similar, else the nearest copy on a path of verified pairs towards it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np

from ingest.config import DedupConfig
from ingest.dedup.decisions import NO_CLUSTER, Decision, DedupResult
from ingest.dedup.keep import keep_order_key, prior_keep_key
from ingest.dedup.lsh import band_key, band_keys, lsh_pairs
from ingest.dedup.minhash import Sketch
from ingest.dedup.prior import IndexedDocument, PriorDocuments, PriorIndex
from ingest.dedup.spilled_lsh import spilled_lsh_pairs
from ingest.dedup.verify import Comparison, compare, kind_of, may_be_one_story

Words = tuple[np.ndarray, np.ndarray]  # a document's word hashes and their marks
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

    def __init__(self, config: DedupConfig, marks_of: Callable[[Sketch], np.ndarray] | None = None,
                 signature_of: Callable[[Sketch], np.ndarray] | None = None, spill_to: Path | None = None) -> None:
        """`marks_of`: a document's `word_marks`, read when a pair is verified (by default
        the sketch's own, `Sketch.marks`); `signature_of`: its MinHash signature (by
        default `Sketch.signature`); `spill_to`: a folder where the LSH spills its
        candidates (`spilled_lsh.py`), None to find them in memory."""
        self.config = config
        self._sketches: dict[str, Sketch] = {}
        self._marks_of = marks_of or (lambda s: s.marks)
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

    def words(self, doc_id: str) -> Words:
        s = self._sketches[doc_id]
        return s.tokens, self._marks_of(s)

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
        prior = PriorDocuments(state, (self.config.figure_words, self.config.not_names))
        pairs, stats = self._verified_pairs(set(known), prior)
        decisions, clusters, cluster_of = self._cluster(pairs, known, prior)
        for doc_id, doc in known.items():
            decisions[doc_id] = self._known_decision(doc, prior)
            cluster_of[doc_id] = doc.kept_id
        stats["already_indexed"] = len(known)
        return DedupResult(decisions, clusters, stats, {k: d.added for k, d in known.items()}, cluster_of)

    def _known_decision(self, doc: IndexedDocument, prior: PriorDocuments) -> Decision:
        """The decision a document indexed already was given: a rerun reports it again,
        its pair verified again from the indexed texts (verification is a function of the
        two texts alone)."""
        if doc.kept_id == doc.id:
            return Decision(doc.id if prior.has_duplicates(doc.id) else None, None, None)
        return _decision(doc.id, doc.duplicate_of, doc.kept_id,
                         self._compare(prior.words(doc.id), prior.words(doc.duplicate_of)), self.config)

    def _compare(self, a: Words, b: Words) -> Comparison:
        return compare(a[0], a[1], b[0], b[1], self.config)

    def index_entry(self, doc_id: str, text: str, decision: Decision) -> tuple[IndexedDocument, str, list[int]]:
        """What the state keeps of one new document of this run: the whole decision, so
        that a rerun of the same input reports it again (`_known_decision`)."""
        s = self._sketches[doc_id]
        kept_id = doc_id if decision.duplicate_of is None else decision.cluster_id
        record = IndexedDocument(doc_id, kept_id, decision.similarity, s.created, s.added, s.length, s.source,
                                 decision.duplicate_of)
        return record, text, self.state_keys(s)

    def _verified_pairs(self, known: set[str], prior: PriorDocuments):
        """Candidate pairs, each verified: {(a, b): their `Comparison`}, for the pairs that
        are one story, and the counts of what was compared and refused."""
        pairs: dict[tuple[str, str], Comparison] = {}
        stats = {"lsh_candidates": 0, "lsh_false_positives": 0, "refused_for_figures_or_names": 0}

        def check(a: str, b: str, words_a: Words, words_b: Words) -> None:
            stats["lsh_candidates"] += 1
            if not may_be_one_story(words_a, words_b, self.config):
                stats["lsh_false_positives"] += 1
                return
            c = self._compare(words_a, words_b)
            if kind_of(c, self.config) is not None:
                pairs[(a, b)] = c
            else:
                stats["lsh_false_positives"] += 1
                stats["refused_for_figures_or_names"] += c.conflicts > 0

        new_ids = sorted(set(self._sketches) - known)
        for a, b in self.candidate_pairs(new_ids):
            check(a, b, self.words(a), self.words(b))
        for doc_id in new_ids if prior.active else ():
            for doc in prior.candidates(self.state_keys(self._sketches[doc_id])):
                if doc.id != doc_id:
                    check(doc_id, doc.id, self.words(doc_id), prior.words(doc.id))
        stats["verified_pairs"] = len(pairs)
        stats["contained_pairs"] = sum(kind_of(c, self.config) == "contained" for c in pairs.values())
        return pairs, stats

    def _cluster(self, pairs: dict[tuple[str, str], Comparison], known: dict, prior: PriorDocuments):
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
        for (a, b), c in pairs.items():
            edges[uf.find(a)].append((a, b, c.similarity))
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
                words_of_kept = prior.words
                for a, b, sim in prior.links(earlier):
                    graph[a].setdefault(b, sim)
                    graph[b].setdefault(a, sim)
            else:
                kept = self._sketches[ordered.pop(0)]
                words_of_kept = self.words
                decisions[kept.id] = Decision(kept.id, None, None)
            # One story with the kept document itself: linked to it, even if the LSH did
            # not propose the pair (those it did are verified already).
            for member in ordered:
                if member not in graph[kept.id]:
                    c = self._compare(self.words(member), words_of_kept(kept.id))
                    if kind_of(c, self.config) is not None:
                        pairs[(member, kept.id)] = c
                        graph[member][kept.id] = graph[kept.id][member] = c.similarity
            links = self._links(kept.id, graph)
            cluster = {"cluster_id": kept.id, "kept": kept.id, "members": []}
            for member in ordered:
                # Always reached, unless the index lost a link: then the kept one, as before.
                parent = links[member] if member in links else kept.id
                c = _oriented(pairs, member, parent) or self._compare(self.words(member), words_of_kept(kept.id))
                decisions[member] = decision = _decision(member, parent, kept.id, c, self.config)
                cluster["members"].append({"id": member} | {k: v for k, v in decision.to_json().items()
                                                           if k != "cluster_id"})
            for member in new:
                cluster_of[member] = kept.id
            clusters.append(cluster)
        clusters.sort(key=lambda c: (-len(c["members"]), c["cluster_id"]))
        return decisions, clusters, cluster_of

    @staticmethod
    def _links(kept: str, graph: dict[str, dict[str, float]]) -> dict[str, str]:
        """Document -> the neighbour it is linked to, over the verified pairs in `graph`
        (their similarities), by breadth-first search from the kept document.

        A document's neighbour is one step nearer the kept document (so the kept one
        itself for those similar to it), the most similar of those, the smaller id on a
        tie: the links depend on the pairs alone, never on the order of the input.
        """
        links: dict[str, str] = {}
        reached, layer = {kept}, {kept}
        while layer:
            following = {other for doc in layer for other in graph[doc] if other not in reached}
            for doc in following:
                links[doc] = min((p for p in graph[doc] if p in layer), key=lambda p: (-graph[doc][p], p))
            reached |= following
            layer = following
        return links


def _oriented(pairs: dict[tuple[str, str], Comparison], a: str, b: str) -> Comparison | None:
    """The comparison of a verified pair, with `a` as its first text."""
    if (a, b) in pairs:
        return pairs[(a, b)]
    c = pairs.get((b, a))
    return None if c is None else c.swapped()


def _decision(doc_id: str, parent: str, kept_id: str, c: Comparison, config: DedupConfig) -> Decision:
    """The decision of a copy verified against `parent` (`c`: the copy first)."""
    kind = kind_of(c, config) or "duplicate"  # a lost index link, linked to the kept one as before
    contained_in = (doc_id if c.a_contains_b() else parent) if kind == "contained" else None
    return Decision(kept_id, parent, round(c.similarity, 4), kind, round(c.containment, 4), contained_in)
