"""Near-duplicate documents: MinHash + LSH candidates, each verified.

Documents are compared as sets of word n-gram shingles.  Text is normalised before
shingling: case folded, punctuation dropped, typographic apostrophes unified; digits
are kept as they are, so that two notices differing only in their figures stay
distinct.  MinHash signatures are banded as datasketch's `MinHashLSH` bands them (a
test checks that both propose the same pairs) for candidates, and every candidate pair
is verified on the exact shingle sets before it counts, so an LSH false positive never
reaches the output.  Verified pairs are clustered with union-find; one document per
cluster is kept by a deterministic policy, and every other one is linked to a document
it was verified against: the kept one when the two are similar, else the nearest copy
on a path of verified pairs towards it.

Reused passages (`ingest.passages`) are found from the same word hashes.
"""

from __future__ import annotations

import itertools
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import xxhash

from ingest.config import DedupConfig
from ingest.state import IndexedDocument, StateIndex, band_key

_TOKEN = re.compile(r"\w+(?:['’]\w+)*")
_WORD_CHAR = re.compile(r"\w")
# Which code points of the Basic Multilingual Plane `\w` matches, from `re` itself.
_BMP_WORD = np.zeros(0x10000, dtype=bool)
_BMP_WORD[[m.start() for m in _WORD_CHAR.finditer("".join(map(chr, range(0x10000))))]] = True
_APOSTROPHES = (ord("'"), ord("’"))
_NGRAM_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)
_EMPTY = np.empty(0, dtype=np.uint64)


