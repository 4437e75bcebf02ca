"""Near-duplicate documents (MinHash + LSH, verified) and reused passages.

Documents are compared as sets of word n-gram shingles.  Text is normalised before
shingling: case folded, punctuation dropped, typographic apostrophes unified; digits
are kept as they are, so that two notices differing only in their figures stay
distinct.  MinHash signatures are banded as datasketch's `MinHashLSH` bands them (a
test checks that both propose the same pairs) for candidates, and every candidate pair
is verified on the exact shingle sets before it counts, so an LSH false positive never
reaches the output.  Verified pairs are clustered with
union-find; one document per cluster is kept by a deterministic policy.

Reused passages are found from the same token hashes: documents that share a winnowed
"anchor" n-gram are compared in full, and shared n-gram runs are merged into passages.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import xxhash

from ingest.config import DedupConfig, PassageConfig
from ingest.state import IndexedDocument, StateIndex, band_key

_TOKEN = re.compile(r"\w+(?:['’]\w+)*")
_NGRAM_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)
# Anchors shared by more documents than this are stock phrases; they find no passage.
_MAX_ANCHOR_DOCS = 50
_EMPTY = np.empty(0, dtype=np.uint64)
_POSITIONS_CACHED = 4096


def token_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the words of `text`, in order."""
    return [m.span() for m in _TOKEN.finditer(text)]


def token_hashes(text: str) -> np.ndarray:
    """One 32-bit hash per word, after case folding and apostrophe unification.

    32 bits keep the sketches small; n-grams are hashed from them in 64 bits.
    """
    words = _TOKEN.findall(text)
    # Fold all words in one call; the separator keeps the count aligned with token_spans.
    folded = "\x00".join(words).casefold().replace("’", "'").split("\x00") if words else []
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
            permuted = (np.outer(shingles, self._a) + self._b) >> np.uint64(32)
        return permuted.min(axis=0).astype(np.uint32)


@dataclass
class Sketch:
    """What dedup needs of one document; built in the workers, compared centrally."""

    id: str
    length: int  # characters of clean text
    created: str | None
    added: str
    source: str
    # Word hashes in order, 32 bits each: shingles (for the exact check) and passages
    # are derived from them when needed, so a sketch costs ~5 bytes a word centrally.
    tokens: np.ndarray
    signature: np.ndarray  # MinHash values, uint32

    def shingles(self, n: int) -> np.ndarray:
        return shingle_set(self.tokens, n)


def sketch(doc_id: str, text: str, created: str | None, added: str, source: str,
           config: DedupConfig, hasher: MinHasher) -> Sketch:
    tokens = token_hashes(text)
    signature = hasher.signature(shingle_set(tokens, config.shingle_size))
    return Sketch(doc_id, len(text), created, added, source, tokens, signature)


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    if len(a) == 0 and len(b) == 0:
        return 1.0
    inter = len(np.intersect1d(a, b, assume_unique=True))
    return inter / (len(a) + len(b) - inter)


@dataclass(frozen=True)
class Decision:
    cluster_id: str | None
    duplicate_of: str | None
    similarity: float | None

    def to_json(self) -> dict:
        return {"cluster_id": self.cluster_id, "duplicate_of": self.duplicate_of, "similarity": self.similarity}


@dataclass(frozen=True)
class PassageMatch:
    """A reused passage, in word positions: words [start, end) of one document."""

    start: int
    end: int
    other_id: str
    other_start: int
    other_end: int
    similarity: float  # share of the passage's words found in the other span


