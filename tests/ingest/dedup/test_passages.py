from __future__ import annotations

import itertools
import random
from collections import Counter

import numpy as np
import pytest

from ingest.arrays import runs_of
from ingest.config import DedupConfig, PassageConfig
from ingest.dedup import passages
from ingest.dedup.minhash import MinHasher, sketch
from ingest.dedup.passages import (
    anchors,
    candidate_pairs,
    find_passages,
    match_pairs,
    min_shared_anchors,
    repeated_runs,
)
from ingest.dedup.shared_runs import merged_passages, shared_runs
from ingest.dedup.shingles import ngram_hashes, token_hashes, token_spans
from tests.samples import article


def sketches_of(texts: dict[str, str]) -> dict:
    config = DedupConfig()
    hasher = MinHasher(config.num_perm, config.seed)
    return {doc_id: sketch(doc_id, text, None, "t", doc_id, config, hasher) for doc_id, text in texts.items()}


def passage_text(doc_text: str, start: int, end: int) -> str:
    spans = token_spans(doc_text)
    return doc_text[spans[start][0] : spans[end - 1][1]]


def test_quote_inside_differently_worded_paragraphs_is_linked() -> None:
    quote = "We have no intention of widening this conflict and we will keep every channel open"
    a = f"{article(11, 80)}\n\nThe spokesman told reporters: “{quote},” before leaving the podium."
    b = f"Officials were cautious. “{quote}”, a senior aide said in a radio interview on Monday.\n\n{article(12, 80)}"
    passages = find_passages(sketches_of({"a": a, "b": b}), {}, PassageConfig())
    assert [p.other_id for p in passages["a"]] == ["b"]
    assert [p.other_id for p in passages["b"]] == ["a"]
    found = passages["a"][0]
    assert passage_text(a, found.start, found.end) == quote
    assert passage_text(b, found.other_start, found.other_end) == quote


def test_stock_phrase_is_not_a_passage() -> None:
    a = f"{article(21, 60)} The White House said on Sunday that talks would go on."
    b = f"{article(22, 60)} Aid was delayed, the White House said on Sunday."
    assert find_passages(sketches_of({"a": a, "b": b}), {}, PassageConfig()) == {}


def test_passages_not_searched_inside_a_duplicate_cluster() -> None:
    quote = "We have no intention of widening this conflict and we will keep every channel open"
    texts = {"a": f"{article(31, 80)} {quote}.", "b": f"{quote}. {article(32, 80)}"}
    sketches = sketches_of(texts)
    assert find_passages(sketches, {}, PassageConfig())  # distinct stories share the quote
    assert find_passages(sketches, {"b": "a"}, PassageConfig()) == {}  # b is a copy of a


def brute_force_pairs(anchor_sets: list[np.ndarray], min_shared: int, rare_at_most: int = 0) -> set[tuple[int, int]]:
    documents = Counter(int(h) for found in anchor_sets for h in found)
    return {(i, j) for i, j in itertools.combinations(range(len(anchor_sets)), 2)
            if len(shared := np.intersect1d(anchor_sets[i], anchor_sets[j])) >= min_shared
            or any(documents[int(h)] <= rare_at_most for h in shared)}


@pytest.mark.parametrize("codes_at_once", [7, 4_000_000], ids=["in parts", "at once"])
def test_candidate_pairs_are_the_pairs_sharing_enough_anchors(codes_at_once: int, monkeypatch) -> None:
    monkeypatch.setattr(passages, "_CODES_AT_ONCE", codes_at_once)
    rng = np.random.default_rng(5)
    anchor_sets = [np.unique(rng.integers(0, 60, size=rng.integers(0, 12)).astype(np.uint64)) for _ in range(40)]
    for min_shared, rare_at_most in itertools.product((1, 2, 3), (0, 2, 4)):
        first, second, _ = candidate_pairs(anchor_sets, min_shared, rare_at_most=rare_at_most)
        assert (first < second).all()
        expected = brute_force_pairs(anchor_sets, min_shared, rare_at_most)
        assert set(zip(first.tolist(), second.tolist())) == expected
        if rare_at_most:  # the rule adds pairs here, so the check is not vacuous
            assert min_shared == 1 or expected > brute_force_pairs(anchor_sets, min_shared)


def test_one_anchor_pairs_stories_only_when_rare() -> None:
    """Anchor 7 is in 2 stories, 8 in 3: with rare_at_most 2, one shared anchor pairs
    the two stories of 7, not those of 8 (a phrase that more stories share)."""
    anchor_sets = [np.array(found, dtype=np.uint64) for found in ([1, 7], [2, 7, 8], [3, 8], [4, 8])]
    first, second, _ = candidate_pairs(anchor_sets, 2, rare_at_most=2)
    assert list(zip(first.tolist(), second.tolist())) == [(0, 1)]
    assert len(candidate_pairs(anchor_sets, 2)[0]) == 0