def token_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the words of `text`, in order."""
    return [m.span() for m in _TOKEN.finditer(text)]


def token_hashes(text: str) -> np.ndarray:
    """One 32-bit hash per word, after case folding and apostrophe unification."""
    return hashes_and_spans(text)[0]


def hashes_and_spans(text: str) -> tuple[np.ndarray, np.ndarray]:
    r"""`token_hashes` and `token_spans` (as uint32 rows of start, end) at once, found on
    the text's code points with numpy rather than by the word pattern: 45 instead of
    75 µs for a 1,000-character article. A word is a run of `\w` characters, with an
    apostrophe inside it when word characters stand on both sides (the pattern's
    `\w+(?:['’]\w+)*`; a test holds the two to the same words)."""
    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    if codes.size and codes.max() > 0xFFFF:
        astral = codes > 0xFFFF
        word = _BMP_WORD[np.where(astral, 0, codes)]
        word[astral] = [_WORD_CHAR.match(chr(c)) is not None for c in codes[astral].tolist()]
    else:
        word = _BMP_WORD[codes]
    inner = codes[1:-1]
    word[1:-1] |= word[:-2] & word[2:] & ((inner == _APOSTROPHES[0]) | (inner == _APOSTROPHES[1]))
    edges = np.zeros(len(word) + 2, dtype=bool)
    edges[1:-1] = word
    spans = np.flatnonzero(edges[1:] != edges[:-1]).astype(np.uint32).reshape(-1, 2)
    folded = text.casefold()
    if len(folded) != len(text):  # a character folded to several ("ß" -> "ss"): fold word by word
        return word_hashes([text[start:end] for start, end in spans.tolist()]), spans
    # Folding is per character, so the words keep their places: every other character
    # becomes a space, and splitting on spaces gives the folded words.
    folded_codes = np.frombuffer(folded.replace("’", "'").encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    words = np.where(word, folded_codes, np.uint32(32)).tobytes().decode("utf-32-le", "surrogatepass").split()
    return _hash_words(words), spans


def word_hashes(words: list[str]) -> np.ndarray:
    """One 32-bit hash per word, after case folding and apostrophe unification.

    32 bits keep the sketches small; n-grams are hashed from them in 64 bits.
    """
    # Fold all words in one call; the separator keeps the count aligned with the words.
    folded = "\x00".join(words).casefold().replace("’", "'").split("\x00") if words else []
    return _hash_words(folded)


def _hash_words(folded: list[str]) -> np.ndarray:
    return np.fromiter(map(xxhash.xxh32_intdigest, map(str.encode, folded)), dtype=np.uint32, count=len(folded))


def ngram_hashes(tokens: np.ndarray, n: int) -> np.ndarray:
    """Hashes of all word n-grams, in order; a text shorter than n words is one n-gram."""
    if len(tokens) == 0:
        return np.empty(0, dtype=np.uint64)
    tokens = tokens.astype(np.uint64, copy=False)
    n = min(n, len(tokens))
    count = len(tokens) - n + 1
    with np.errstate(over="ignore"):
        out = tokens[:count].copy()
        for k in range(1, n):
            out = out * _NGRAM_MULTIPLIER + tokens[k : k + count]
        # Mix the high bits down: the multiplications leave the low bits poorly spread.
        out ^= out >> np.uint64(31)
    return out


def shingle_set(tokens: np.ndarray, n: int) -> np.ndarray:
    """Sorted unique hashes of the word n-grams: what the exact Jaccard compares and
    MinHash signs."""
    return np.unique(ngram_hashes(tokens, n))


class MinHasher:
    """MinHash signatures of uint64 shingle hashes, vectorised over permutations.

    Each permutation is a multiply-shift hash `(a * x + b) mod 2^64 >> 32` with
    odd `a`, which is universal and needs no modular arithmetic in numpy.
    """

    def __init__(self, num_perm: int, seed: int) -> None:
        rng = np.random.Generator(np.random.PCG64(seed))
        self.num_perm = num_perm
        self.seed = seed
        self._a = rng.integers(1, 2**63, size=num_perm, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
        self._b = rng.integers(0, 2**63, size=num_perm, dtype=np.uint64)

    def signature(self, shingles: np.ndarray) -> np.ndarray:
        """The minimum of each permutation: 32-bit values (the top half of the product)."""
        if len(shingles) == 0:
            return np.full(self.num_perm, np.iinfo(np.uint32).max, dtype=np.uint32)
        with np.errstate(over="ignore"):
            permuted = np.multiply.outer(shingles, self._a)
            permuted += self._b
        # The shift is monotonic: shifting the minimums gives the minimums of the
        # shifted values, over a row instead of the whole matrix (a quarter faster).
        return (permuted.min(axis=0) >> np.uint64(32)).astype(np.uint32)


@dataclass
class Sketch:
    """What dedup needs of one document; built in the workers, compared centrally."""

    id: str
    length: int  # characters of clean text
    created: str | None
    added: str
    source: str
    # Word hashes in order, 32 bits each (passages are found from them).
    tokens: np.ndarray
    signature: np.ndarray  # MinHash values, uint32
    # Where the run spilled the document's words: batch and row in that batch.
    batch: int = -1
    row: int = -1
    # The shingle set the signature was made of (`shingle_set`), for the exact check;
    # empty in a run's sketches, whose shingles are read when needed (`Deduplicator`).
    shingles: np.ndarray = field(default_factory=lambda: _EMPTY)


def sketch(doc_id: str, text: str, created: str | None, added: str, source: str,
           config: DedupConfig, hasher: MinHasher, tokens: np.ndarray | None = None,
           ngrams: np.ndarray | None = None) -> Sketch:
    """`tokens`, `ngrams`: the `token_hashes` of `text` and their `ngram_hashes` of
    `config.shingle_size`, when the caller has them already."""
    if tokens is None:
        tokens = token_hashes(text)
    shingles = np.unique(ngrams) if ngrams is not None else shingle_set(tokens, config.shingle_size)
    return Sketch(doc_id, len(text), created, added, source, tokens, hasher.signature(shingles), shingles=shingles)


def jaccards(a: np.ndarray, others: list[np.ndarray]) -> list[float]:
    """`jaccard(a, b)` for each b of `others`, in one set of array operations."""
    sizes = np.fromiter(map(len, others), dtype=np.int64, count=len(others))
    if len(a) == 0:
        return [1.0 if size == 0 else 0.0 for size in sizes.tolist()]
    joined = np.concatenate(others)
    found = a[np.minimum(np.searchsorted(a, joined), len(a) - 1)] == joined
    shared = np.bincount(np.repeat(np.arange(len(others)), sizes), weights=found, minlength=len(others))
    return (shared / (len(a) + sizes - shared)).tolist()


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    if len(a) == 0 and len(b) == 0:
        return 1.0
    inter = len(np.intersect1d(a, b, assume_unique=True))
    return inter / (len(a) + len(b) - inter)


@dataclass(frozen=True)
class Decision:
    """One document's dedup outcome; every link it reports is a verified pair.

    cluster_id: the cluster's kept document (for the kept one too), None without
    duplicates. duplicate_of: the document this one was verified against: the kept one
    when the two are similar, else the nearest copy on a path of verified pairs to it;
    None when kept. similarity: exact shingle Jaccard with duplicate_of (>= threshold).
    """

    cluster_id: str | None
    duplicate_of: str | None
    similarity: float | None

    def to_json(self) -> dict:
        return {"cluster_id": self.cluster_id, "duplicate_of": self.duplicate_of, "similarity": self.similarity}


# The decision of a document in no duplicate cluster.
NO_CLUSTER = Decision(None, None, None)


@dataclass
class DedupResult:
    decisions: dict[str, Decision]
    # {cluster_id, kept, members: [{id, duplicate_of, similarity}]}, largest first: the
    # members are the cluster's new documents but the kept one, each with its decision.
    clusters: list[dict]
    stats: dict[str, int] = field(default_factory=dict)
    # Documents indexed by an earlier run (same input again): their original `added`.
    added_before: dict[str, str] = field(default_factory=dict)
    # Each document's cluster's kept document (itself when it is in no cluster).
    cluster_of: dict[str, str] = field(default_factory=dict)


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


# A bucket holding more documents than this (a template page copied everywhere) is
# linked as a chain, not as all its pairs: union-find needs only connectivity.
_MAX_BUCKET_PAIRS = 50


def lsh_pairs(signatures: np.ndarray, bands: int, rows: int) -> list[tuple[int, int]]:
    """Index pairs (a < b) whose signatures agree on all rows of at least one band.

    The same banding as datasketch's MinHashLSH, done on sorted numpy arrays: its
    dict-of-sets buckets cost about 10 KB a document in memory (measured), these about
    8 bytes a band, and the result does not depend on insertion order.
    """
    n = len(signatures)
    codes: list[np.ndarray] = []
    for band in range(bands):
        block = signatures[:, band * rows : (band + 1) * rows].astype(np.uint64)
        keys = block[:, 0].copy()
        with np.errstate(over="ignore"):
            for r in range(1, rows):
                keys = keys * _NGRAM_MULTIPLIER + block[:, r]
        order = np.argsort(keys, kind="stable")
        starts, sizes = runs_of(keys[order])
        for members, first, second in same_size_buckets(order, starts, sizes, _MAX_BUCKET_PAIRS):
            codes.append(_pair_codes(members[:, first].ravel(), members[:, second].ravel(), n))
        for start, size in zip(starts[sizes > _MAX_BUCKET_PAIRS].tolist(), sizes[sizes > _MAX_BUCKET_PAIRS].tolist()):
            members = order[start : start + size]
            codes.append(_pair_codes(members[:-1], members[1:], n))
    unique = np.unique(np.concatenate(codes)) if codes else np.empty(0, dtype=np.int64)
    return [(c // n, c % n) for c in unique.tolist()]


def runs_of(ordered: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each run of equal values of a sorted array starts, and its length."""
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    return starts, np.diff(np.r_[starts, len(ordered)])


