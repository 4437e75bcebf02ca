from __future__ import annotations

import pytest

from ingest.clean.layout import is_hard_wrapped, line_key, normalise_layout
from ingest.clean.rules import Cleaner
from ingest.config import CleanConfig, Rule, load_config
from tests.ingest.clean.cost import MAX_RATIO, Scalable, growth


@pytest.fixture(scope="module")
def cleaner() -> Cleaner:
    return Cleaner(load_config().clean)


def rules_fired(result) -> list[str]:
    return [r.rule for r in result.removals]


def assert_accounted(original: str, result) -> None:
    """Kept text plus removed spans give back the whole input, whitespace aside."""
    original = normalise_layout(original)
    assert result.source_text == original
    pieces = []
    pos = 0
    for r in sorted(result.removals, key=lambda r: r.start):
        assert original[r.start : r.end] == r.text
        pieces.append(original[pos : r.start])
        pos = r.end
    pieces.append(original[pos:])
    kept = "".join(pieces)
    assert "".join(kept.split()) == "".join(result.text.split())


@pytest.mark.parametrize(
    "text, rule",
    [
        ("[ad_1]\nThe minister spoke on Sunday.", "ad-slot"),
        ("The minister spoke on Sunday.\n\n\u00a9 Reuters", "copyright-line"),
        ("The minister spoke on Sunday.\n\nCopyright 2024 The Associated Press. All rights reserved.", "copyright-line"),
        ("The minister spoke.[ad_12]\nThen he left.", "ad-slot"),
        ("The minister spoke on Sunday.\n\nSource link", "source-link"),
        ("The minister spoke on Sunday.\nSource", "source-link"),
        ("The minister spoke on Sunday.\n\nShort link:", "short-link"),
        ("The minister spoke on Sunday.\nShort link: https://example.org/x1", "short-link"),
        ("The minister spoke.\nREAD: Another story about ministers\nHe left.", "read-more"),
        ("The minister spoke.\nRead more: Another story\nHe left.", "read-more"),
        ("The minister spoke.\nREAD ALSO: Another story\nHe left.", "read-more"),
        ("The minister spoke. (credit: JANE DOE/AGENCY)\nHe left.", "photo-credit"),
        ("The minister spoke. (Photo: Agency)\nHe left.", "photo-credit"),
        (" date 2024-04-14 The minister spoke on Sunday.", "date-header"),
        ("CNN\n—\nThe minister spoke on Sunday.", "wire-dateline"),
        ("WASHINGTON (Reuters) - The minister spoke on Sunday.", "wire-dateline"),
        ("Minister resigns\n\nAFP , Sunday 14 Apr 2024\n\nThe minister spoke on Sunday.", "agency-dateline"),
        ("The minister spoke.\nJane Doe and John Roe contributed to this report.", "contributed-note"),
        ("The minister spoke.\nThis article has been updated with additional reporting.", "updated-note"),
        ("The minister spoke on Sunday.\n Reuter\n", "wire-signoff"),
        ("The minister spoke on Sunday. REUTER", "wire-signoff"),
        ("The minister spoke on Sunday.\n\nReuters", "wire-signoff"),
        ("The minister spoke on Sunday. AFP", "wire-signoff"),
        ("The minister spoke on Sunday.\nAP", "wire-signoff"),
        ("The minister's pay 20 cts vs 18 cts Record March 15 Reuter", "wire-signoff"),
        ("The minister's bank's loans 44.3 mln vs 51.7 mln Reuter", "wire-signoff"),
    ],
)
def test_default_rules_remove_news_artefacts(cleaner: Cleaner, text: str, rule: str) -> None:
    result = cleaner.clean(text)
    assert rule in rules_fired(result)
    assert "minister" in result.text
    assert_accounted(text, result)


