from __future__ import annotations

import random

import numpy as np
import pytest

from ingest.config import DedupConfig, PassageConfig
from ingest.dedup import (
    lsh_pairs,
    Deduplicator,
    MinHasher,
    find_passages,
    jaccard,
    ngram_hashes,
    sketch,
    token_hashes,
    token_spans,
)

WORDS = (
    "government minister river harbour council budget school railway election court museum "
    "festival hospital factory market weather storm bridge village airport farmers police "
    "university orchestra library volcano treaty embassy ferry tunnel stadium reservoir"
).split()


def article(seed: int, words: int = 220) -> str:
    rng = random.Random(seed)
    sentences = []
    while sum(len(s.split()) for s in sentences) < words:
        n = rng.randint(8, 18)
        sentences.append(" ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + ".")
    paras = [" ".join(sentences[i : i + 4]) for i in range(0, len(sentences), 4)]
    return "\n\n".join(paras)


def edit_words(text: str, share: float, seed: int) -> str:
    rng = random.Random(seed)
    words = text.split(" ")
    for i in rng.sample(range(len(words)), int(len(words) * share)):
        words[i] = "changed"
    return " ".join(words)


def run_dedup(docs: dict[str, tuple[str, str | None]], config: DedupConfig | None = None):
    config = config or DedupConfig()
    hasher = MinHasher(config.num_perm, config.seed)
    d = Deduplicator(config)
    for doc_id, (text, created) in docs.items():
        d.add(sketch(doc_id, text, created, "2026-01-01T00:00:00Z", f"src/{doc_id}", config, hasher))
    return d.run()


def test_normalisation_ignores_case_punctuation_and_quote_style() -> None:
    a = token_hashes("We don’t want THIS, “escalate”.")
    b = token_hashes("we don't want this escalate")
    assert np.array_equal(a, b)


def test_digits_are_kept_distinct() -> None:
    assert not np.array_equal(token_hashes("profit rose 12 percent"), token_hashes("profit rose 15 percent"))


def test_short_text_is_one_shingle() -> None:
    assert len(ngram_hashes(token_hashes("two words"), 5)) == 1
    assert len(ngram_hashes(token_hashes(""), 5)) == 0


def test_minhash_estimates_jaccard() -> None:
    hasher = MinHasher(256, 7)
    a = np.arange(1000, dtype=np.uint64) * np.uint64(2654435761)
    b = a[200:]  # true Jaccard 0.8
    est = np.mean(hasher.signature(a) == hasher.signature(b))
    assert 0.7 < est < 0.9
    assert jaccard(np.sort(a), np.sort(b)) == pytest.approx(0.8)
    assert hasher.signature(a).dtype == np.uint32


def test_exact_duplicate_linked_to_earliest_created() -> None:
    text = article(1)
    result = run_dedup({"b": (text, "2024-04-15"), "a": (text, "2024-04-14"), "c": (article(2), None)})
    assert result.decisions["b"].duplicate_of == "a"
    assert result.decisions["b"].similarity == 1.0
    assert result.decisions["a"].duplicate_of is None
    assert result.decisions["a"].cluster_id == "a"
    assert result.decisions["c"].cluster_id is None


def test_near_duplicate_with_edits_and_dropped_paragraph() -> None:
    original = article(3, words=700)  # about 12 paragraphs, as a news story has
    copy = "Another headline\n\n" + edit_words(original.rsplit("\n\n", 1)[0], 0.02, 1)
    result = run_dedup({"orig": (original, "2024-01-01"), "copy": (copy, "2024-01-02")})
    assert result.decisions["copy"].duplicate_of == "orig"
    assert result.decisions["copy"].similarity >= 0.7


def test_different_articles_are_not_duplicates() -> None:
    docs = {f"d{i}": (article(100 + i), None) for i in range(20)}
    result = run_dedup(docs)
    assert all(d.duplicate_of is None for d in result.decisions.values())
    assert result.clusters == []


def test_lsh_candidates_below_threshold_are_rejected_by_verification() -> None:
    # Loose bands make the LSH propose pairs the exact check must refuse.
    config = DedupConfig(bands=32, rows=2, num_perm=64, threshold=0.9)
    original = article(5)
    result = run_dedup({"x": (original, None), "y": (edit_words(original, 0.15, 2), None)}, config)
    assert result.stats["lsh_candidates"] >= 1
    assert result.stats["lsh_false_positives"] >= 1
    assert result.decisions["y"].duplicate_of is None


def test_keep_choice_does_not_depend_on_insertion_order() -> None:
    base = article(7)
    docs = {f"v{i}": (edit_words(base, 0.01 * i, i), f"2024-01-0{1 + i % 3}") for i in range(6)}
    expected = None
    for seed in range(4):
        items = list(docs.items())
        random.Random(seed).shuffle(items)
        decisions = run_dedup(dict(items)).decisions
        snapshot = {k: (v.cluster_id, v.duplicate_of, v.similarity) for k, v in sorted(decisions.items())}
        expected = expected or snapshot
        assert snapshot == expected


def test_keep_policy_longest_when_no_dates() -> None:
    base = article(9)
    shorter = base.rsplit("\n\n", 1)[0]
    config = DedupConfig(keep_policy=["created", "longest"], threshold=0.6)
    result = run_dedup({"short": (shorter, None), "long": (base, None)}, config)
    assert result.decisions["short"].duplicate_of == "long"


def passage_text(text: str, doc_text: str, start: int, end: int) -> str:
    spans = token_spans(doc_text)
    return doc_text[spans[start][0] : spans[end - 1][1]]


def test_quote_inside_differently_worded_paragraphs_is_linked() -> None:
    quote = "We have no intention of widening this conflict and we will keep every channel open"
    a = f"{article(11, 80)}\n\nThe spokesman told reporters: “{quote},” before leaving the podium."
    b = f"Officials were cautious. “{quote}”, a senior aide said in a radio interview on Monday.\n\n{article(12, 80)}"
    config = DedupConfig()
    hasher = MinHasher(config.num_perm, config.seed)
    sketches = {k: sketch(k, t, None, "t", k, config, hasher) for k, t in {"a": a, "b": b}.items()}
    passages = find_passages(sketches, {}, PassageConfig())
    assert [p.other_id for p in passages["a"]] == ["b"]
    linked = passage_text(quote, a, passages["a"][0].start, passages["a"][0].end)
    assert quote in linked.replace("“", "").replace("”", "") or linked in quote


def test_stock_phrase_is_not_a_passage() -> None:
    a = f"{article(21, 60)} The White House said on Sunday that talks would go on."
    b = f"{article(22, 60)} Aid was delayed, the White House said on Sunday."
    config = DedupConfig()
    hasher = MinHasher(config.num_perm, config.seed)
    sketches = {k: sketch(k, t, None, "t", k, config, hasher) for k, t in {"a": a, "b": b}.items()}
    assert find_passages(sketches, {}, PassageConfig()) == {}


def test_passages_not_reported_inside_a_duplicate_cluster() -> None:
    text = article(31)
    result = run_dedup({"a": (text, None), "b": (text, None)})
    assert result.passages == {}


def test_banding_proposes_the_same_pairs_as_datasketch() -> None:
    """lsh_pairs is datasketch's MinHashLSH banding, on arrays instead of dicts."""
    from datasketch import LeanMinHash, MinHashLSH

    rng = np.random.default_rng(3)
    base = rng.integers(0, 2**32, size=(40, 32), dtype=np.uint64)
    # Copies that keep some bands of their original, so that buckets are shared.
    signatures = np.concatenate([base, np.where(rng.random((40, 32)) < 0.8, base, base + 1)]).astype(np.uint32)
    lsh = MinHashLSH(num_perm=32, params=(8, 4))
    for i, sig in enumerate(signatures):
        lsh.insert(i, LeanMinHash(seed=1, hashvalues=sig.astype(np.uint64), scheme="affine64"))
    expected = set()
    for i, sig in enumerate(signatures):
        for j in lsh.query(LeanMinHash(seed=1, hashvalues=sig.astype(np.uint64), scheme="affine64")):
            if i < j:
                expected.add((i, j))
    assert len(expected) > 20
    assert set(lsh_pairs(signatures, 8, 4)) == expected