def same_size_buckets(members: np.ndarray, starts: np.ndarray, sizes: np.ndarray,
                      largest: int) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Buckets of 2 to `largest` members, grouped by size: for each size, the members of
    its buckets as rows and the (first, second) member positions of every pair. A bucket
    is `sizes[i]` consecutive members from `starts[i]`. One array operation per size,
    not a Python loop over (millions of) buckets."""
    return [(members[starts[sizes == size][:, None] + np.arange(size)], *np.triu_indices(size, k=1))
            for size in np.unique(sizes[(sizes >= 2) & (sizes <= largest)]).tolist()]


def _pair_codes(a: np.ndarray, b: np.ndarray, n: int) -> np.ndarray:
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    return lo.astype(np.int64) * n + hi


class Deduplicator:
    """Collects the sketches of one run and decides its duplicate clusters.

    With a `StateIndex`, documents of earlier runs take part: a new document that
    duplicates one of them joins that cluster (whose kept document stays kept), and a
    document already indexed (a rerun of the same input) keeps the decision it had.
    """

    def __init__(self, config: DedupConfig, shingles_of: Callable[[Sketch], np.ndarray] | None = None) -> None:
        """`shingles_of`: a document's shingle set, read when a pair is verified (by
        default the sketch's own, `Sketch.shingles`)."""
        self.config = config
        self._sketches: dict[str, Sketch] = {}
        self._shingles_of = shingles_of or (lambda s: s.shingles)

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

    def candidate_pairs(self, ids: list[str]) -> list[tuple[str, str]]:
        """Pairs of `ids` that share an LSH bucket in at least one band."""
        if len(ids) < 2:
            return []
        signatures = np.stack([self._sketches[i].signature for i in ids])
        return [(ids[a], ids[b]) for a, b in lsh_pairs(signatures, self.config.bands, self.config.rows)]

    def state_keys(self, s: Sketch) -> list[int]:
        rows = self.config.rows
        return [band_key(i, s.signature[i * rows : (i + 1) * rows].tobytes()) for i in range(self.config.bands)]

    def run(self, state: StateIndex | None = None) -> DedupResult:
        known = state.known(self._sketches) if state is not None else {}
        prior = _PriorDocuments(state, self.config.shingle_size)
        pairs, stats = self._verified_pairs(set(known), prior)
        decisions, clusters, cluster_of = self._cluster(pairs, known, prior)
        for doc_id, doc in known.items():
            decisions[doc_id] = _known_decision(doc, state)
            cluster_of[doc_id] = doc.kept_id
        stats["already_indexed"] = len(known)
        return DedupResult(decisions, clusters, stats, {k: d.added for k, d in known.items()}, cluster_of)

    def index_entry(self, doc_id: str, text: str, decision: Decision) -> tuple[IndexedDocument, str, list[int]]:
        """What the state keeps of one new document of this run: the whole decision, so
        that a rerun of the same input reports it again (`_known_decision`)."""
        s = self._sketches[doc_id]
        kept_id = doc_id if decision.duplicate_of is None else decision.cluster_id
        record = IndexedDocument(doc_id, kept_id, decision.similarity, s.created, s.added, s.length, s.source,
                                 decision.duplicate_of)
        return record, text, self.state_keys(s)

    def _verified_pairs(self, known: set[str], prior: _PriorDocuments):
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

    def _cluster(self, pairs: dict[tuple[str, str], float], known: dict, prior: _PriorDocuments):
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
                kept = min((prior.kept(d) for d in earlier), key=lambda d: _prior_key(d, policy))
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