SPLIT_FIRST, SPLIT_SECOND = "We will not accept any", "cuts to the ferry service"
ATTRIBUTIONS = ["a union leader said", "the strike committee told reporters", "one of the crew said on Monday"]


def split_quote_stories(quoting: int) -> dict[str, str]:
    """A source saying a 10-word sentence, and `quoting` stories quoting it split by an
    attribution (each its own) into parts of 5 words: shorter than `anchor_words`, so
    each shares one anchor with the source, not the two that a pair needs otherwise."""
    texts = {"source": f"{article(71, 40)} {SPLIT_FIRST} {SPLIT_SECOND} in the spring. {article(72, 40)}"}
    for i in range(quoting):
        texts[f"quoting{i}"] = (f"{article(74 + 3 * i, 40)} \u201c{SPLIT_FIRST},\u201d {ATTRIBUTIONS[i]}. "
                                f"\u201c{SPLIT_SECOND}.\u201d {article(75 + 3 * i, 40)}")
    config = PassageConfig()
    source = anchors(token_hashes(texts["source"]), config)
    for i in range(quoting):
        assert len(np.intersect1d(source, anchors(token_hashes(texts[f"quoting{i}"]), config))) == 1
    return texts


def test_a_quote_split_into_short_parts_is_linked() -> None:
    texts = split_quote_stories(1)
    config = PassageConfig()
    assert min_shared_anchors(config) == 2
    found = find_passages(sketches_of(texts), {}, config)
    (quote,) = found["quoting0"]
    assert quote.other_id == "source"
    assert passage_text(texts["quoting0"], quote.start, quote.end) == (
        f"{SPLIT_FIRST},\u201d a union leader said. \u201c{SPLIT_SECOND}")
    assert passage_text(texts["source"], quote.other_start, quote.other_end) == f"{SPLIT_FIRST} {SPLIT_SECOND}"


def test_one_shared_anchor_in_more_stories_than_rare_anchor_documents_links_none() -> None:
    config = PassageConfig()
    texts = split_quote_stories(config.rare_anchor_documents)  # the anchor is in one story more
    assert find_passages(sketches_of(texts), {}, config) == {}
    assert find_passages(sketches_of(texts), {}, config.model_copy(update={"rare_anchor_documents": len(texts)}))


@pytest.mark.parametrize("values", [[], [4], [4, 4], [1, 2, 3], [1, 1, 2, 3, 3, 3, 4, 5, 5], [2, 2, 2, 2]])
def test_repeated_runs_are_the_runs_of_two_or_more(values: list[int]) -> None:
    ordered = np.array(values, dtype=np.uint64)
    starts, sizes = runs_of(ordered)
    expected = sizes >= 2
    got_starts, got_sizes = repeated_runs(ordered)
    assert got_starts.tolist() == starts[expected].tolist()
    assert got_sizes.tolist() == sizes[expected].tolist()


def test_repeated_runs_of_random_sorted_values() -> None:
    rng = np.random.default_rng(11)
    for _ in range(50):
        ordered = np.sort(rng.integers(0, rng.integers(1, 40), size=rng.integers(0, 60)).astype(np.uint64))
        starts, sizes = runs_of(ordered)
        got_starts, got_sizes = repeated_runs(ordered)
        assert got_starts.tolist() == starts[sizes >= 2].tolist()
        assert got_sizes.tolist() == sizes[sizes >= 2].tolist()


def test_anchor_shared_by_too_many_documents_pairs_nobody() -> None:
    common = np.array([7, 8], dtype=np.uint64)  # two anchors in all 60 documents: a stock phrase
    first, _, _ = candidate_pairs([common] * 60, 1)
    assert len(first) == 0
    first, second, _ = candidate_pairs([common] * 3, 2)
    assert set(zip(first.tolist(), second.tolist())) == {(0, 1), (0, 2), (1, 2)}


def brute_force_runs(a: np.ndarray, b: np.ndarray, n: int) -> list[tuple[int, int, int, int]]:
    """Every shared n-gram position pair, extended along its diagonal: the definition."""
    matches = sorted((j - i, i) for i in range(len(a)) for j in range(len(b)) if a[i] == b[j])
    runs: list[list[int]] = []
    for diagonal, i in matches:
        if runs and runs[-1][3] - runs[-1][1] == diagonal and runs[-1][1] == i - 1 + n:
            runs[-1][1], runs[-1][3] = i + n, i + diagonal + n
        else:
            runs.append([i, i + n, i + diagonal, i + diagonal + n])
    return sorted(tuple(r) for r in runs)


