"""Checks on reported duplicate links, shared by the dedup and index tests: every link
is a pair verified above the threshold, and a cluster's links lead to its kept document."""

from __future__ import annotations

from ingest.dedup.shingles import jaccard, shingle_set, token_hashes


def exact_jaccard(a: str, b: str, n: int = 5) -> float:
    return jaccard(shingle_set(token_hashes(a), n), shingle_set(token_hashes(b), n))


def assert_links_are_verified(decisions: dict, texts: dict[str, str], threshold: float = 0.6) -> None:
    """Every reported link is a pair similar above the threshold, with its similarity,
    and the links of a cluster lead to its kept document."""
    for doc_id, d in decisions.items():
        if d.duplicate_of is None:
            continue
        sim = exact_jaccard(texts[doc_id], texts[d.duplicate_of])
        assert sim >= threshold and d.similarity == round(sim, 4), (doc_id, d, sim)
        path, at = [doc_id], doc_id
        while decisions[at].duplicate_of is not None:
            at = decisions[at].duplicate_of
            assert at not in path and decisions[at].cluster_id == d.cluster_id, (doc_id, path)
            path.append(at)
        assert at == d.cluster_id
