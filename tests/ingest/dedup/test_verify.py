"""Verification: one fixture per kind of copy an editor makes, one per kind of notice that
must stay apart, and the decision's independence of the input order."""

from __future__ import annotations

import random

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from rapidfuzz.distance import Indel

from ingest.dedup.clusters import Deduplicator
from ingest.dedup.marks import FIGURE, HEADLINE, NAME, word_marks
from ingest.dedup.minhash import MinHasher, sketch
from ingest.dedup.passages import find_passages
from ingest.dedup.shingles import hashes_and_spans
from ingest.dedup.verify import compare, kind_of
from tests.links import DEFAULTS, comparison

STORY = [
    "Flood defences on the River Severn held overnight as water levels at Shrewsbury peaked just below "
    "the record set in 2000, the Environment Agency said on Tuesday.",
    "Engineers worked through the night to pump water away from homes in the Frankwell district, where "
    "temporary barriers were raised on Sunday after two days of heavy rain across mid Wales.",
    "Agency spokeswoman Claire Hughes said the river was expected to fall slowly over the next two days "
    "but warned that more rain forecast for the weekend could bring levels up again.",
    "About 40 properties were evacuated as a precaution and a rest centre was opened at the town's "
    "sports hall, where volunteers handed out blankets and hot drinks to families.",
    "Rail services between Shrewsbury and Welshpool remained suspended while the line was inspected, "
    "and several roads into the town centre were closed to traffic until further notice.",
    "Local businesses said the barriers had saved them from the damage they suffered four years ago, "
    "when the river flooded the centre and some shops stayed shut for months afterwards.",
]
ORIGINAL = "\n\n".join(STORY)


def decide(texts: dict[str, str]) -> dict:
    config = DEFAULTS
    hasher = MinHasher(config.num_perm, config.seed)
    dedup = Deduplicator(config)
    for doc_id, text in texts.items():
        dedup.add(sketch(doc_id, text, None, "2026-01-01T00:00:00Z", f"src/{doc_id}", config, hasher))
    return dedup.run().decisions


def passages(texts: dict[str, str]) -> dict:
    """The passages reported for each text, none of them linked as a duplicate."""
    config = DEFAULTS
    hasher = MinHasher(config.num_perm, config.seed)
    sketches = {k: sketch(k, t, None, "2026-01-01T00:00:00Z", k, config, hasher) for k, t in texts.items()}
    return find_passages(sketches, {}, config.passages)


def assert_one_story(copy: str, kind: str, contained_in: str | None = None, original: str = ORIGINAL) -> None:
    d = decide({"original": original, "copy": copy})
    linked = d["copy"] if d["copy"].duplicate_of else d["original"]
    assert linked.duplicate_of in ("original", "copy") and linked.kind == kind, linked
    assert linked.contained_in == contained_in


def assert_apart(a: str, b: str) -> None:
    """Neither linked, whichever comes first."""
    for texts in ({"a": a, "b": b}, {"b": b, "a": a}):
        d = decide(texts)
        assert d["a"].cluster_id is None and d["b"].cluster_id is None, d
    assert kind_of(comparison(a, b), DEFAULTS) is None and kind_of(comparison(b, a), DEFAULTS) is None


# ---------------------------------------------------------------------- copies


def test_edited_copy_is_a_duplicate() -> None:
    # Six words changed by a sub-editor, none of them a figure or a name.
    copy = (ORIGINAL.replace("held overnight", "stood firm overnight").replace("worked through", "toiled through")
            .replace("slowly", "gradually").replace("handed out", "gave out"))
    c = comparison(copy, ORIGINAL)
    assert 0.95 < c.similarity < 1
    assert_one_story(copy, "duplicate")


def test_trimmed_copy_is_contained_in_the_longer_text() -> None:
    trimmed = "\n\n".join(STORY[:3])  # a paper ran the first three paragraphs
    c = comparison(trimmed, ORIGINAL)
    assert c.containment == 1.0 and c.similarity < DEFAULTS.duplicate_similarity
    assert_one_story(trimmed, "contained", contained_in="original")


