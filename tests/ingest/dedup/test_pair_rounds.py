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


def copies_texts() -> dict[str, str]:
    """Exact copies of stories that meet each other: a story, the same story with a
    figure replaced (refused for the conflict), an edited copy (one story with the
    first), another story; each but the edit held three times."""
    base = article(710, 200) + " Sales rose 12 pct to 340 mln dlrs in 1986."
    stories = {"a": base, "b": base.replace("340 mln", "570 mln"), "c": article(711, 200)}
    texts = {f"{name}-{copy}": text for name, text in stories.items() for copy in range(3)}
    texts["a-edit"] = edit_words(base, 0.02, seed=1)
    return texts


def _run_rounds(texts: dict[str, str], classes_of, monkeypatch) -> tuple:
    """Every pair of `texts` verified in rounds of 5 pairs, chunks of 3, the documents'
    text classes given by `classes_of(words)`; also each comparison made: (round,
    first's text, second's text, refused)."""
    ids = sorted(texts)
    words = [words_of(texts[doc]) for doc in ids]
    monkeypatch.setattr(pair_rounds, "ROUND_PAIRS", 5)
    monkeypatch.setattr(pair_rounds, "CHUNK_PAIRS", 3)
    compared, rounds = [], []
    texts_of = {id(w[0]): texts[doc] for doc, w in zip(ids, words)}

    def recording(a, b, config):
        c, conflict = one_story(a, b, config)
        compared.append((len(rounds), texts_of[id(a[0])], texts_of[id(b[0])], c is None))
        return c, conflict

    monkeypatch.setattr(pair_rounds, "one_story", recording)

    def verify(chunks):
        rounds.append(len(chunks))
        return [verify_chunk(c[:, 0].tolist(), c[:, 1].tolist(), c[:, 2:], words.__getitem__, CONFIG) for c in chunks]

    every_pair = np.array(list(itertools.combinations(range(len(ids)), 2)))
    return (*verify_in_rounds([every_pair], RefusalMemo(classes_of(words)), verify), compared)


def test_remembered_verdicts_leave_every_verified_pair_and_count_as_they_were(monkeypatch) -> None:
    texts = copies_texts()
    assert one_story(words_of(texts["a-0"]), words_of(texts["b-0"]), CONFIG) == (None, True)  # the conflict
    found, counts, stats, root, compared = _run_rounds(
        texts, lambda words: np.array([text_class(*w) for w in words], dtype=np.int64), monkeypatch)
    # Each document a class of its own: nothing can be remembered, every pair compared.
    alone = _run_rounds(texts, lambda words: np.arange(len(words), dtype=np.int64), monkeypatch)
    assert alone[2]["verdicts_remembered"] == 0 and stats["verdicts_remembered"] > 0
    assert len(compared) + stats["verdicts_remembered"] == len(alone[4])
    assert np.array_equal(found, alone[0]) and np.array_equal(counts, alone[1]) and np.array_equal(root, alone[3])
    assert {k: v for k, v in stats.items() if k != "verdicts_remembered"} == \
        {k: v for k, v in alone[2].items() if k != "verdicts_remembered"}
    assert stats["refused_for_figures_or_names"] > 0


def test_a_pair_of_texts_refused_in_a_round_is_not_compared_again(monkeypatch) -> None:
    *_, compared = _run_rounds(copies_texts(), lambda words: np.array([text_class(*w) for w in words],
                                                                       dtype=np.int64), monkeypatch)
    refused_in = {}
    for round_, a, b, refused in compared:
        if refused:
            refused_in.setdefault((a, b), round_)
    assert refused_in
    for round_, a, b, _ in compared:
        assert round_ <= refused_in.get((a, b), round_), "refused in an earlier round, compared again"


def test_the_memo_keeps_only_refusals_that_can_recur() -> None:
    memo = RefusalMemo(np.array([7, 7, 8, 9], dtype=np.int64))  # documents 0 and 1: one text
    memo.remember(np.array([[0, 2], [2, 3], [3, 0]]), np.array([False, False, True]))
    assert len(memo) == 2  # (2, 3): neither text has another document
    before = memo.rows(np.array([[1, 2], [3, 1], [2, 3], [2, 1]]))[:, -1].tolist()
    assert before == [pair_rounds.REFUSED, pair_rounds.CONFLICT, pair_rounds.UNKNOWN, pair_rounds.UNKNOWN]
