"""Near-duplicate clusters: candidates verified, clustered, one kept, every copy linked.

Candidate pairs come from LSH (`ingest/dedup/lsh.py`) among the run's documents and
from the index among earlier runs' documents; every one is verified on the two word
sequences (`ingest/dedup/verify.py`: aligned words, containment, figures and names)
before it counts, unless verified pairs connect its two documents already
(`ingest/dedup/pair_rounds.py`: it could not change a cluster). Verified pairs are
clustered with union-find; one document per cluster is kept by the keep policy
(`ingest/dedup/keep.py`), every other one is compared with it, and linked to a
document it was verified against: the kept one when the two are one story, else a
neighbour one step nearer the kept one on the verified pairs (`shortest_links`).

What `duplicate_of` promises: a document of the cluster that this one was verified
against (the pair is one story, with the similarity reported), the kept one whenever
the two are one story, and a path of such links to the kept one. The clusters and the
kept documents are those of verifying every candidate pair; which pairs are verified
depends on the candidates' sorted order and `pair_rounds`'s constants alone, so the
links too are the same whatever the input's order, the number of workers, in memory
or out of core. It is not always the most similar member: of a clique of copies, the
pairs that connect it first are verified, the rest skipped.
"""

from __future__ import annotations

import bisect
from array import array
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np

from ingest.arrays import runs_of
from ingest.config import DedupConfig
from ingest.dedup.decisions import NO_CLUSTER, Clusters, Decision, DedupResult
from ingest.dedup.keep import keep_order_key, prior_keep_key
from ingest.dedup.lsh import SignatureBlocks, band_key, held_keys_by_band, keyed_pairs
from ingest.dedup.minhash import Sketch
from ingest.dedup.pair_rounds import (
    CHUNK_PAIRS,
    COUNTS,
    ChunkVerdicts,
    ChunkVerifier,
    RefusalMemo,
    Words,
    find,
    one_story,
    text_class,
    verify_chunk,
    verify_in_rounds,
)
from ingest.dedup.prior import IndexedDocument, PriorDocuments, PriorIndex
from ingest.dedup.sketch_table import SketchTable
from ingest.dedup.spilled_lsh import spilled_keys_by_band, spilled_lsh_pairs
from ingest.dedup.verified_pairs import Codes, VerifiedPairs, components, grouped, shortest_links
from ingest.dedup.verify import Comparison, compare, kind_of