def test_extended_copy_contains_the_original() -> None:
    extended = ORIGINAL + (
        "\n\nThe Met Office has issued a yellow warning for rain covering Shropshire and Powys from Friday "
        "evening, with up to 30mm expected on high ground.\n\nTransport officials said replacement buses "
        "would run between Shrewsbury and Welshpool every hour for as long as the line stays closed, and "
        "that passengers should check before they travel.\n\nVolunteers from three churches in the town "
        "have offered rooms to families who cannot go home yet, and the council has set up a helpline for "
        "anyone whose property was damaged.\n\nEditor's note: an earlier version of this story "
        "gave the wrong date for the last major flood in the town, which we have now corrected throughout.")
    assert comparison(extended, ORIGINAL).similarity < DEFAULTS.duplicate_similarity
    d = decide({"original": ORIGINAL, "copy": extended})
    # The longer text is kept; the original is linked to it, and it is the one contained.
    assert d["original"].duplicate_of == "copy" and d["original"].kind == "contained"
    assert d["original"].contained_in == "copy"


def test_reordered_copy_is_a_duplicate() -> None:
    reordered = "\n\n".join([STORY[0], STORY[3], STORY[1], STORY[2], STORY[5], STORY[4]])
    assert comparison(reordered, ORIGINAL).similarity == 1.0  # every paragraph found where it went
    assert_one_story(reordered, "duplicate")


def test_copy_with_a_new_headline_is_a_duplicate() -> None:
    assert_one_story("Severn defences hold as river peaks\n\n" + ORIGINAL, "duplicate")


def test_trimmed_copy_under_a_new_headline_is_contained() -> None:
    # A paper ran the first two of three paragraphs under its own 12-word headline: its
    # headline is not counted against its containment (else 0.85, below contained_share).
    original = "\n\n".join(STORY[:3])
    copy = "Flood barriers on the Severn hold as the river peaks at Shrewsbury\n\n" + "\n\n".join(STORY[:2])
    c = comparison(copy, original)
    assert c.similarity < DEFAULTS.duplicate_similarity and c.aligned / c.words_a < DEFAULTS.contained_share
    assert c.containment == 1.0
    d = decide({"original": original, "copy": copy})
    assert d["copy"].duplicate_of == "original" and d["copy"].kind == "contained"
    assert d["copy"].contained_in == "original"


def test_a_clause_added_beside_a_figure_is_still_one_story() -> None:
    # A figure added with words beside another figure, not as a range's other end.
    copy = ORIGINAL.replace("the record set in 2000", "the record set in 2000 when 10,000 homes flooded")
    assert_one_story(copy, "duplicate")


def test_a_name_edited_into_a_figure_is_still_one_story() -> None:
    # An editor's slip puts a figure where a name was: not another notice of one
    # template, whose figures and names keep their places.
    copy = ORIGINAL.replace("Frankwell district", "40 district")
    assert comparison(copy, ORIGINAL).conflicts == 0
    assert_one_story(copy, "duplicate")


# ---------------------------------------------------------------------- hard negatives

EARNINGS = ("Shr 45 cts vs 38 cts\n    Net 4,512,000 vs 3,870,000\n    Revs 61.2 mln vs 55.4 mln\n"
            "    Nine mths\n    Shr 1.32 dlrs vs 1.10 dlrs\n    Net 13.2 mln vs 11.0 mln\n    Revs 180.4 mln vs 162.9 mln\n")
OTHER_EARNINGS = ("Shr 51 cts vs 47 cts\n    Net 5,104,000 vs 4,690,000\n    Revs 63.0 mln vs 58.1 mln\n"
                  "    Nine mths\n    Shr 1.48 dlrs vs 1.31 dlrs\n    Net 14.8 mln vs 13.1 mln\n    Revs 185.2 mln vs 170.6 mln\n")