class _PriorDocuments:
    """Documents of earlier runs met as candidates, with their shingles loaded once."""

    def __init__(self, state: StateIndex | None, shingle_size: int) -> None:
        self._state = state
        self.active = state is not None
        self._shingle_size = shingle_size
        self._shingles: dict[str, np.ndarray] = {}
        self.seen: dict[str, IndexedDocument] = {}

    def candidates(self, keys: list[int]) -> list[IndexedDocument]:
        if self._state is None:
            return []
        docs = self._state.candidates(keys)
        self.seen.update((d.id, d) for d in docs)
        return docs

    def kept(self, doc: IndexedDocument) -> IndexedDocument:
        if doc.kept_id == doc.id:
            return doc
        if doc.kept_id not in self.seen:
            self.seen.update(self._state.known([doc.kept_id]))
        return self.seen[doc.kept_id]

    def links(self, docs: Iterable[IndexedDocument]) -> list[tuple[str, str, float]]:
        """The links (id, duplicate_of, similarity) that the index holds from `docs` on
        to their kept documents, each a pair verified when it was indexed."""
        out: list[tuple[str, str, float]] = []
        pending, done = list(docs), set()
        while pending:
            doc = pending.pop()
            if doc.id in done or doc.kept_id == doc.id:
                continue
            done.add(doc.id)
            if doc.duplicate_of not in self.seen:
                self.seen.update(self._state.known([doc.duplicate_of]))
            target = self.seen.get(doc.duplicate_of)
            if target is None or target.kept_id != doc.kept_id:
                # A link the index does not hold (it is never deleted from): the kept
                # document, as format 1 linked every copy. Only connects, is not reported.
                target = self.kept(doc)
            out.append((doc.id, target.id, doc.similarity or 0.0))
            pending.append(target)
        return out

    def shingles(self, doc_id: str) -> np.ndarray:
        if doc_id not in self._shingles:
            self._shingles[doc_id] = shingle_set(token_hashes(self._state.text(doc_id)), self._shingle_size)
        return self._shingles[doc_id]


def _prior_key(doc: IndexedDocument, policy: Sequence[str]) -> tuple:
    return keep_order_key(
        Sketch(doc.id, doc.length, doc.created, doc.added, doc.source, _EMPTY, _EMPTY), policy
    )


def _known_decision(doc: IndexedDocument, state: StateIndex) -> Decision:
    """The decision a document indexed already was given: a rerun reports it again."""
    if doc.kept_id != doc.id:
        return Decision(doc.kept_id, doc.duplicate_of, doc.similarity)
    return Decision(doc.id if state.has_duplicates(doc.id) else None, None, None)
