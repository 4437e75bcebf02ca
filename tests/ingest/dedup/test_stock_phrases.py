"""The run's stock phrases: what they keep from being a passage, and what they do not."""

from __future__ import annotations

import random

from ingest.config import PassageConfig
from ingest.dedup.passages import anchors, candidate_pairs, find_passages, window
from ingest.dedup.shingles import ngram_hashes, token_hashes
from ingest.dedup.stock_phrases import stock_limit
from tests.ingest.dedup.test_passages import passage_text, sketches_of
from tests.samples import article


SIGN_OFF = "Reuters could not immediately reach the company for comment"
FILING = "said it filed a registration statement with the Securities and Exchange Commission covering"
QUOTE = "We have no intention of widening this conflict and we will keep every channel open"


def stock_run(stories: int, *, quote_in: int = 2) -> dict[str, str]:
    """`stories` unrelated stories that all hold the two stock phrases side by side (a
    shared run of 25 words), the first `quote_in` of them a quote too."""
    return {f"s{i:02d}": (f"{article(100 + i, 40)} The firm {FILING} a debt offering. {SIGN_OFF}. "
                          + article(200 + i, 40) + (f" “{QUOTE},” the minister said." if i < quote_in else ""))
            for i in range(stories)}


def linked(found: dict, a: str, b: str) -> list[str]:
    return [p.other_id for p in found.get(a, []) if p.other_id == b]


def test_stock_phrases_side_by_side_are_no_passage() -> None:
    """Two stock phrases next to each other in every story make a shared run of 25
    words: no link, because the run's anchors are in more stories than stock_limit;
    the quote two of them share is still one."""
    config = PassageConfig()
    stories = config.stock_min_documents + 1
    found = find_passages(sketches_of(stock_run(stories)), {}, config)
    assert linked(found, "s00", "s01") == ["s01"]
    (quote,) = found["s00"]
    assert passage_text(stock_run(stories)["s00"], quote.start, quote.end) == f"{QUOTE},” the minister said"
    assert all(p.other_id in {"s00", "s01"} for matches in found.values() for p in matches)


def test_a_phrase_in_few_stories_is_still_a_passage() -> None:
    """The same texts, in as many stories as stock_min_documents (a quote reused by many
    papers of a small run): every pair is linked."""
    config = PassageConfig()
    found = find_passages(sketches_of(stock_run(config.stock_min_documents)), {}, config)
    assert all(len(found[f"s{i:02d}"]) == config.stock_min_documents - 1 for i in range(2, 5))


def test_stock_limit_grows_with_the_run() -> None:
    config = PassageConfig()  # more than 20 stories, and more than 0.1 % of them
    assert stock_limit(5, config) == 20
    assert stock_limit(100_000, config) == 100


def test_a_quote_holding_a_stock_phrase_is_a_passage_when_the_rest_is_long_enough() -> None:
    config = PassageConfig()
    stories = stock_run(config.stock_min_documents + 1, quote_in=0)
    own = "Shares of the builder rose sharply after the regional court cleared the merger late on Friday"
    stories["s00"] += f" {SIGN_OFF} after the ruling. {own}."
    stories["s01"] = f"{SIGN_OFF} after the ruling. {own}. " + stories["s01"]
    found = find_passages(sketches_of(stories), {}, config)
    (passage,) = found["s00"]
    assert passage.other_id == "s01" and passage_text(stories["s00"], passage.start, passage.end).endswith(own)


def test_passages_with_stock_phrases_do_not_depend_on_which_id_sorts_first() -> None:
    config = PassageConfig()
    texts = stock_run(config.stock_min_documents + 3, quote_in=3)
    rng = random.Random(2)
    for _ in range(3):
        names = dict(zip(texts, rng.sample([f"d{i:02d}" for i in range(len(texts))], len(texts))))
        found = find_passages(sketches_of({names[k]: t for k, t in texts.items()}), {}, config)
        back = {v: k for k, v in names.items()}
        links = {(back[a], p.start, p.end, back[p.other_id], p.other_start, p.other_end)
                 for a, matches in found.items() for p in matches}
        assert links == {(a, p.start, p.end, p.other_id, p.other_start, p.other_end)
                         for a, matches in find_passages(sketches_of(texts), {}, config).items() for p in matches}
        assert {(a, b) for a, _, _, b, _, _ in links} == {(a, b) for a in ("s00", "s01", "s02")
                                                         for b in ("s00", "s01", "s02") if a != b}


def test_stock_anchors_mask_only_their_n_grams() -> None:
    config = PassageConfig()
    texts = stock_run(config.stock_min_documents + 1, quote_in=0)
    anchor_sets = [anchors(token_hashes(t), config) for t in texts.values()]
    _, _, stock = candidate_pairs(anchor_sets, 2, stock_limit(len(anchor_sets), config))
    phrase = ngram_hashes(token_hashes(f"{FILING} a debt offering. {SIGN_OFF}"), config.ngram)
    assert stock.mask(phrase).sum() >= len(phrase) // window(config)
    assert not stock.mask(ngram_hashes(token_hashes(article(300, 80)), config.ngram)).any()