DIVIDEND = ("Mthly div 7.1 cts vs 7.1 cts prior\n    Pay April 30\n    Record April 15\n"
            "    NOTE: Franklin Puerto Rico Tax-Free Income Fund.\n")
OTHER_DIVIDEND = ("Mthly div 7.1 cts vs 7.1 cts prior\n    Pay March 31\n    Record March 16\n"
                  "    NOTE: Franklin Puerto Rico Tax-Free Income Fund.\n")
RESULT = ("Arsenal beat Chelsea 2-1 at Highbury on Saturday to move three points clear at the top of the "
          "table. Henry scored the opener after 20 minutes and Pires added a second before half-time, "
          "and although Lampard pulled one back late on the home side held on for a deserved win.")
OTHER_RESULT = ("Liverpool beat Everton 3-1 at Anfield on Saturday to move three points clear at the top of the "
                "table. Gerrard scored the opener after 25 minutes and Baros added a second before half-time, "
                "and although Cahill pulled one back late on the home side held on for a deserved win.")


def test_earnings_notices_with_other_figures_stay_apart() -> None:
    c = comparison(EARNINGS, OTHER_EARNINGS)
    assert c.conflicts > 0
    assert_apart(EARNINGS, OTHER_EARNINGS)


def test_dividend_notices_with_other_dates_stay_apart() -> None:
    assert comparison(DIVIDEND, OTHER_DIVIDEND).similarity > 0.8  # the same words but the dates
    assert_apart(DIVIDEND, OTHER_DIVIDEND)


def test_sport_results_with_other_teams_stay_apart() -> None:
    assert comparison(RESULT, OTHER_RESULT).conflicts > 0
    assert_apart(RESULT, OTHER_RESULT)


HOG_PRICES = ("Hog prices are expected steady to strong on estimated receipts of 2,000 head, private "
              "sources said. Top seen at 50.75 dlrs per cwt.\n\nReuter")
LATER_HOG_PRICES = (
    "Hog prices are expected steady to 0.50 dlr higher on estimated receipts of 2,000 head, private sources "
    "said. Top seen at 51.00 to 51.50 dlrs per cwt.\n\nSources said the market closed stronger late yesterday "
    "and was expected to carry over into today's session.\n\nReuter")


def test_a_market_report_and_a_later_one_with_another_figure_stay_apart() -> None:
    # "50.75" against "51.00 to 51.50": the alignment pairs the "50" of "51.50" and leaves
    # "75" deleted after it and "51 00 to 51" inserted before it, two aligned words apart.
    c = comparison(HOG_PRICES, LATER_HOG_PRICES)
    assert c.containment > DEFAULTS.contained_share and c.conflicts > 0
    assert_apart(HOG_PRICES, LATER_HOG_PRICES)


def test_dividend_notices_with_dates_moved_stay_apart() -> None:
    # The alignment pairs "May 15" and reads "June 1" as deleted before it and "April 10"
    # as inserted after it: one substitution.
    a = "Qtrly div eight cts vs eight cts prior\n    Pay June 1\n    Record May 15\n Reuter\n"
    b = "Qtrly div eight cts vs eight cts prior\n    Pay May 15\n    Record April 10\n Reuter\n"
    assert comparison(a, b).similarity >= DEFAULTS.duplicate_similarity
    assert_apart(a, b)


def test_dividend_notices_with_other_amounts_stay_apart() -> None:
    # "7.3" against "3.6" is "7 3" against "3 6": the "3" is aligned between the two changes.
    a = "Mthly div 7.3 cts vs 7.3 cts last month\n    Payable July 14\n    Record July 1\n Reuter\n"
    b = "Mthly div 3.6 cts vs 3.6 cts last month\n    Payable July 14\n    Record July 1\n Reuter\n"
    assert comparison(a, b).similarity >= DEFAULTS.duplicate_similarity
    assert_apart(a, b)


