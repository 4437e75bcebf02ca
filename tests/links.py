"""Checks on reported duplicate links, shared by the dedup and index tests: every link
is a pair verified as one story, reported with its measures, and a cluster's links lead
to its kept document."""

from __future__ import annotations

from ingest.config import DedupConfig, load_config
from ingest.dedup.decisions import Decision
from ingest.dedup.marks import word_marks
from ingest.dedup.shingles import hashes_and_spans, jaccard, shingle_set, token_hashes
from ingest.dedup.verify import Comparison, compare, kind_of

DEFAULTS = load_config().dedup


def exact_jaccard(a: str, b: str, n: int = 5) -> float:
    return jaccard(shingle_set(token_hashes(a), n), shingle_set(token_hashes(b), n))


def comparison(a: str, b: str, config: DedupConfig = DEFAULTS) -> Comparison:
    """The verification's comparison of two texts."""
    (tokens_a, spans_a), (tokens_b, spans_b) = hashes_and_spans(a), hashes_and_spans(b)
    return compare(tokens_a, word_marks(a, spans_a, tokens_a, config.figure_words, config.not_names),
                   tokens_b, word_marks(b, spans_b, tokens_b, config.figure_words, config.not_names), config)


def link(kept: str, doc: str, parent: str, texts: dict[str, str], config: DedupConfig = DEFAULTS) -> Decision:
    """The decision of `doc`, linked to `parent` in `kept`'s cluster."""
    c = comparison(texts[doc], texts[parent], config)
    kind = kind_of(c, config)
    assert kind is not None, (doc, parent, c)
    contained_in = (doc if c.a_contains_b() else parent) if kind == "contained" else None
    return Decision(kept, parent, round(c.similarity, 4), kind, round(c.containment, 4), contained_in)


def assert_links_are_verified(decisions: dict, texts: dict[str, str], config: DedupConfig = DEFAULTS) -> None:
    """Every reported link is a pair verified as one story, with its measures, and the
    links of a cluster lead to its kept document."""
    for doc_id, d in decisions.items():
        if d.duplicate_of is None:
            continue
        assert d == link(d.cluster_id, doc_id, d.duplicate_of, texts, config), doc_id
        path, at = [doc_id], doc_id
        while decisions[at].duplicate_of is not None:
            at = decisions[at].duplicate_of
            assert at not in path and decisions[at].cluster_id == d.cluster_id, (doc_id, path)
            path.append(at)
        assert at == d.cluster_id
