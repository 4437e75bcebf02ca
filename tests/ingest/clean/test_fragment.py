"""Tests for ingest/clean/fragment.py: post content given as HTML, without a page."""

from __future__ import annotations

import pytest

from ingest.clean.fragment import extract_fragment
from ingest.clean.html import ExtractError
from ingest.config import HtmlConfig
from tests.samples import ARTICLE, PARAGRAPHS

CONFIG = HtmlConfig()


def test_wordpress_classic_paragraphs_are_paragraphs() -> None:
    stored = "\n\n".join(PARAGRAPHS[:2]) + "\n\n<!-- more -->\n\n" + "\n\n".join(PARAGRAPHS[2:])
    assert extract_fragment(stored, CONFIG).text == ARTICLE


def test_block_editor_markup_keeps_headings_lists_and_captions() -> None:
    html = ('<!-- wp:paragraph --><p>First words of the post.</p><!-- /wp:paragraph -->'
            '<!-- wp:heading --><h2>A heading</h2><!-- /wp:heading -->'
            '<ul><li>one item</li><li>two items</li></ul>'
            '<figure><img src="a.jpg"><figcaption>A caption under the photo.</figcaption></figure>')
    text = extract_fragment(html, CONFIG).text
    for part in ("First words of the post.", "A heading", "one item", "A caption under the photo."):
        assert part in text


def test_headings_link_only_paragraphs_and_repeated_lines_are_kept() -> None:
    # What main-text extraction drops from post content (a real WordPress.org News entry
    # lost its h2s and its hashtag line; a dialogue its repeated answers).
    html = ("<p>Costello: Who is on first?</p><p>Abbott: Yes.</p><h2>What can you learn?</h2>"
            "<p>Costello: I mean the fellow's name.</p><p>Abbott: Yes.</p>"
            '<p><a href="/t/a">#LearnWordPress</a> <a href="/t/b">#LearnWP</a></p>')
    assert extract_fragment(html, CONFIG).text.split("\n\n") == [
        "Costello: Who is on first?", "Abbott: Yes.", "What can you learn?", "Costello: I mean the fellow's name.",
        "Abbott: Yes.", "#LearnWordPress #LearnWP"]


def test_scripts_styles_and_embeds_are_no_text() -> None:
    html = "<p>Words.</p><script>var x = 1;</script><style>p {}</style><iframe src='v'>fallback</iframe>"
    assert extract_fragment(html, CONFIG).text == "Words."


def test_a_fragment_without_text_is_an_extract_error() -> None:
    with pytest.raises(ExtractError, match="no text found in the HTML content"):
        extract_fragment('<p><img src="a.jpg"></p>', CONFIG)