def test_move_rules_fill_fields(cleaner: Cleaner) -> None:
    text = "Minister resigns over row\n\nAFP , Sunday 14 Apr 2024\n\nThe minister spoke.\n\nShort link: https://ex.org/a"
    result = cleaner.clean(text)
    assert result.fields == {"title": "Minister resigns over row", "created": "Sunday 14 Apr 2024",
                             "url": "https://ex.org/a"}
    assert result.text == "The minister spoke."


def test_agency_credit_lines_move_to_credit(cleaner: Cleaner) -> None:
    text = ("The probe launches in 2026, the agency said.\n\n(Additional reporting by Jane Roe in Paris)\n\n"
            "(Reporting by Will Dunham; Editing by Tom Brown)")
    result = cleaner.clean(text)
    assert result.text == "The probe launches in 2026, the agency said."
    assert rules_fired(result) == ["agency-credit", "agency-credit"]
    assert result.fields == {"credit": "Additional reporting by Jane Roe in Paris; "
                                       "Reporting by Will Dunham; Editing by Tom Brown"}
    assert_accounted(text, result)


def test_credit_at_the_start_of_the_text_stays(cleaner: Cleaner) -> None:
    text = "(Reporting by Will Dunham)\n\nThe probe launches in 2026, the agency said."
    assert cleaner.clean(text).text == normalise_layout(text)


def test_date_header_moves_to_created(cleaner: Cleaner) -> None:
    result = cleaner.clean(" date 2024-04-14 The United States said on Sunday.")
    assert result.fields["created"] == "2024-04-14"
    assert result.text == "The United States said on Sunday."


def test_headline_not_taken_when_title_known(cleaner: Cleaner) -> None:
    text = "A short lead line\n\nThe body follows here, long enough to be the text under a headline."
    assert "headline" in rules_fired(cleaner.clean(text))
    known = cleaner.clean(text, known={"title"})
    assert "headline" not in rules_fired(known)
    assert known.text.startswith("A short lead line")


def test_sentence_first_line_is_not_a_headline(cleaner: Cleaner) -> None:
    text = "The minister resigned on Sunday.\n\nHe gave no reason."
    result = cleaner.clean(text)
    assert result.removals == []
    assert result.fields == {}


def test_trailer_rules_only_at_the_end(cleaner: Cleaner) -> None:
    text = "The minister spoke on Sunday.\nSource\nHe said more.\nSource link\nHe left."
    result = cleaner.clean(text)
    assert result.removals == []


def test_ordinary_hyphenated_start_is_not_a_dateline(cleaner: Cleaner) -> None:
    result = cleaner.clean("US-China talks resumed on Monday in Geneva.")
    assert result.removals == []


def test_a_learned_heading_goes_only_with_its_section(cleaner: Cleaner) -> None:
    text = ("What happened at the harbour.\n\nReferences\n\nThe harbour log.\n\nBooks\n\nChapters\n\n"
            "Harbours of the north.\n\nShare this:\n\nTwitter\n\nFacebook\n\nSee also")
    learned = {line_key(line) for line in ("References", "Books", "Chapters", "Share this:", "Twitter", "Facebook",
                                           "See also")}
    headings = {line_key(line) for line in ("References", "Books", "Chapters", "Share this:", "See also")}
    result = cleaner.clean(text, boilerplate=learned, headings=headings)
    # Over text that stays, over a sub-heading, over nothing: structure. Over chrome: chrome.
    assert result.text == ("What happened at the harbour.\n\nReferences\n\nThe harbour log.\n\nBooks\n\n"
                           "Chapters\n\nHarbours of the north.\n\nSee also")
    assert [(r.rule, r.text) for r in result.removals] == [
        ("boilerplate", "Share this:"), ("boilerplate", "Twitter"), ("boilerplate", "Facebook")]
    # Without heading marks every learned line goes, as before.
    assert cleaner.clean(text, boilerplate=learned).text == "What happened at the harbour.\n\nThe harbour log.\n\n" \
        "Harbours of the north."