def test_prime_rate_notices_of_two_banks_stay_apart() -> None:
    # Their first words differ (the bank), but they are no headline: they carry names.
    a = ("Chemical Bank, the main bank subsidiary of Chemical New York Corp, said it is raising its prime "
         "lending rate to 7-3/4 pct from 7-1/2 pct, effective immediately.\n\nReuter\n")
    b = ("The First Interstate Bank of California subsidiary of First Interstate Bancorp said it is raising "
         "its prime lending rate to 7-3/4 pct from 7-1/2 pct, effective immediately.\n\nReuter\n")
    assert comparison(a, b).headline_a == comparison(a, b).headline_b == 0
    assert_apart(a, b)


def test_a_notice_quoted_inside_a_digest_is_not_contained() -> None:
    notice = ("Lockheed Corp has received an 80.0 mln dlr contract for engineering support services for high "
              "energy laser facilities, the Defense Department said.\n\nReuter\n")
    digest = "\n\n".join([
        "Traders said this week's sharp fall in world sugar prices helped to provoke the Soviet Union into "
        "covering nearby needs.", notice.replace("\n\nReuter\n", ""), STORY[0], STORY[3]])
    c = comparison(notice, digest)
    assert c.containment > DEFAULTS.contained_share and c.longer_lead() > DEFAULTS.contained_lead_words
    assert_apart(notice, digest)


def test_a_notice_opening_a_digest_is_not_contained() -> None:
    # The whole notice, then six paragraphs of another story: the digest's first item,
    # not the notice extended (an extended copy adds a paragraph or two).
    notice = ("Lockheed Corp has received an 80.0 mln dlr contract for engineering support services for high "
              "energy laser facilities, the Defense Department said.")
    digest = "\n\n".join([notice, *STORY])
    c = comparison(notice, digest)
    assert c.containment == 1.0 and c.longer_lead() == 0
    assert max(c.words_a, c.words_b) > DEFAULTS.contained_max_ratio * c.shorter_words()
    assert_apart(notice, digest)
    assert [p.other_id for p in passages({"notice": notice, "digest": digest})["notice"]] == ["digest"]


PURCHASE = ("Egyptian importers bought 200,000 to 250,000 tonnes of French soft wheat in a tender overnight "
            "for March shipment, trade sources said.\n\nReuter\n")


def test_a_range_against_one_of_its_ends_stays_apart() -> None:
    # "200,000 to" deleted beside the "250,000" both have: another quantity, another
    # purchase, though every other word agrees.
    other = PURCHASE.replace("200,000 to 250,000", "250,000")
    c = comparison(PURCHASE, other)
    assert c.similarity >= DEFAULTS.duplicate_similarity and c.conflicts == 1
    assert_apart(PURCHASE, other)


def test_a_cut_copy_giving_one_end_of_a_range_is_not_contained() -> None:
    # A report cut to its first paragraph, "1.5 to two billion" there as "1.5 billion":
    # all its words are in the full report, but it gives another amount.
    report = ("The Federal Reserve is expected to enter the government securities market to add temporary "
              "reserves by arranging 1.5 to two billion dlrs of customer repurchase agreements, economists said."
              "\n\n" + "\n\n".join(STORY[3:]))
    cut = report.split("\n\n")[0].replace("1.5 to two billion", "1.5 billion")
    c = comparison(cut, report)
    assert c.containment >= DEFAULTS.contained_share and c.conflicts == 1
    assert_apart(cut, report)
    # The same cut with the amount as the report gives it is the report's first part.
    assert_one_story(report.split("\n\n")[0], "contained", contained_in="original", original=report)


def test_a_number_word_is_a_figure() -> None:
    a = "The Fed supplied two billion dlrs of temporary reserves via customer repurchase agreements, dealers said."
    b = "The Fed supplied one billion dlrs of temporary reserves via customer repurchase agreements, dealers said."
    assert comparison(a, b).conflicts == 1
    assert_apart(a, b)