def assert_runs_are_the_definition(groups: list[tuple[np.ndarray, list[np.ndarray]]], config: PassageConfig) -> None:
    """`shared_runs` of these groups (an a and its bs), all searched at once."""
    got = shared_runs([a for a, _ in groups], [bs for _, bs in groups], config)
    pairs = [(a, b) for a, bs in groups for b in bs]
    for (a, b), runs in zip(pairs, got, strict=True):
        shared = sum(int(x == y) for x in a for y in b)
        assert [run[:4] for run in runs] == (brute_force_runs(a, b, 2) if shared >= 2 else [])


def test_shared_runs_match_the_definition_with_repeated_words() -> None:
    config = PassageConfig(ngram=2, min_words=3)  # two shared 2-grams or more are searched
    rng = random.Random(3)
    vocabulary = [f"w{i}" for i in range(6)]  # a tiny vocabulary: n-grams repeat within a text
    def grams(words: int) -> np.ndarray:
        return ngram_hashes(token_hashes(" ".join(rng.choices(vocabulary, k=words))), 2)

    for _ in range(30):
        groups = [(grams(rng.randint(5, 40)), [grams(rng.randint(5, 40)) for _ in range(rng.randint(1, 4))])
                  for _ in range(rng.randint(1, 5))]  # several a at once, several b each
        assert_runs_are_the_definition(groups, config)


def test_shared_runs_match_the_definition_when_a_repeats_no_n_gram() -> None:
    # a's words all distinct (its n-grams once each, the runs found without sorting); b
    # made of pieces of a in another order, repeated, and other words between them.
    config = PassageConfig(ngram=2, min_words=3)
    rng = random.Random(5)

    def group() -> tuple[np.ndarray, list[np.ndarray]]:
        words = [f"w{i}" for i in range(rng.randint(5, 60))]
        rng.shuffle(words)
        bs = []
        for _ in range(rng.randint(1, 4)):
            b_words: list[str] = []
            for _ in range(rng.randint(1, 6)):
                start = rng.randrange(len(words))
                b_words += words[start : start + rng.randint(1, 12)] + [f"x{rng.randrange(3)}"]
            bs.append(ngram_hashes(token_hashes(" ".join(b_words)), 2))
        return ngram_hashes(token_hashes(" ".join(words)), 2), bs

    for _ in range(30):
        assert_runs_are_the_definition([group() for _ in range(rng.randint(1, 5))], config)


def test_shared_runs_of_many_groups_at_once() -> None:
    # More groups than the keys' top bits can tell apart by their hashes alone: some
    # a share their n-grams with other groups' bs, which must not match across groups.
    config = PassageConfig(ngram=2, min_words=3)
    rng = random.Random(7)
    vocabulary = [f"w{i}" for i in range(40)]
    def grams(words: int) -> np.ndarray:
        return ngram_hashes(token_hashes(" ".join(rng.choices(vocabulary, k=words))), 2)

    assert_runs_are_the_definition([(grams(rng.randint(5, 30)), [grams(rng.randint(5, 30))]) for _ in range(300)],
                                   config)


def test_runs_merge_across_an_inserted_attribution() -> None:
    config = PassageConfig()
    # a: words 0-19 shared as two runs of 8 words (5-grams: 4 each) around a 4-word insertion in b
    runs = [(0, 8, 100, 108, 0), (8, 16, 112, 120, 0)]
    (passage,) = merged_passages(runs, config)
    assert passage[:4] == (0, 16, 100, 120)
    assert passage[4] == 1.0 and passage[5] == round(16 / 20, 4) and passage[6] == 16
    far = [(0, 8, 100, 108, 0), (8, 16, 100 + 8 + config.max_insert_words + 1, 200, 0)]
    assert [p[:4] for p in merged_passages(far, config.model_copy(update={"min_words": 8}))] == [
        (0, 8, 100, 108), (8, 16, 134, 200)]


def test_match_pairs_reports_both_sides_in_word_positions() -> None:
    quote = "the committee will publish its full findings on the flooding before the end of the year"
    texts = {"a": f"{article(41, 50)} {quote}.", "b": f"{quote}. {article(42, 50)}"}
    n = PassageConfig().ngram
    grams = {k: ngram_hashes(token_hashes(t), n) for k, t in texts.items()}
    ((a, b, a_start, a_end, b_start, b_end, a_share, b_share),) = match_pairs([("a", "b")], grams.__getitem__,
                                                                               PassageConfig())
    assert (a, b) == ("a", "b") and a_share == b_share == 1.0
    assert passage_text(texts["a"], a_start, a_end) == quote == passage_text(texts["b"], b_start, b_end)