def test_learned_boilerplate_removed_under_its_rule(cleaner: Cleaner) -> None:
    text = "The minister spoke.\nSubscribe to our newsletter!\nHe left."
    result = cleaner.clean(text, boilerplate={line_key("subscribe to our   NEWSLETTER!")})
    assert rules_fired(result) == ["boilerplate"]
    assert result.text == "The minister spoke.\n\nHe left."


def test_inline_removal_between_words_leaves_a_space(cleaner: Cleaner) -> None:
    result = cleaner.clean("The end.[ad_3]Next sentence.")
    assert result.text == "The end. Next sentence."


def test_custom_rule_from_config() -> None:
    rule = Rule(name="newsletter", kind="line", pattern=r"Sign up for .{1,80}")
    result = Cleaner(CleanConfig(rules=[rule])).clean("Body text.\nSign up for our daily brief\nMore body.")
    assert rules_fired(result) == ["newsletter"]


def test_line_rule_with_a_cut_group_cuts_only_the_line_from_there_on() -> None:
    rule = Rule(name="end-mark", kind="line", pattern=r"(?:[^\n]*\.[ \t]+)?(?P<cut>\(END\))")
    cleaner = Cleaner(CleanConfig(rules=[rule]))
    glued = cleaner.clean("Body text. (END)\nMore body. (END)")
    assert [(r.rule, r.text) for r in glued.removals] == [("end-mark", "(END)"), ("end-mark", "(END)")]
    assert glued.text == "Body text.\n\nMore body."
    assert_accounted("Body text. (END)\nMore body. (END)", glued)
    assert cleaner.clean("Body text.\n(END)").text == "Body text."
    assert cleaner.clean("Body text (END)").removals == []


def test_what_a_cut_group_leaves_is_cleaned_in_another_pass(cleaner: Cleaner) -> None:
    """Idempotent: the line left before a glued sign-off can be a staff note."""
    result = cleaner.clean("The minister spoke.\nJane Doe contributed to this report. Reuter")
    assert rules_fired(result) == ["contributed-note", "wire-signoff"]
    assert result.text == "The minister spoke."


def test_disabled_rule_does_not_fire() -> None:
    rule = Rule(name="ads", kind="inline", pattern=r"\[ad_\d+\]", enabled=False)
    result = Cleaner(CleanConfig(rules=[rule])).clean("Body [ad_1] text.")
    assert result.removals == []


def test_layout_one_paragraph_per_line_for_unwrapped_text() -> None:
    assert normalise_layout("  First   line.\nSecond line.\n\n\n\nThird.  ") == "First line.\n\nSecond line.\n\nThird."


def test_layout_joins_hard_wrapped_lines() -> None:
    wrapped = (
        "    Showers continued throughout the week in the\n"
        "zone, alleviating the drought since early January and\n"
        "improving prospects for the coming crop, although\n"
        "normal humidity levels have not been restored.\n"
        "    Arrivals are put at 1,000 bags so far, against\n"
        "about 900 bags at the same time last year, a firm said.\n"
    )
    assert is_hard_wrapped(wrapped.split("\n"))
    out = normalise_layout(wrapped)
    assert out.count("\n\n") == 1
    assert out.startswith("Showers continued throughout the week in the zone, alleviating")


def _prepared(raw: str) -> str:
    """What the cleaner sees in the pipeline: repaired text (the trailing \\x03 goes),
    layout normalised."""
    from ingest.clean.repair import repair_text

    text, _ = repair_text(raw, load_config().decode)
    return normalise_layout(text)