def test_follow_up_quoting_the_first_story_stays_apart_and_is_a_passage() -> None:
    follow_up = "\n\n".join([
        "Clean-up work began in Shrewsbury on Thursday as the River Severn fell back within its banks.",
        "Council officers toured the Frankwell district to assess the damage to gardens and cellars.",
        STORY[2],  # the first story's quote, reused
        "Insurers said claims were far lower than in previous years thanks to the new barriers.",
        "The rail line to Welshpool reopened at midday after engineers found no damage to the track.",
    ])
    assert_apart(ORIGINAL, follow_up)
    assert [p.other_id for p in passages({"first": ORIGINAL, "follow": follow_up})["follow"]] == ["first"]


# ---------------------------------------------------------------------- marks


def test_marks_figures_and_names_inside_sentences() -> None:
    text = ("Flooded Homes\n\nThe Agency said on Tuesday that 40 homes in the Frankwell district were empty. "
            "Engineers left. Severn Trent said two pumps ran all night.")
    tokens, spans = hashes_and_spans(text)
    marks = dict(zip((text[s:e] for s, e in spans.tolist()), word_marks(text, spans, tokens, ["two"]).tolist()))
    assert marks["Agency"] == NAME and marks["Tuesday"] == NAME and marks["Frankwell"] == NAME
    assert marks["40"] == marks["two"] == FIGURE
    # A headline's capitals, a sentence's first word: not names ("The" is written "the");
    # the headline's words are marked as such.
    assert marks["Flooded"] == marks["Homes"] == HEADLINE
    assert marks["The"] == marks["Engineers"] == 0
    # ... unless the text never writes it in lower case and a name follows it.
    assert marks["Severn"] == NAME


# ---------------------------------------------------------------------- order


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), share=st.floats(0.0, 0.3), cut=st.integers(1, 6), swap=st.booleans())
def test_a_pairs_decision_does_not_depend_on_input_order(seed: int, share: float, cut: int, swap: bool) -> None:
    rng = random.Random(seed)
    paragraphs = STORY[:cut]
    if swap and cut > 1:
        paragraphs = [paragraphs[-1], *paragraphs[:-1]]
    words = "\n\n".join(paragraphs).split(" ")
    for i in rng.sample(range(len(words)), int(len(words) * share)):
        words[i] = rng.choice(["changed", "Wrexham", "17", "rose", "the"])
    texts = {"original": ORIGINAL, "copy": " ".join(words)}
    forward, backward = comparison(texts["original"], texts["copy"]), comparison(texts["copy"], texts["original"])
    assert (forward.aligned, forward.conflicts, forward.similarity, forward.containment) == (
        backward.aligned, backward.conflicts, backward.similarity, backward.containment)
    assert decide(texts) == decide(dict(reversed(texts.items())))
    assert np.isclose(forward.similarity, 2 * forward.aligned / (forward.words_a + forward.words_b))



# ---------------------------------------------------------------------- alignment


@settings(max_examples=60, deadline=None)
@given(a=st.lists(st.integers(0, 5), max_size=40), b=st.lists(st.integers(0, 5), max_size=40))
def test_texts_sharing_no_run_align_their_longest_common_subsequence(a: list[int], b: list[int]) -> None:
    # No run of `moved_run_words` in common: the words are aligned word by word, in
    # order, and read from the first round's operations rather than aligned again.
    run = DEFAULTS.moved_run_words
    assume(not {tuple(a[i:i + run]) for i in range(len(a) - run + 1)}
           & {tuple(b[i:i + run]) for i in range(len(b) - run + 1)})
    tokens_a, tokens_b = np.array(a, dtype=np.uint32), np.array(b, dtype=np.uint32)
    c = compare(tokens_a, np.zeros(len(a), np.uint8), tokens_b, np.zeros(len(b), np.uint8), DEFAULTS)
    assert c.aligned == (len(a) + len(b) - Indel.distance(a, b)) // 2
    assert (c.lead_a, c.lead_b, c.conflicts) == (len(a), len(b), 0)
