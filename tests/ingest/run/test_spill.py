"""A batch's words and sketches made for many documents at once are those of each alone."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.config import DedupConfig
from ingest.dedup.minhash import MinHasher
from ingest.dedup.pair_rounds import text_class
from ingest.run.spill import BatchWords
from tests.samples import ARTICLE

KINDS = ("tokens", "marks", "classes", "signatures", "spans", "grams", "anchors")
# Words, capitals after and before sentence ends, figures, quotes, line breaks, apostrophes,
# characters that fold to several, astral ones.
PIECES = "ab AB Zx 12 two Monday . : ! “ ” ' ’ - ß ﬁ İ 😀 𝒜".split(" ") + [" ", "\n", "\n\n"]
TEXTS = st.lists(st.lists(st.sampled_from(PIECES), max_size=40).map("".join), min_size=1, max_size=12)


def _made(texts: list[str], config: DedupConfig, at_once: bool) -> tuple[dict, dict]:
    hasher = MinHasher(config.num_perm, config.seed)
    words = BatchWords()
    for part in [texts] if at_once else [[t] for t in texts]:
        words.add([str(i) for i in range(len(part))], part, config, hasher)
    arrays = {k: np.concatenate(words.arrays[k]) for k in KINDS}
    counts = {k: np.concatenate(words.counts[k]).tolist() for k in ("tokens", "grams", "anchors")}
    return arrays, counts


def _assert_same_as_one_by_one(texts: list[str], config: DedupConfig) -> None:
    arrays, counts = _made(texts, config, at_once=True)
    alone_arrays, alone_counts = _made(texts, config, at_once=False)
    assert counts == alone_counts
    for kind in KINDS:
        assert arrays[kind].dtype == alone_arrays[kind].dtype
        assert np.array_equal(arrays[kind], alone_arrays[kind]), kind


@settings(max_examples=200, deadline=None)
@given(TEXTS)
def test_words_and_sketches_of_texts_together_are_those_of_each_alone(texts: list[str]) -> None:
    _assert_same_as_one_by_one(texts, DedupConfig())


def test_articles_together_are_each_alone_with_other_n_grams_for_passages() -> None:
    default = DedupConfig()
    config = default.model_copy(update={"passages": default.passages.model_copy(update={"ngram": 3})})
    texts = [ARTICLE, "", "Short one.", ARTICLE.upper(), "- Lead: Names Here\n\n" + ARTICLE, "Straße " + ARTICLE]
    _assert_same_as_one_by_one(texts, config)
    arrays, _ = _made(texts, config, at_once=True)
    assert arrays["marks"].any() and len(arrays["anchors"]) > 0


def test_a_documents_text_class_is_that_of_its_words_and_marks() -> None:
    texts = [ARTICLE, ARTICLE, ARTICLE.replace("\n\n", "\n\n\n"), ARTICLE + " One more."]
    arrays, counts = _made(texts, DedupConfig(), at_once=True)
    offsets = np.concatenate(([0], np.cumsum(counts["tokens"])))
    classes = arrays["classes"].tolist()
    assert classes == [text_class(arrays["tokens"][lo:hi], arrays["marks"][lo:hi])
                       for lo, hi in zip(offsets[:-1], offsets[1:])]
    # The same words and marks, one class; other words, another.
    assert classes[0] == classes[1] and classes[0] != classes[3]