@pytest.mark.parametrize(
    "raw, rewrapped",
    [
        (
            "Bank of New England said it named Peter\nL. Scott, chairman and chief executive officer of Emhart Corp"
            "\n<EMH>, to its board.\n Reuter\n\x03",
            "Bank of New England said it named Peter L. Scott, chairman and chief executive officer of Emhart Corp"
            " <EMH>, to its board. Reuter",
        ),
        (
            "Divi Hotels NV of Aruba said its\nwarrants have started trading today on the <American Stock"
            "\nExchange>.\n Reuter\n\x03",
            "Divi Hotels NV of Aruba said its warrants have started trading today on the <American Stock"
            " Exchange>. Reuter",
        ),
        (
            "Geo. A. Hormel and Co said its\ndirectors voted a two-for-one split, payable June one, record"
            "\nApril 18.\n Reuter\n\x03",
            "Geo. A. Hormel and Co said its directors voted a two-for-one split, payable June one, record"
            " April 18. Reuter",
        ),
    ],
)
def test_short_hard_wrapped_item_is_one_paragraph_without_a_headline(cleaner: Cleaner, raw: str,
                                                                     rewrapped: str) -> None:
    """Three wrapped lines cannot show a wrap width; their breaks fall mid-sentence."""
    text = _prepared(raw)
    assert text == rewrapped.removesuffix(" Reuter") + "\n\nReuter"
    result = cleaner.clean(text)
    assert "title" not in result.fields
    assert result.text == cleaner.clean(rewrapped).text == rewrapped.removesuffix(" Reuter")
    assert cleaner.clean(result.text).text == result.text


def test_short_hard_wrapped_item_with_a_glued_sign_off_is_one_paragraph(cleaner: Cleaner) -> None:
    """No line ends like a sentence when the sign-off is glued to the last one."""
    raw = ("Japanese crushers bought 4,000 to 5,000\ntonnes of Canadian rapeseed in export business overnight for"
           "\nMay shipment, trade sources said. Reuter\n\x03\n")
    result = cleaner.clean(_prepared(raw))
    assert "title" not in result.fields
    assert result.text == ("Japanese crushers bought 4,000 to 5,000 tonnes of Canadian rapeseed in export business"
                           " overnight for May shipment, trade sources said.")


@pytest.mark.parametrize(
    "text, title, body_start",
    [
        # A headline over a dateline, a byline or a sentence starting like a body.
        ("Kirby says US won't widen conflict\nWASHINGTON (AP) \u2014 The United States will not widen the\n"
         "conflict with Iran, John Kirby said on Sunday in an interview.\n",
         "Kirby says US won't widen conflict", "The United States will not widen the conflict with Iran,"),
        ("Kirby says US won't widen conflict\nBy Jane Doe\nThe United States will not widen the conflict\n"
         "with Iran, John Kirby said on Sunday in an interview with NBC News.\n",
         "Kirby says US won't widen conflict", "The United States will not widen the conflict with Iran,"),
        ("Biden warns Israel that US will not assist with Iran conflict\nAccording to US officials, the\n"
         "president told the Israeli prime minister that the US would not\ntake part in any counterattack.\n",
         "Biden warns Israel that US will not assist with Iran conflict", "According to US officials, the president"),
        ("Kirby says US won't widen conflict\nThe United States will not widen the conflict, a spokesman\n"
         "said on Sunday in a television interview with NBC News.\n",
         "Kirby says US won't widen conflict", "The United States will not widen the conflict, a spokesman said"),
        # One paragraph a line, long lines: as before.
        ("Kirby says US won't widen conflict\nWASHINGTON (AP) \u2014 The United States will not widen the "
         "conflict with Iran, John Kirby, the White House national security spokesman, said on Sunday.\n",
         "Kirby says US won't widen conflict", "The United States will not widen the conflict with Iran,"),
    ],
)
def test_headline_directly_over_a_short_body_stays_a_headline(cleaner: Cleaner, text: str, title: str,
                                                              body_start: str) -> None:
    result = cleaner.clean(text)
    assert result.fields["title"] == title
    assert result.text.startswith(body_start)


@pytest.mark.parametrize(
    "text",
    [
        "Jane Doe\n12 High Street,\nLondon\nSW1A 1AA",  # an address
        "Ingredients:\n2 eggs\n1 cup flour\n",  # a list
        "The wind was high\nAnd the night was cold.",  # verse: every line starts with a capital
        "The minister spoke on Sunday.\nHe left on Monday.\nNothing else happened.",  # a paragraph a line
        "apples\npears\nplums",  # no sentence at all
    ],
)
def test_short_lines_that_are_not_wrapped_keep_their_breaks(text: str) -> None:
    assert normalise_layout(text) == "\n\n".join(line.strip() for line in text.split("\n") if line.strip())


