"""ingest.clean.html and ingest.clean.markdown: HTML and Markdown to text plus metadata; and the benchmark's scorer."""

from __future__ import annotations

import importlib.util
import json
import multiprocessing
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

import ingest.clean.html as html_module
from ingest.clean.front_matter import split_front_matter
from ingest.clean.html import ExtractError, extract_html
from ingest.clean.markdown import extract_markdown
from ingest.config import HtmlConfig
from tests.samples import html_page

REPO = Path(__file__).resolve().parents[3]
CONFIG = HtmlConfig()


def _load_bench():
    spec = importlib.util.spec_from_file_location("extraction_f1", REPO / "bench" / "extraction_f1.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


bench = _load_bench()

NEWS_PAGE = """<!DOCTYPE html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<title>Harbour ferry returns after winter repairs | The Coastal Courier</title>
<meta property="og:title" content="Harbour ferry returns after winter repairs">
<meta property="og:site_name" content="The Coastal Courier">
<meta name="author" content="Mara Quillfeather">
<meta property="article:published_time" content="2023-03-09T07:15:00+00:00">
<link rel="canonical" href="https://courier.example/news/harbour-ferry-returns">
</head>
<body>
<header><nav><ul>
<li><a href="/">Home</a></li><li><a href="/news">News</a></li><li><a href="/sport">Sport</a></li>
<li><a href="/subscribe">Subscribe today</a></li>
</ul></nav></header>
<main>
<article>
<h1>Harbour ferry returns after winter repairs</h1>
<p>The little green ferry that links the two halves of Saltmere harbour went back into
service on Thursday morning, after eleven weeks in the boatyard for a new propeller shaft
and a repainted hull.</p>
<p>Skipper Odo Brackwater said the first crossing carried forty-two passengers, most of them
commuters who had spent the winter driving the long way round the estuary. "People cheered
when we cast off," he said. "I have never had applause for leaving a jetty before."</p>
<p>The town council paid for most of the repairs from its maritime fund. Councillor Ines
Marrow said the ferry saves residents about half an hour each way and keeps traffic off the
narrow coast road during the summer season.</p>
<p>Timetables are unchanged: the ferry sails every twenty minutes from seven in the morning
until half past seven in the evening, and a single crossing still costs one pound fifty.</p>
</article>
<aside class="related"><h3>More from News</h3><ul>
<li><a href="/news/1">Lighthouse open day announced</a></li>
<li><a href="/news/2">Fish market gets new roof</a></li>
</ul></aside>
<section id="comments" class="comments">
<h3>3 comments</h3>
<div class="comment"><p>Wonderful news, I missed that ferry terribly all winter long.</p></div>
<div class="comment"><p>About time too, the council dragged its feet over this one.</p></div>
</section>
</main>
<footer><p>Copyright 2023 The Coastal Courier. All rights reserved.</p>
<a href="/privacy">Privacy policy</a></footer>
</body>
</html>
"""


# ----------------------------------------------------------------------------- HTML


def test_news_page_keeps_article_drops_boilerplate():
    result = extract_html(NEWS_PAGE, CONFIG)
    paragraphs = result.text.split("\n\n")
    assert len(paragraphs) == 4
    assert paragraphs[0].startswith("The little green ferry")
    assert "propeller shaft and a repainted hull" in paragraphs[0]  # source line breaks are spaces
    assert paragraphs[3].endswith("costs one pound fifty.")
    for boilerplate in ("Subscribe today", "Lighthouse open day", "missed that ferry", "Copyright", "Privacy"):
        assert boilerplate not in result.text
    # The headline is the title, not a paragraph of the text.
    assert "Harbour ferry returns" not in result.text


def test_news_page_metadata():
    metadata = extract_html(NEWS_PAGE, CONFIG).metadata
    assert metadata["title"] == "Harbour ferry returns after winter repairs"
    assert metadata["author"] == "Mara Quillfeather"
    assert metadata["date"] == "2023-03-09"
    assert metadata["url"] == "https://courier.example/news/harbour-ferry-returns"  # canonical link
    assert metadata["canonical_url"] == "https://courier.example/news/harbour-ferry-returns"
    assert metadata["language"] == "en-GB"
    assert metadata["sitename"] == "The Coastal Courier"
    assert all(value for value in metadata.values())  # unknown keys are left out
    json.dumps(metadata)


def test_callers_url_wins_over_canonical():
    result = extract_html(NEWS_PAGE, CONFIG, url="https://courier.example/print/123")
    assert result.metadata["url"] == "https://courier.example/print/123"
    assert result.metadata["canonical_url"] == "https://courier.example/news/harbour-ferry-returns"


def test_comments_kept_when_configured():
    result = extract_html(NEWS_PAGE, HtmlConfig(include_comments=True))
    assert "missed that ferry terribly" in result.text
    assert result.text.startswith("The little green ferry")


def test_fragment_only_html():
    fragment = (
        "<p>The parish hall will close for a week in May while the roof is fixed.</p>"
        "<p>Choir practice moves to the school gym until then.</p>"
    )
    result = extract_html(fragment, CONFIG)
    assert result.text == (
        "The parish hall will close for a week in May while the roof is fixed.\n\n"
        "Choir practice moves to the school gym until then."
    )


def test_page_without_main_text_falls_back_to_body_text():
    page = "<html><head><title>Index</title></head><body><ul><li>Tide tables</li><li>Mooring fees</li></ul></body></html>"
    result = extract_html(page, CONFIG)
    assert result.text == "Tide tables\n\nMooring fees"
    assert result.metadata["title"] == "Index"


@pytest.mark.parametrize("page", ["", "   \n", "<html><body></body></html>", "<html><body><script>x=1</script></body></html>"])
def test_no_text_raises(page):
    with pytest.raises(ExtractError, match="no text found in HTML"):
        extract_html(page, CONFIG)


_SLOW_EXTRACTIONS_FINISHED: list[bool] = []


def _slow_extraction(*args, **kwargs):
    # Like trafilatura's fallbacks: a broad `except Exception` must not eat the timeout.
    try:
        time.sleep(3)
        _SLOW_EXTRACTIONS_FINISHED.append(True)
    except Exception:
        pass
    return None


def test_timeout_raises_and_restores_handler(monkeypatch):
    monkeypatch.setattr(html_module._trafilatura_module(), "bare_extraction", _slow_extraction)
    before = signal.getsignal(signal.SIGALRM)
    with pytest.raises(ExtractError, match=r"^extraction timed out after 0\.2 s$"):
        extract_html(NEWS_PAGE, HtmlConfig(timeout_seconds=0.2))
    assert _SLOW_EXTRACTIONS_FINISHED == []  # interrupted, not waited for
    assert signal.getsignal(signal.SIGALRM) is before
    assert signal.getitimer(signal.ITIMER_REAL)[0] == 0


def test_no_alarm_off_the_main_thread(monkeypatch):
    monkeypatch.setattr(html_module._trafilatura_module(), "bare_extraction", lambda *a, **k: time.sleep(0.3))
    outcome = []
    worker = threading.Thread(target=lambda: outcome.append(extract_html(NEWS_PAGE, HtmlConfig(timeout_seconds=0.05))))
    worker.start()
    worker.join(timeout=60)
    assert not worker.is_alive()
    assert outcome and "little green ferry" in outcome[0].text  # ran to the end, body fallback


def _timeout_in_worker() -> str:
    html_module._trafilatura_module().bare_extraction = _slow_extraction
    try:
        extract_html(NEWS_PAGE, HtmlConfig(timeout_seconds=0.2))
    except ExtractError as exc:
        return str(exc)
    return "no timeout"


def test_timeout_in_worker_process():
    with multiprocessing.get_context("fork").Pool(1) as pool:
        assert pool.apply(_timeout_in_worker) == "extraction timed out after 0.2 s"


# ---------------------------------------------------------------------- front matter

YAML_POST = """---
title: "Harbour ferry: back at last"
subtitle: 'It''s green again'
date: 2023-03-09 07:15:00 +00:00
updated: 2023-03-10
summary: >
  The ferry is back
  after eleven weeks.
categories:
  - news
  - transport
tags: ferry
permalink: /2023/03/ferry/
draft: false
---
Body starts here.
"""


def test_yaml_front_matter():
    front, body = split_front_matter(YAML_POST)
    assert front == {
        "title": "Harbour ferry: back at last",
        "subtitle": "It's green again",
        "date": "2023-03-09T07:15:00+00:00",
        "updated": "2023-03-10",
        "summary": "The ferry is back after eleven weeks.\n",
        "categories": ["news", "transport"],
        "tags": "ferry",
        "permalink": "/2023/03/ferry/",
        "draft": False,
    }
    assert body == "Body starts here.\n"
    json.dumps(front)


def test_toml_front_matter():
    post = '+++\ntitle = "Tide tables"\ndate = 2023-03-09T07:15:00Z\ntags = ["tides", "harbour"]\n+++\nHigh water at noon.\n'
    front, body = split_front_matter(post)
    assert front == {"title": "Tide tables", "date": "2023-03-09T07:15:00+00:00", "tags": ["tides", "harbour"]}
    assert body == "High water at noon.\n"


def test_json_front_matter():
    post = '{\n  "title": "Tide tables",\n  "date": "2023-03-09T07:15:00Z",\n  "draft": true\n}\nHigh water at noon.\n'
    front, body = split_front_matter(post)
    assert front == {"title": "Tide tables", "date": "2023-03-09T07:15:00Z", "draft": True}
    assert body == "High water at noon.\n"


def test_invalid_json_front_matter_names_the_line():
    with pytest.raises(ExtractError, match=r"^invalid JSON front matter: Expecting ',' delimiter at line 3 column 3$"):
        split_front_matter('{\n  "title": "Tide tables"\n  "date": "2023-03-09"\n}\nBody.\n')


def test_pelican_header_lines():
    post = "Title: Tide tables\nDate: 2010-12-02 10:14\nTags: tides; harbour\nSummary:\n    High water\n    at noon.\n\nBody.\n"
    front, body = split_front_matter(post)
    assert front == {"title": "Tide tables", "date": "2010-12-02 10:14", "tags": ["tides", "harbour"],
                     "summary": "High water at noon."}
    assert body == "\nBody.\n"


@pytest.mark.parametrize(
    "text",
    [
        "Note: the ferry is late.\nIt sails at noon.\n",  # a "Key:" line, then prose
        "Date: 2010-12-02\n\nNo title among the header lines.\n",
        "{% include header.html %}\nBody.\n",  # Liquid, not JSON
    ],
)
def test_no_pelican_or_json_header(text):
    assert split_front_matter(text) == ({}, text)


def test_invalid_yaml_names_the_problem():
    with pytest.raises(ExtractError, match=r"^invalid YAML front matter: while parsing a flow sequence at line 3, expected .+ at line 4$"):
        split_front_matter("---\ntitle: ok\ntags: [ferry, harbour\n---\nBody.\n")


def test_invalid_toml_raises():
    with pytest.raises(ExtractError, match="^invalid TOML front matter: "):
        split_front_matter('+++\ntitle = "unclosed\n+++\nBody.\n')


def test_self_referencing_yaml_is_refused():
    with pytest.raises(ExtractError, match="self-referencing"):
        split_front_matter("---\nloop: &a [*a]\n---\nBody.\n")


@pytest.mark.parametrize(
    "text",
    [
        "Just a body.\n",
        "---\nA thematic break and prose, not a mapping.\n---\nMore prose.\n",
        "---\nno closing fence: here\n",
        "Text first\n---\ntitle: late\n---\n",
    ],
)
def test_no_front_matter(text):
    assert split_front_matter(text) == ({}, text)


def test_empty_front_matter():
    assert split_front_matter("---\n---\nBody.\n") == ({}, "Body.\n")


# -------------------------------------------------------------------------- Markdown


def test_markdown_metadata_from_front_matter():
    result = extract_markdown(YAML_POST, CONFIG)
    assert result.text == "Body starts here."
    metadata = result.metadata
    # The keys as the front matter has them; the convention sets name the standard ones.
    assert metadata["date"] == "2023-03-09T07:15:00+00:00"
    assert metadata["permalink"] == "/2023/03/ferry/"
    assert metadata["tags"] == "ferry"
    assert metadata["subtitle"] == "It's green again"
    assert metadata["draft"] is False


def test_markdown_body_keeps_words_drops_syntax():
    body = (
        "# The *ferry* returns #\n"
        "\n"
        "The **green** ferry is back, says [the council](https://council.example/a_(b) \"site\").\n"
        "It sails every _twenty_ minutes; 2 * 3 * 4 is not emphasis, nor is snake_case.\n"
        "\n"
        "![A ferry at the jetty](ferry.jpg)\n"
        "\n"
        "- fares: `£1.50` via `pay_*now*`\n"
        "* ~~winter~~ timetable\n"
        "1. first crossing at seven\n"
        "\n"
        "> Quoted **skipper**\n"
        "\n"
        "---\n"
        "\n"
        "Escaped \\*stars\\* and &amp; entity, see <https://ferry.example>.\n"
        "\n"
        "```\n"
        "code *kept* as is\n"
        "```\n"
        "[ref]: https://example.org/\n"
    )
    assert extract_markdown(body, CONFIG).text.split("\n\n") == [
        "The ferry returns",
        "The green ferry is back, says the council. It sails every twenty minutes; "
        "2 * 3 * 4 is not emphasis, nor is snake_case.",
        "A ferry at the jetty",
        "fares: £1.50 via pay_*now*",  # code is literal
        "winter timetable",
        "1. first crossing at seven",
        "Quoted skipper",
        "Escaped *stars* and & entity, see https://ferry.example.",
        "code *kept* as is",
    ]


def test_markdown_structure_headings_and_code_lines():
    body = ("Intro.\n\n## References {#refs}\n\n- A [book][b]\n\nSetext\n======\n\n```go\npackage main\n\n}\n```\n\n"
            "<!-- a note to the editors --> Shown.\n\n[b]: https://example.org\n")
    extracted = extract_markdown(body, CONFIG)
    assert extracted.text.split("\n\n") == ["Intro.", "References", "A book", "Setext", "package main\n}", "Shown."]
    assert (extracted.headings, extracted.code) == (["References", "Setext"], ["package main", "}"])


def test_html_structure_headings_and_code_lines():
    page = html_page("A title", "Words of the story that the page tells at length, more than a sliver.")
    page = page.replace("<p>", "<h2>Section <em>one</em></h2><pre>x = 1\n\ny = 2</pre><p>", 1)
    extracted = extract_html(page, CONFIG)
    assert "Section one" in extracted.headings and extracted.code == ["x = 1", "y = 2"]


def test_markdown_body_as_readers_see_it():
    body = (
        "## Key fixes {#fixes}\n"
        "\n"
        "1. Only warn about\n"
        "1. Exclude very specific `{% raw %}` tags\n"
        "1. Allow [our\n"
        "forum][3] to help\n"
        "\n"
        "See [the changelog]({% link _docs/history.md %}) and {{< ref \"notes.md\" >}} for more.\n"
        "Footnoted claim[^a].\n"
        "\n"
        "[^a]: The footnote's own words.\n"
        "[3]: https://talk.example/\n"
        "\n"
        "3. A new list starts at its own number\n"
    )
    assert extract_markdown(body, CONFIG).text.split("\n\n") == [
        "Key fixes",  # kramdown/Hugo heading attributes are not words
        "1. Only warn about",
        "2. Exclude very specific {% raw %} tags",  # numbered on, as rendered; a tag shown as code stays
        "3. Allow our forum to help",  # a link over a line break
        "See the changelog and for more. Footnoted claim.",  # template tags and footnote marks are not words
        "3. A new list starts at its own number",
        "The footnote's own words.",  # at the end, as the page shows it
    ]


def test_wordpress_classic_body():
    body = (
        "The harbour ferry is back after <strong>eleven weeks</strong> of repairs.\n"
        "\n"
        "Skipper Odo Brackwater counted forty-two passengers on the first crossing.\n"
        "\n"
        '<figure><img src="ferry.jpg" alt=""><figcaption>The ferry leaving the north jetty.</figcaption></figure>\n'
        "\n"
        "<ul>\n<li>Fares are unchanged at one pound fifty.</li>\n<li>Sailings every twenty minutes.</li>\n</ul>\n"
    )
    result = extract_markdown("---\ntitle: Ferry back\n---\n" + body, CONFIG)
    assert result.text.split("\n\n") == [
        "The harbour ferry is back after eleven weeks of repairs.",
        "Skipper Odo Brackwater counted forty-two passengers on the first crossing.",
        "The ferry leaving the north jetty.",
        "Fares are unchanged at one pound fifty.",
        "Sailings every twenty minutes.",
    ]
    assert result.metadata == {"title": "Ferry back"}


def test_wordpress_block_body():
    body = (
        "<!-- wp:paragraph -->\n<p>The council approved the ferry budget on Tuesday.</p>\n<!-- /wp:paragraph -->\n\n"
        "<!-- wp:heading -->\n<h2>What it costs</h2>\n<!-- /wp:heading -->\n\n"
        "<!-- wp:paragraph -->\n<p>Repairs came to forty thousand pounds.</p>\n<!-- /wp:paragraph -->\n"
    )
    assert extract_markdown(body, CONFIG).text.split("\n\n") == [
        "The council approved the ferry budget on Tuesday.",
        "What it costs",
        "Repairs came to forty thousand pounds.",
    ]


def test_short_fragment_is_not_discarded():
    assert extract_markdown("<p>Closed today.</p>", CONFIG).text == "Closed today."


def test_markdown_without_text_raises():
    with pytest.raises(ExtractError, match="no text found in Markdown"):
        extract_markdown("---\ntitle: Only a title\n---\n\n", CONFIG)


# --------------------------------------------------------------------------- scorer


def test_shingles():
    assert bench.shingles("a b c d e") == {("a", "b", "c", "d"): 1, ("b", "c", "d", "e"): 1}
    assert bench.shingles("one, two!") == {("one", "two"): 1}  # shorter text: one shingle
    assert bench.shingles("") == {}


def test_score_perfect_and_disjoint():
    perfect = bench.score_page("The ferry sails at seven.", "The  ferry\nsails at seven")
    assert (perfect.precision, perfect.recall, perfect.exact) == (1.0, 1.0, True)
    disjoint = bench.score_page("The ferry sails at seven.", "Tide tables for March are out")
    assert (disjoint.precision, disjoint.recall, disjoint.exact) == (0.0, 0.0, False)


def test_score_partial_by_hand():
    # truth shingles: abcd bcde cdef; prediction: abcd bcde cdex dexy -> TP 2, FP 2, FN 1
    assert bench.match_counts("a b c d e f", "a b c d e x y") == (2, 2, 1)
    page = bench.score_page("a b c d e f", "a b c d e x y")
    assert page.precision == pytest.approx(0.5)
    assert page.recall == pytest.approx(2 / 3)
    # Two pages: the one above and a perfect one; an empty prediction adds to recall only.
    summary = bench.summarize([page, bench.score_page("x y", "x y"), bench.score_page("p q r", "")])
    assert summary["precision"] == pytest.approx((0.5 + 1.0) / 2)
    assert summary["recall"] == pytest.approx((2 / 3 + 1.0 + 0.0) / 3)
    p, r = 0.75, 5 / 9
    assert summary["f1"] == pytest.approx(2 * p * r / (p + r))
    assert summary["accuracy"] == pytest.approx(1 / 3)
    assert summary["f1_std"] > 0


def test_reference_output_scores_as_published(corpora):
    benchmark = corpora / bench.BENCHMARK
    if not (benchmark / "ground-truth.json").is_file():
        pytest.skip(f"{benchmark} not found (set INGEST_CORPORA to the shared corpora folder)")
    truth, _ = bench.load_ground_truth(benchmark)
    _, reference = bench.load_reference(benchmark)
    summary, _ = bench.score_outputs(truth, reference)
    # Upstream's published figures for trafilatura 2.0.0.
    assert summary["f1"] == pytest.approx(0.958, abs=0.0015)
    assert summary["precision"] == pytest.approx(0.938, abs=0.0015)
    assert summary["recall"] == pytest.approx(0.978, abs=0.0015)


def test_markdown_with_html_blocks_is_rendered_first():
    body = (
        "## Ferry back {#back}\n\n"
        "The **green** ferry is back, says [the council](https://council.example/).[^n]\n\n"
        '<figure><img src="ferry.jpg" alt=""><figcaption>The ferry at the north jetty.</figcaption></figure>\n\n'
        "- fares unchanged\n- sailings every twenty minutes\n\n"
        "[^n]: The council's own words.\n"
    )
    text = extract_markdown("---\ntitle: Ferry\n---\n" + body, CONFIG).text
    assert "**" not in text and "](" not in text and "[^n]" not in text and "{#back}" not in text
    for words in ("Ferry back", "The green ferry is back, says the council.", "The ferry at the north jetty.",
                  "sailings every twenty minutes", "The council's own words."):
        assert words in text


def test_shortcut_reference_links_lose_their_brackets_when_defined():
    body = "はじめて [Go 言語]に接する人なら [the  guide] first, [not a link] either.\n\n[go 言語]: https://go.dev/\n[The Guide]: https://go.dev/tour\n"
    assert extract_markdown(body, CONFIG).text == "はじめて Go 言語に接する人なら the guide first, [not a link] either."