class Deduplicator:
    """Collects the sketches of one run and decides its duplicate clusters.

    With an index (`PriorIndex`), documents of earlier runs take part: a new document that
    duplicates one of them joins that cluster (whose kept document stays kept), and a
    document already indexed (a rerun of the same input) keeps the decision it had.
    """

    def __init__(self, config: DedupConfig, marks_of: Callable[[Sketch], np.ndarray] | None = None,
                 signature_of: Callable[[Sketch], np.ndarray] | None = None, spill_to: Path | None = None,
                 tokens_of: Callable[[int, int], np.ndarray] | None = None,
                 batch_signatures: Callable[[int], np.ndarray] | None = None,
                 chunk_verifier: Callable[[np.ndarray], ChunkVerifier] | None = None,
                 text_classes_of: Callable[[np.ndarray], np.ndarray] | None = None) -> None:
        """`marks_of`: a document's `word_marks`, read when a pair is verified (by default
        the sketch's own, `Sketch.marks`); `signature_of`: its MinHash signature (by
        default `Sketch.signature`); `spill_to`: a folder where the LSH spills its
        candidates (`spilled_lsh.py`), None to find them in memory; `tokens_of`: the
        word hashes of the document at (batch, row): the sketches are then held as
        columns (`SketchTable`), not as they are added; `batch_signatures`: with
        `tokens_of`, every signature of a batch, as rows: the LSH reads them a batch at a
        time (else a document at a time, `signature_of`); `chunk_verifier`: given the
        (batch, row) of each of the run's new ids, what verifies chunks of candidate pairs
        of their positions (`pair_rounds.py`; in the workers), None to verify them here;
        `text_classes_of`: the text classes (`pair_rounds.text_class`) of documents by
        (batch, row), None to hash their words here."""
        self.config = config
        self._sketches: dict[str, Sketch] | SketchTable = {} if tokens_of is None else SketchTable(tokens_of)
        self._marks_of = marks_of or (lambda s: s.marks)
        self._signature_of = signature_of or (lambda s: s.signature)
        self._spill_to = spill_to
        self._batch_signatures = batch_signatures
        self._chunk_verifier = chunk_verifier
        self._text_classes_of = text_classes_of

    def add(self, s: Sketch) -> None:
        if s.id in self._sketches:
            raise ValueError(f"document id {s.id} added twice")
        if isinstance(self._sketches, SketchTable):
            self._sketches.add(s)
        else:
            self._sketches[s.id] = s

    def sketches(self) -> Iterable[Sketch]:
        return self._sketches.values()

    def ids(self) -> Iterable[str]:
        return self._sketches.keys()

    def batch_of(self, doc_id: str) -> int:
        return self.location(doc_id)[0]

    def location(self, doc_id: str) -> tuple[int, int]:
        """A document's (batch, row) in the spilled words."""
        if isinstance(self._sketches, SketchTable):
            return self._sketches.location(doc_id)
        s = self._sketches[doc_id]
        return s.batch, s.row

    def words(self, doc_id: str) -> Words:
        s = self._sketches[doc_id]
        return s.tokens, self._marks_of(s)

    def candidate_pairs(self, ids: list[str]) -> Iterator[tuple[str, str]]:
        """Pairs of `ids` that share an LSH bucket in at least one band, sorted by their
        positions in `ids`."""
        return ((ids[a], ids[b]) for block in self._candidate_positions(ids, self._locations(ids))
                for a, b in block.tolist())

    def _locations(self, ids: list[str]) -> np.ndarray:
        """The (batch, row) of each of `ids`, as rows."""
        return np.array([self.location(doc_id) for doc_id in ids], dtype=np.int32).reshape(-1, 2)

    def _candidate_positions(self, ids: list[str], where: np.ndarray) -> Iterable[np.ndarray]:
        """Pairs of positions in `ids` (at `where`, `_locations`) whose documents share
        an LSH bucket in at least one band, sorted, in blocks of rows (a, b)."""
        if len(ids) < 2:
            return ()
        bands, rows = self.config.bands, self.config.rows
        if self._spill_to is not None:
            keys = spilled_keys_by_band(self._signature_blocks(ids, where), len(ids), bands, rows, self._spill_to)
            return spilled_lsh_pairs(keys, len(ids), self._spill_to)
        blocks = list(self._signature_blocks(ids, where))
        return [keyed_pairs(held_keys_by_band(blocks, len(ids), bands, rows), len(ids))]

    def _signature_blocks(self, ids: list[str], where: np.ndarray) -> SignatureBlocks:
        """The signatures of `ids` in blocks (positions in `ids`, signatures, the rows of
        those positions among them): a batch's whole signatures at a time when the
        sketches are columns (a `Sketch` made a document to read its signature cost 0.5
        s at 100,000 documents), else stacked from the sketches."""
        if self._batch_signatures is None:
            everyone = np.arange(len(ids))
            yield everyone, np.stack([self._signature_of(self._sketches[i]) for i in ids]), everyone
            return
        order = np.argsort(where[:, 0], kind="stable")
        starts, sizes = runs_of(where[order, 0])
        for start, size in zip(starts.tolist(), sizes.tolist()):
            positions = order[start : start + size]
            yield positions, self._batch_signatures(int(where[positions[0], 0])), where[positions, 1]

    def state_keys(self, s: Sketch) -> list[int]:
        rows, signature = self.config.rows, self._signature_of(s)
        return [band_key(i, signature[i * rows : (i + 1) * rows].tobytes()) for i in range(self.config.bands)]

    def run(self, state: PriorIndex | None = None) -> DedupResult:
        known = state.known(self._sketches) if state is not None else {}
        prior = PriorDocuments(state, (self.config.figure_words, self.config.not_names))
        codes = Codes(self._sketches.position if isinstance(self._sketches, SketchTable)
                       else {doc_id: code for code, doc_id in enumerate(self._sketches)})
        pairs, stats = self._verified_pairs(set(known), prior, codes)
        decisions, clusters, cluster_of = self._cluster(pairs, codes, known, prior, stats)
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

    def _verified_pairs(self, known: set[str], prior: PriorDocuments, codes: Codes):
        """Candidate pairs verified in rounds, each skipped when verified pairs connect
        its two documents already (`pair_rounds.py`): those that are one story, and the
        counts of what was compared, skipped and refused. The pairs with documents of
        earlier runs come last, one at a time, skipped the same way."""
        self._new_ids = new_ids = sorted(set(self._sketches) - known)
        where = self._locations(new_ids)
        self._verify_chunks = self._chunk_verifier(where) if self._chunk_verifier else self._verify_here
        self._memo = RefusalMemo(self._text_classes_of(where) if self._text_classes_of else
                                 np.array([text_class(*self.words(i)) for i in new_ids], dtype=np.int64))
        found, counts, stats, root = verify_in_rounds(self._candidate_positions(new_ids, where), self._memo,
                                                      self._verify_chunks)
        stats["refused_text_pairs_held"] = len(self._memo)
        code_of = np.array([codes(doc_id) for doc_id in new_ids], dtype=np.int32)
        pairs = VerifiedPairs()
        pairs.extend(code_of[found[:, 0]], code_of[found[:, 1]], counts)
        # Documents of earlier runs join by their ids; a new document by its component.
        parent: dict = {}
        for position, doc_id in enumerate(new_ids) if prior.active else ():
            for doc in prior.candidates(self.state_keys(self._sketches[doc_id])):
                if doc.id == doc_id:
                    continue
                stats["lsh_candidates"] += 1
                mine, theirs = find(parent, int(root[position])), find(parent, doc.id)
                if mine == theirs:
                    stats["skipped_as_connected"] += 1
                    continue
                c, conflict = one_story(self.words(doc_id), prior.words(doc.id), self.config)
                if c is None:
                    stats["lsh_false_positives"] += 1
                    stats["refused_for_figures_or_names"] += conflict
                    continue
                parent[theirs] = mine
                pairs.add(codes(doc_id), codes(doc.id), c)
                stats["contained_pairs"] += kind_of(c, self.config) == "contained"
        stats["verified_pairs"] = len(pairs)
        return pairs, stats

    def _verify_here(self, chunks: list[np.ndarray]) -> list[ChunkVerdicts]:
        """Chunks of candidate pairs of the new ids' positions, verified in this process."""
        return [verify_chunk(c[:, 0].tolist(), c[:, 1].tolist(), c[:, 2:], lambda p: self.words(self._new_ids[p]),
                             self.config) for c in chunks]

    def _cluster(self, pairs: VerifiedPairs, codes: Codes, known: dict, prior: PriorDocuments, stats: dict):
        """Clusters are the connected components of the verified pairs; each keeps one
        document, and each other new member is linked to a document it was verified
        against, on a shortest path of verified pairs to the kept one (`shortest_links`).
        A component holds a new document of the run (every pair has one); its documents
        of earlier runs (this run's input too when it was indexed already) were met as
        candidates."""
        component = components(len(codes.ids), pairs)
        clustered = np.bincount(component, minlength=len(component))[component] > 1
        decisions: dict[str, Decision] = {}
        for code in np.flatnonzero(~clustered[: len(self._sketches)]).tolist():
            if codes.ids[code] not in known:
                decisions[codes.ids[code]] = NO_CLUSTER
        in_clusters = np.flatnonzero(clustered)
        members_of = grouped(component[in_clusters])
        first, second = (np.frombuffer(pairs.first, dtype=np.int32), np.frombuffer(pairs.second, dtype=np.int32)) \
            if len(pairs) else (np.empty(0, np.int32), np.empty(0, np.int32))
        pairs_of = grouped(component[first])
        clusters: list[tuple[str, list[str]]] = []
        cluster_of: dict[str, str] = {}
        policy = self.config.keep_policy
        ordered_of, kept_verified = self._kept_verified(members_of, in_clusters, pairs_of, first, second, codes, known,
                                                        stats)
        for root, positions in members_of.items():
            members = [codes.ids[m] for m in in_clusters[positions].tolist()]
            verified: dict[tuple[str, str], Comparison] = {}  # this cluster's pairs
            for i in pairs_of[root].tolist():
                verified[(codes.ids[first[i]], codes.ids[second[i]])] = pairs.comparison(i)
            ordered = ordered_of.pop(root)
            new = list(ordered)
            new_set = set(new)
            earlier = [prior.seen[m] for m in members if m not in new_set]
            graph: dict[str, dict[str, float]] = defaultdict(dict)
            for (a, b), c in verified.items():
                graph[a][b] = graph[b][a] = c.similarity
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
                verified_with_kept = kept_verified.of(root)
            # One story with the kept document itself: linked to it, even if the LSH did
            # not propose the pair (those it did are verified already).
            for member in ordered:
                if member not in graph[kept.id]:
                    c = (self._compare(self.words(member), words_of_kept(kept.id)) if earlier
                         else verified_with_kept.get(member))
                    if c is not None and kind_of(c, self.config) is not None:
                        verified[(member, kept.id)] = c
                        graph[member][kept.id] = graph[kept.id][member] = c.similarity
            links = shortest_links(kept.id, graph)
            for member in ordered:
                # Always reached, unless the index lost a link: then the kept one, as before.
                parent = links[member] if member in links else kept.id
                c = _oriented(verified, member, parent) or self._compare(self.words(member), words_of_kept(kept.id))
                decisions[member] = _decision(member, parent, kept.id, c, self.config)
            for member in new:
                cluster_of[member] = kept.id
            clusters.append((kept.id, ordered))
        return decisions, Clusters(clusters, decisions), cluster_of

    def _kept_verified(self, members_of: dict[int, np.ndarray], in_clusters: np.ndarray,
                       pairs_of: dict[int, np.ndarray], first: np.ndarray, second: np.ndarray, codes: Codes,
                       known: dict, stats: dict) -> tuple[dict[int, list[str]], _KeptVerified]:
        """Each cluster's new members in keep order, by component; and the members of
        clusters of this run alone (their kept document the first in keep order) that no
        verified pair joins to their kept one, verified against it all at once, by chunks
        (in the workers): by component, member -> `Comparison` with the kept one, when
        one story (`_KeptVerified`)."""
        ordered_of: dict[int, list[str]] = {}
        with_kept = array("i")  # positions in the run's new ids: a member, its kept one, a row each
        rows_of: dict[int, tuple[int, int]] = {}  # a component's rows of `with_kept`
        policy = self.config.keep_policy
        for root, positions in members_of.items():
            members = [codes.ids[m] for m in in_clusters[positions].tolist()]
            new = [m for m in members if m in self._sketches and m not in known]
            ordered_of[root] = ordered = sorted(new, key=lambda m: keep_order_key(self._sketches[m], policy))
            if len(new) == len(members):
                kept = codes(ordered[0])
                rows = pairs_of[root]
                joined = set(first[rows][second[rows] == kept].tolist()) | set(second[rows][first[rows] == kept].tolist())
                at, start = bisect.bisect_left(self._new_ids, ordered[0]), len(with_kept) // 2
                for m in ordered[1:]:
                    if codes(m) not in joined:
                        with_kept.extend((bisect.bisect_left(self._new_ids, m), at))
                rows_of[root] = (start, len(with_kept) // 2)
        rows = np.array(with_kept, dtype=np.int32).reshape(-1, 2)
        # Each member its own component: none is skipped; a pair of texts refused in the
        # rounds is refused again without comparing.
        rows = self._memo.rows(np.hstack((rows, rows)))
        chunks = np.array_split(rows, -(-len(rows) // CHUNK_PAIRS)) if len(rows) else []
        stats["compared_with_kept"] = len(rows)
        verified = np.zeros(len(rows), dtype=bool)
        counts = np.zeros((len(rows), len(COUNTS)), dtype=np.int32)
        at = 0
        for chunk, verdicts in zip(chunks, self._verify_chunks(chunks)):
            stats["verdicts_remembered"] += verdicts.remembered
            verified[at + verdicts.verified] = True
            counts[at + verdicts.verified] = verdicts.counts
            at += len(chunk)
        return ordered_of, _KeptVerified(self._new_ids, rows_of, rows[:, 0].copy(), verified, counts)


class _KeptVerified:
    """The members verified against their kept one (`Deduplicator._kept_verified`), as
    arrays (37 bytes a member compared, where a dict of (member, kept) tuples and
    `Comparison`s held about 350: 634,643 members at a million bench documents), read a
    component at a time."""

    def __init__(self, new_ids: list[str], rows_of: dict[int, tuple[int, int]], members: np.ndarray,
                 verified: np.ndarray, counts: np.ndarray) -> None:
        """`rows_of`: each component's rows of the other arrays, by row: `members`, the
        member's position in `new_ids`; `verified`, one story with the kept one; `counts`,
        their `Comparison`'s."""
        self._new_ids, self._rows_of = new_ids, rows_of
        self._members, self._verified, self._counts = members, verified, counts

    def of(self, root: int) -> dict[str, Comparison]:
        """A component's members one story with its kept one: member -> `Comparison`."""
        lo, hi = self._rows_of.get(root, (0, 0))
        same = self._verified[lo:hi]
        return {self._new_ids[m]: Comparison(*c)
                for m, c in zip(self._members[lo:hi][same].tolist(), self._counts[lo:hi][same].tolist())}


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
    return Decision(kept_id, parent, _rounded(c.similarity), kind, _rounded(c.containment), contained_in)


# A decision's shares, rounded to 4 places, one float object a value: shares lie in
# [0, 1], so at most 10,001 of them, where a million bench documents' 700,000
# duplicates held two floats each (48 bytes).
_ROUNDED: dict[float, float] = {}


def _rounded(share: float) -> float:
    """`share` rounded to 4 places, the one float object of that value (`_ROUNDED`)."""
    value = round(share, 4)
    return _ROUNDED.setdefault(value, value)