def test_seed_titles_unchanged(cleaner: Cleaner) -> None:
    """The sample articles' headlines are still found (one paragraph a line, long lines)."""
    from pathlib import Path

    seeds = sorted((Path(__file__).resolve().parents[3] / "seeds").glob("*.txt"))
    titles = {path.name[:3]: cleaner.clean(_prepared(path.read_text(encoding="utf-8"))).fields.get("title")
              for path in seeds}
    assert titles["001"] == "US says doesn't want escalation as Israel war cabinet mulls response to Iran attack"
    assert titles["003"] == "Biden warns Israel that US will not assist with Iran conflict"
    assert titles["000"] is None and titles["002"] is None and titles["004"] is None


def test_first_line_of_a_short_notice_is_not_a_headline(cleaner: Cleaner) -> None:
    result = cleaner.clean("Qtly div 65-1/2 cts vs 65-1/2 cts prior\n    Pay April 15\n    Record April 1\n")
    assert result.removals == []
    assert result.text.startswith("Qtly div 65-1/2 cts")


def test_byline_moves_to_author(cleaner: Cleaner) -> None:
    result = cleaner.clean("By Jane Doe and John Roe, Reuters\nThe minister spoke on Sunday about the ferry plan.")
    assert result.fields["author"] == "Jane Doe and John Roe"
    assert result.text == "The minister spoke on Sunday about the ferry plan."
    sentence = cleaner.clean("By the river the minister spoke.\nHe left.")
    assert "byline" not in rules_fired(sentence)


def test_wire_signoff_goes_on_its_own_line_and_glued_to_the_last_sentence(cleaner: Cleaner) -> None:
    """A notice and its copy re-wrapped into one paragraph end up with the same words."""
    original = "Qtly div 20 cts vs 18 cts\n    Pay April 1\n    Record March 15\n Reuter\n"
    rewrapped = "Qtly div 20 cts vs 18 cts Pay April 1 Record March 15 Reuter"
    for boilerplate in ((), {"reuter"}):  # the own-line sign-off may also be learned boilerplate
        a = cleaner.clean(original, boilerplate=boilerplate)
        b = cleaner.clean(rewrapped, boilerplate=boilerplate)
        assert a.text.split() == b.text.split() == "Qtly div 20 cts vs 18 cts Pay April 1 Record March 15".split()
        assert [(r.rule, r.text) for r in b.removals] == [("wire-signoff", "Reuter")]
        # Learned boilerplate keeps the own-line sign-off: the sign-off rule comes last.
        assert [r.rule for r in a.removals] == ["boilerplate" if boilerplate else "wire-signoff"]
        assert_accounted(original, a)
        assert_accounted(rewrapped, b)
    prose = "The company last changed its crude oil postings on September 28.\n Reuter\n"
    glued = "The company last changed its crude oil postings on September 28. Reuter"
    assert cleaner.clean(prose).text == cleaner.clean(glued).text == glued[: -len(" Reuter")]


def test_wire_signoff_only_at_the_very_end_and_then_other_trailers_too(cleaner: Cleaner) -> None:
    text = "The minister spoke on Sunday. Reuter\n\nSource link"
    result = cleaner.clean(text)
    assert rules_fired(result) == ["wire-signoff", "source-link"]
    assert result.text == "The minister spoke on Sunday."
    middle = "The minister spoke on Sunday. Reuter\n\nHe left on Monday."
    assert cleaner.clean(middle).removals == []