@dataclass
class DedupResult:
    decisions: dict[str, Decision]
    clusters: list[dict]  # {cluster_id, kept, members: [{id, similarity}]}, largest first
    passages: dict[str, list[PassageMatch]]
    stats: dict[str, int] = field(default_factory=dict)
    # Documents indexed by an earlier run (same input again): their original `added`.
    added_before: dict[str, str] = field(default_factory=dict)


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
        keys = keys[order]
        starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
        sizes = np.diff(np.r_[starts, n])
        two = starts[sizes == 2]
        codes.append(_pair_codes(order[two], order[two + 1], n))
        for start, size in zip(starts[sizes > 2].tolist(), sizes[sizes > 2].tolist()):
            members = order[start : start + size]
            if size <= _MAX_BUCKET_PAIRS:
                first, second = np.triu_indices(size, k=1)
                codes.append(_pair_codes(members[first], members[second], n))
            else:
                codes.append(_pair_codes(members[:-1], members[1:], n))
    unique = np.unique(np.concatenate(codes)) if codes else np.empty(0, dtype=np.int64)
    return [(c // n, c % n) for c in unique.tolist()]


def _pair_codes(a: np.ndarray, b: np.ndarray, n: int) -> np.ndarray:
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    return lo.astype(np.int64) * n + hi


class Deduplicator:
    """Collects the sketches of one run and decides duplicates and passages.

    With a `StateIndex`, documents of earlier runs take part: a new document that
    duplicates one of them is linked to that cluster's kept document, and a document
    already indexed (a rerun of the same input) keeps the decision it had.
    """

    def __init__(self, config: DedupConfig) -> None:
        self.config = config
        self._sketches: dict[str, Sketch] = {}
        self._shingles: dict[str, np.ndarray] = {}  # of documents met in a candidate pair

    def add(self, s: Sketch) -> None:
        if s.id in self._sketches:
            raise ValueError(f"document id {s.id} added twice")
        self._sketches[s.id] = s

    def shingles(self, doc_id: str) -> np.ndarray:
        if doc_id not in self._shingles:
            self._shingles[doc_id] = self._sketches[doc_id].shingles(self.config.shingle_size)
        return self._shingles[doc_id]

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
        passages = find_passages(self._sketches, cluster_of, self.config.passages) if self.config.passages.enabled else {}
        stats["passage_links"] = sum(len(v) for v in passages.values())
        stats["already_indexed"] = len(known)
        return DedupResult(decisions, clusters, passages, stats, {k: d.added for k, d in known.items()})

    def index_entry(self, doc_id: str, text: str, decision: Decision) -> tuple[IndexedDocument, str, list[int]]:
        """What the state keeps of one new document of this run."""
        s = self._sketches[doc_id]
        record = IndexedDocument(doc_id, decision.duplicate_of or doc_id, decision.similarity, s.created, s.added,
                                 s.length, s.source)
        return record, text, self.state_keys(s)

    def _verified_pairs(self, known: set[str], prior: _PriorDocuments):
        pairs: dict[tuple[str, str], float] = {}
        candidates = rejected = 0
        new_ids = sorted(set(self._sketches) - known)
        for a, b in self.candidate_pairs(new_ids):
            candidates += 1
            sim = jaccard(self.shingles(a), self.shingles(b))
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
        uf = _UnionFind()
        for a, b in pairs:
            uf.union(a, b)
        groups: dict[str, list[str]] = defaultdict(list)
        for doc_id in set(self._sketches) - set(known):
            groups[uf.find(doc_id)].append(doc_id)
        for doc_id in prior.seen:
            if doc_id not in self._sketches and uf.find(doc_id) in groups:
                groups[uf.find(doc_id)].append(doc_id)
        decisions: dict[str, Decision] = {}
        clusters: list[dict] = []
        cluster_of: dict[str, str] = {}
        policy = self.config.keep_policy
        for members in groups.values():
            new = [m for m in members if m in self._sketches]
            if len(members) == 1:
                decisions[members[0]] = Decision(None, None, None)
                continue
            earlier = [prior.seen[m] for m in members if m not in self._sketches]
            if earlier:
                # Documents of earlier runs are published already: their cluster's kept
                # document stays kept, and new copies join it.
                kept = min((prior.kept(d) for d in earlier), key=lambda d: _prior_key(d, policy))
                kept_shingles = prior.shingles(kept.id)
                ordered = sorted(new, key=lambda m: keep_order_key(self._sketches[m], policy))
            else:
                ordered = sorted(new, key=lambda m: keep_order_key(self._sketches[m], policy))
                kept = self._sketches[ordered.pop(0)]
                kept_shingles = self.shingles(kept.id)
                decisions[kept.id] = Decision(kept.id, None, None)
            cluster = {"cluster_id": kept.id, "kept": kept.id, "members": []}
            for member in ordered:
                sim = round(jaccard(self.shingles(member), kept_shingles), 4)
                decisions[member] = Decision(kept.id, kept.id, sim)
                cluster["members"].append({"id": member, "similarity": sim})
            for member in new:
                cluster_of[member] = kept.id
            clusters.append(cluster)
        clusters.sort(key=lambda c: (-len(c["members"]), c["cluster_id"]))
        return decisions, clusters, cluster_of


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

    def shingles(self, doc_id: str) -> np.ndarray:
        if doc_id not in self._shingles:
            self._shingles[doc_id] = shingle_set(token_hashes(self._state.text(doc_id)), self._shingle_size)
        return self._shingles[doc_id]


def _prior_key(doc: IndexedDocument, policy: Sequence[str]) -> tuple:
    return keep_order_key(
        Sketch(doc.id, doc.length, doc.created, doc.added, doc.source, _EMPTY, _EMPTY), policy
    )


def _known_decision(doc: IndexedDocument, state: StateIndex) -> Decision:
    if doc.kept_id != doc.id:
        return Decision(doc.kept_id, doc.kept_id, doc.similarity)
    return Decision(doc.id if state.has_duplicates(doc.id) else None, None, None)


def find_passages(
    sketches: dict[str, Sketch], cluster_of: dict[str, str], config: PassageConfig
) -> dict[str, list[PassageMatch]]:
    """Passages of at least `min_words` words shared between distinct stories.

    One document per duplicate cluster (the kept one) stands for its cluster: its
    copies would only repeat its passages, and they are linked to it already.
    """
    n = config.ngram
    stories = sorted(doc_id for doc_id, s in sketches.items()
                     if cluster_of.get(doc_id, doc_id) == doc_id and len(s.tokens) >= n)

    def grams_of(doc_id: str) -> np.ndarray:
        return ngram_hashes(sketches[doc_id].tokens, n)

    # Per document: n-gram -> where it occurs. Bounded: at 100,000 documents keeping
    # them all took gigabytes; pairs come sorted, so recent documents come back soon.
    positions = lru_cache(maxsize=_POSITIONS_CACHED)(lambda doc_id: _positions(grams_of(doc_id)))
    result: dict[str, list[PassageMatch]] = defaultdict(list)
    window = max(1, config.anchor_words - n + 1)
    # A passage of min_words words spans at least two disjoint windows when it is that
    # long, so it shares at least two anchors: pairs with one shared anchor cannot
    # hold one.
    min_shared = 2 if config.min_words >= 2 * window + n - 1 else 1
    for a, b in _anchor_pairs(stories, grams_of, window, min_shared):
        pos_a, pos_b = positions(a), positions(b)
        common = pos_a[0].keys() & pos_b[0].keys()
        # A passage of min_words words needs at least this many shared n-grams.
        if len(common) * n < config.min_words:
            continue
        for m in _shared_passages(pos_a, pos_b, common, config):
            result[a].append(PassageMatch(m[0], m[1], b, m[2], m[3], m[4]))
            result[b].append(PassageMatch(m[2], m[3], a, m[0], m[1], m[5]))
    for matches in result.values():
        matches.sort(key=lambda p: (p.start, p.other_id))
    return dict(result)


def _anchor_pairs(ids: list[str], grams_of: Callable[[str], np.ndarray], window: int,
                  min_shared: int) -> list[tuple[str, str]]:
    """Document pairs sharing at least `min_shared` anchor n-grams.

    Anchors are chosen by winnowing: the smallest hash of every `window` consecutive
    n-grams. Two documents that share a run of `window` n-grams share that run's
    smallest hash, so such a run is never missed, and every document picks the same
    anchors from the same text.
    """
    if len(ids) < 2:
        return []
    anchors = [_winnow(grams_of(i), window) for i in ids]
    hashes = np.concatenate(anchors)
    docs = np.concatenate([np.full(len(a), i, dtype=np.int64) for i, a in enumerate(anchors)])
    order = np.argsort(hashes, kind="stable")  # stable: documents stay in id order within a hash
    hashes, docs = hashes[order], docs[order]
    starts = np.flatnonzero(np.r_[True, hashes[1:] != hashes[:-1]])
    sizes = np.diff(np.r_[starts, len(hashes)])
    codes = [docs[starts[sizes == 2]] * len(ids) + docs[starts[sizes == 2] + 1]]
    for start, size in zip(starts[(sizes > 2) & (sizes <= _MAX_ANCHOR_DOCS)].tolist(),
                           sizes[(sizes > 2) & (sizes <= _MAX_ANCHOR_DOCS)].tolist()):
        members = docs[start : start + size]
        first, second = np.triu_indices(size, k=1)
        codes.append(members[first] * len(ids) + members[second])
    pairs, shared = np.unique(np.concatenate(codes), return_counts=True)
    return [(ids[c // len(ids)], ids[c % len(ids)]) for c in pairs[shared >= min_shared].tolist()]


def _winnow(grams: np.ndarray, window: int) -> np.ndarray:
    if len(grams) <= window:
        return np.unique(grams)
    return np.unique(np.lib.stride_tricks.sliding_window_view(grams, window).min(axis=1))


def _positions(grams: np.ndarray) -> tuple[dict[int, int], dict[int, list[int]]]:
    """n-gram -> its position, built in C; and, for the few n-grams that occur more
    than once in the document, all their positions."""
    seq = grams.tolist()
    first = dict(zip(reversed(seq), range(len(seq) - 1, -1, -1)))
    repeated: dict[int, list[int]] = {}
    if len(first) < len(seq):
        for i, h in enumerate(seq):
            repeated.setdefault(h, []).append(i)
        repeated = {h: where for h, where in repeated.items() if len(where) > 1}
    return first, repeated


def _where(index: tuple[dict[int, int], dict[int, list[int]]], h: int) -> list[int]:
    return index[1].get(h) or [index[0][h]]


def _shared_passages(pos_a, pos_b, common, config: PassageConfig):
    """Shared passages of two documents' n-gram sequences as word spans.

    Returns tuples (a_start, a_end, b_start, b_end, a_share, b_share, words): the spans,
    for each side the share of its span's words covered by shared n-grams, and the
    number of shared words.
    """
    n = config.ngram
    # Matching n-gram positions grouped by diagonal (j - i); consecutive i on one
    # diagonal are one run of shared words.
    matches = sorted((j - i, i) for h in common for i in _where(pos_a, h) for j in _where(pos_b, h))
    runs: list[list[int]] = []  # [a_start, a_end, b_start, b_end] in words
    for diagonal, i in matches:
        last = runs[-1] if runs else None
        if last is not None and last[3] - last[1] == diagonal and last[1] == i - 1 + n:
            last[1], last[3] = i + n, i + diagonal + n
        else:
            runs.append([i, i + n, i + diagonal, i + diagonal + n])
    if not runs:
        return []
    runs.sort()
    out = []
    group = [runs[0]]
    for run in runs[1:]:
        last = group[-1]
        gaps = sorted((run[0] - last[1], run[2] - last[3]))
        # Close on one side, with at most an inserted attribution on the other,
        # and in the same order in both documents.
        close = -n < gaps[0] <= config.max_gap_words and gaps[1] <= config.max_insert_words
        if close and run[2] >= group[0][2]:
            group.append(run)
        else:
            out.append(_passage(group))
            group = [run]
    out.append(_passage(group))
    return [p for p in out if p[6] >= config.min_words]


def _passage(group: list[list[int]]):
    a_words = _covered(sorted((r[0], r[1]) for r in group))
    b_words = _covered(sorted((r[2], r[3]) for r in group))
    a_start, a_end = group[0][0], max(r[1] for r in group)
    b_start, b_end = min(r[2] for r in group), max(r[3] for r in group)
    return (
        a_start, a_end, b_start, b_end,
        round(a_words / (a_end - a_start), 4), round(b_words / (b_end - b_start), 4),
        min(a_words, b_words),
    )


def _covered(spans: Iterable[tuple[int, int]]) -> int:
    total, reach = 0, -1
    for s, e in spans:
        if e > reach:
            total += e - max(s, reach)
            reach = e
    return total
