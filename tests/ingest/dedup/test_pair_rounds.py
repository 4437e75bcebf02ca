"""Candidate pairs verified in rounds: skipping pairs already connected leaves the
clusters, and the kept documents, of verifying every candidate pair."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from ingest.config import load_config
from ingest.dedup import pair_rounds
from ingest.dedup.marks import word_marks
from ingest.dedup.pair_rounds import RefusalMemo, find, one_story, text_class, verify_chunk, verify_in_rounds
from ingest.dedup.shingles import hashes_and_spans
from tests.ingest.dedup.test_dedup import edit_words, run_dedup
from tests.links import assert_links_are_verified
from tests.samples import article, span_text

CONFIG = load_config().dedup


def clique_texts() -> dict[str, str]:
    """Two stories of eight copies each (every copy one story with every other), a
    chain whose ends are not one story, and unrelated articles."""
    texts = {}
    for story in range(2):
        base = article(700 + story, 240)
        for copy in range(8):
            texts[f"s{story}-{copy}"] = edit_words(base, 0.02 * (copy % 4), seed=copy) if copy else base
    texts.update({f"chain-{k}": span_text(30 * k) for k in range(4)})
    texts.update({f"other-{i}": article(900 + i) for i in range(6)})
    return texts


def words_of(text: str) -> tuple[np.ndarray, np.ndarray]:
    tokens, spans = hashes_and_spans(text)
    return tokens, word_marks(text, spans, tokens, CONFIG.figure_words, CONFIG.not_names)


def components_of_all(ids: list[str], texts: dict[str, str]) -> dict[str, str]:
    """Each id's component over every pair verified: its smallest member."""
    parent: dict[str, str] = {}
    for a, b in itertools.combinations(ids, 2):
        if one_story(words_of(texts[a]), words_of(texts[b]), CONFIG)[0] is not None:
            ra, rb = find(parent, a), find(parent, b)
            parent[max(ra, rb)] = min(ra, rb)
    return {doc: find(parent, doc) for doc in ids}


@pytest.mark.parametrize(("round_pairs", "chunk_pairs"), [(1, 1), (7, 3), (40, 40), (10_000, 10_000)])
def test_rounds_connect_what_every_verified_pair_connects(round_pairs, chunk_pairs, monkeypatch) -> None:
    texts = clique_texts()
    ids = sorted(texts)
    words = [words_of(texts[doc]) for doc in ids]
    monkeypatch.setattr(pair_rounds, "ROUND_PAIRS", round_pairs)
    monkeypatch.setattr(pair_rounds, "CHUNK_PAIRS", chunk_pairs)
    chunks_seen = []

    def verify(chunks):
        chunks_seen.extend(len(c) for c in chunks)
        return [verify_chunk(c[:, 0].tolist(), c[:, 1].tolist(), c[:, 2:], words.__getitem__, CONFIG) for c in chunks]

    every_pair = list(itertools.combinations(range(len(ids)), 2))  # all candidates, in order
    blocks = np.array_split(np.array(every_pair), 13)  # as the LSH hands them, in blocks of any size
    memo = RefusalMemo(np.array([text_class(*w) for w in words], dtype=np.int64))
    found, counts, stats, root = verify_in_rounds(blocks, memo, verify)
    assert max(chunks_seen) <= chunk_pairs
    expected = components_of_all(ids, texts)
    assert {doc: ids[r] for doc, r in zip(ids, root.tolist())} == expected
    # Every pair reported is one story, with its comparison's counts.
    for (a, b), row in zip(found.tolist(), counts.tolist()):
        c = one_story(words[a], words[b], CONFIG)[0]
        assert c is not None and [getattr(c, n) for n in pair_rounds.COUNTS] == row
    assert stats["lsh_candidates"] == len(every_pair)
    assert stats["lsh_candidates"] == (stats["skipped_as_connected"] + stats["lsh_false_positives"]
                                       + len(found))
    # A clique of 8 is connected by 7 of its 28 pairs: one pair at a time verifies no
    # more pairs than connect; larger rounds verify some of the rest, never all.
    if round_pairs == 1:
        assert len(found) == len(ids) - len(set(expected.values()))
    assert stats["skipped_as_connected"] >= 28 - 7


def test_a_clique_keeps_the_clusters_and_kept_documents_of_all_its_pairs() -> None:
    texts = clique_texts()
    dates = {doc: f"2024-01-{1 + i % 28:02d}" for i, doc in enumerate(sorted(texts))}
    result = run_dedup({doc: (text, dates[doc]) for doc, text in texts.items()})
    expected = components_of_all(sorted(texts), texts)
    groups: dict[str, list[str]] = {}
    for doc, root in expected.items():
        groups.setdefault(root, []).append(doc)
    clusters = {c["kept"]: sorted([c["kept"]] + [m["id"] for m in c["members"]]) for c in result.clusters}
    # The kept document: the earliest created (the keep policy's first rule).
    assert clusters == {min(g, key=lambda d: dates[d]): sorted(g) for g in groups.values() if len(g) > 1}
    assert result.stats["skipped_as_connected"] > 0
    assert_links_are_verified(result.decisions, texts)