@pytest.mark.parametrize(
    "text",
    [
        "The minister spoke on Sunday. Reuter\nREUTER\n\nAFP",  # a stack of sign-offs goes at once
        "The minister spoke on Sunday.\nREUTER\nRead more: the ferry plan",  # under a removed last line
        "The minister spoke on Sunday. AP\nSubscribe now",  # under learned boilerplate
        "The minister spoke on Sunday. Reuter\nShort link: https://ex.org/a",  # above a trailer
    ],
)
def test_wire_signoff_cleaning_is_idempotent(cleaner: Cleaner, text: str) -> None:
    first = cleaner.clean(text, boilerplate={"subscribe now"})
    assert first.text == "The minister spoke on Sunday."
    assert cleaner.clean(first.text, known=set(first.fields), boilerplate={"subscribe now"}).removals == []


@pytest.mark.parametrize(
    "text",
    [
        "He cited the report by Reuters.",  # the name in a sentence, with its full stop
        "The minister spoke on Sunday, he told Reuters",  # a sentence cut short
        "The minister declined to comment to Reuters",
        "The minister spoke on Sunday, according to Reuters",
        "The minister gave an interview to Reuter",
        "The minister spoke to the AP",
        "The rally on Sunday was covered by AFP",
        "The minister met Daimler chief executive Edzard Reuter",  # a surname
        "The minister works for Thomson Reuters",
        "The minister spoke on Sunday. Reuters said",  # not the last word
        "The minister spoke on Sunday, Reuters",  # a comma is no sentence end
        "The minister spoke on Sunday, 2 pct up, Reuters",
        "Net profit rose 5 pct in 1986 Reuters",  # only the old singular follows figures
        "The minister spoke on Sunday. ReutersX",
        "The minister spoke on Sunday. Reuters'",
        "The minister spoke on Sunday. reuters",
        "The minister spoke on Sunday. Ap",
        "The minister spoke on Sunday. Reuter Reuter",
        "The minister and his Reuter",
    ],
)
def test_wire_signoff_keeps_agency_names_in_sentences(cleaner: Cleaner, text: str) -> None:
    result = cleaner.clean(text)
    assert "wire-signoff" not in rules_fired(result)
    assert result.text == text


@pytest.mark.parametrize(
    "text",
    [
        lambda s: "a " * 20000 * s + "Reuter",
        lambda s: "a " * 20000 * s + "Reuterx",
        lambda s: "a." * 20000 * s + " Reuters!",
        lambda s: ". " * 20000 * s + "told Reuters",
        lambda s: "1 " * 20000 * s + "Reuters",
        lambda s: "x" * 40000 * s + " Reuter",
        lambda s: "x" * 40000 * s + ". AFP" + "x",
        lambda s: " \t" * 20000 * s + "Reuter",
        lambda s: "told " * 10000 * s + "Reuter",
        lambda s: "<" * 20000 * s + ">" * 20000 * s + " Reuterz",
        lambda s: ("word " * 29 + "Reuter\n") * 300 * s,
    ],
)
def test_wire_signoff_survives_adversarial_input(text: Scalable) -> None:
    """The pattern's optional prefix runs over the whole last line: linear, not backtracking."""
    config = load_config().clean
    only = Cleaner(CleanConfig(rules=[r for r in config.rules if r.name == "wire-signoff"]))
    assert growth(only.clean, text) < MAX_RATIO


def test_agency_credit_on_a_real_wire_story(cleaner: Cleaner, corpora) -> None:
    """The credit line of a Reuters story in the article-extraction benchmark's ground truth."""
    import json

    truth = json.loads((corpora / "article-extraction-benchmark" / "ground-truth.json").read_text(encoding="utf-8"))
    story = next(page["articleBody"] for page in truth.values() if "(Reporting by Will Dunham;" in page["articleBody"])
    assert story.rstrip().endswith("\u00a9 Reuters")  # under the credit line
    result = cleaner.clean(story.replace("\n", "\n\n"))
    assert result.fields["credit"] == "Reporting by Will Dunham; Editing by Tom Brown"
    assert [r.rule for r in result.removals][-2:] == ["agency-credit", "copyright-line"]
    assert result.text.endswith('"It will be really exciting."')