def test_one_shared_anchor_is_too_few_for_the_default_passage() -> None:
    # 10 words need two disjoint anchor windows with 5-grams and 7-word anchors.
    assert min_shared_anchors(PassageConfig()) == 2
    assert min_shared_anchors(PassageConfig(min_words=8)) == 1


def test_a_shared_run_of_anchor_words_shares_an_anchor() -> None:
    """Winnowing's guarantee, on texts that share only that run."""
    config = PassageConfig()
    rng = random.Random(9)
    for trial in range(50):
        run = " ".join(f"shared{trial}x{i}" for i in range(config.anchor_words))
        a = " ".join(f"a{rng.randrange(10**6)}" for _ in range(rng.randint(0, 60)))
        b = " ".join(f"b{rng.randrange(10**6)}" for _ in range(rng.randint(0, 60)))
        first = anchors(token_hashes(f"{a} {run} {a}"), config)
        second = anchors(token_hashes(f"{b} {run}"), config)
        assert len(np.intersect1d(first, second)) >= 1


def test_anchors_are_the_window_minimums() -> None:
    config = PassageConfig()
    tokens = token_hashes(article(51, 120))
    grams = ngram_hashes(tokens, config.ngram)
    w = config.anchor_words - config.ngram + 1
    expected = np.unique([grams[i : i + w].min() for i in range(len(grams) - w + 1)])
    assert np.array_equal(anchors(tokens, config), expected)
    assert len(anchors(tokens[: config.ngram - 1], config)) == 0  # shorter than an n-gram


def test_spilled_candidate_pairs_are_the_in_memory_ones_in_order(tmp_path, monkeypatch) -> None:
    """Out of core (hash partitions of the anchors, ranges of the pairs), the same
    pairs in the same order, stock phrases (over MAX_ANCHOR_DOCS documents) left out."""
    from ingest.dedup import part_files
    from ingest.dedup.spilled_anchors import spilled_candidate_pairs

    monkeypatch.setattr(part_files, "DOCS_PER_PART", 50)
    rng = np.random.default_rng(4)
    pool = rng.integers(0, 2**64, size=3000, dtype=np.uint64)
    stock = rng.integers(0, 2**64, size=2, dtype=np.uint64)
    anchor_sets = [np.unique(np.concatenate([rng.choice(pool, rng.integers(0, 40)), stock[: i % 3]]))
                   for i in range(1500)]
    for min_shared, rare_at_most in ((1, 0), (2, 0), (2, 3)):
        *expected, expected_stock = candidate_pairs(anchor_sets, min_shared, 400, rare_at_most)
        assert len(expected[0]) > 1000
        spilled, got_stock = spilled_candidate_pairs(iter(anchor_sets), len(anchor_sets), min_shared, 400, tmp_path,
                                                     rare_at_most)
        assert [a.tolist() for a in spilled.read(0, len(spilled))] == [a.tolist() for a in expected]
        middle = len(spilled) // 3, 2 * len(spilled) // 3
        assert [a.tolist() for a in spilled.read(*middle)] == [a[slice(*middle)].tolist() for a in expected]
        spilled.discard()
        assert len(got_stock.keys) == 2 and got_stock.keys.tolist() == expected_stock.keys.tolist()
        assert got_stock.mask(stock).all() and not got_stock.mask(pool[:100]).any()
    assert list(tmp_path.iterdir()) == []



def test_a_phrase_repeated_in_one_story_does_not_split_a_quote_whichever_id_sorts_first() -> None:
    """The source says "cts to 17.00 dlrs a barrel" twice; the copy quoted with an
    attribution inside is one passage from either side (its earlier copy's run, sorted
    between the quote's parts, used to keep them apart when the quoting story came first)."""
    first = "West Texas Sour was also raised by 50"
    second = "cts to 17.00 dlrs a barrel. A Permian spokesman"
    source = (f"{article(61, 40)} Posted prices rose 50 cts to 17.00 dlrs a barrel for the grade. "
              f"{article(62, 30)} {first} {second} confirmed the change. {article(63, 30)}")
    quoting = f"{article(64, 40)} \u201c{first},\u201d an official said on Tuesday. \u201c{second}.\u201d {article(65, 40)}"
    found = {}
    for names in (("a", "b"), ("b", "a")):
        passages = find_passages(sketches_of(dict(zip(names, (source, quoting)))), {}, PassageConfig())
        found[names] = {(p.start, p.end, p.other_start, p.other_end) for p in passages[names[1]]}
        (quote,) = passages[names[1]]
        assert passage_text(quoting, quote.start, quote.end) == f"{first},\u201d an official said on Tuesday. \u201c{second}"
    assert found[("a", "b")] == found[("b", "a")]
