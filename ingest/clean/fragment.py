"""Main text of an HTML fragment, post content without a page around it: `extract_fragment`.

Feed entries (content:encoded, Atom content, descriptions), WordPress export items and
scraper fields holding markup carry the post's HTML alone, often as WordPress stores
it (paragraphs as blank-line separated text, not yet <p>s). There is no page chrome to
separate the post from, so every text of it is kept, one paragraph per block, as
WordPress renders it (scripts, styles and embeds are no text). Main-text extraction
(trafilatura) is not used here: on post content it drops headings, link-only
paragraphs and paragraphs that repeat an earlier one (measured in docs/benchmarks/inputs.md,
"Exports, feeds and tables"); artefacts inside posts are the named rules' and learned
boilerplate's job, with their audit trail.
"""

from __future__ import annotations

from ingest.clean.html import (
    Extracted,
    ExtractError,
    _as_document,
    _parse_html,
    _plain_paragraphs,
    _time_limit,
    code_lines,
    heading_texts,
)
from ingest.clean.markdown import _autop
from ingest.config import HtmlConfig


def extract_fragment(fragment: str, config: HtmlConfig) -> Extracted:
    """The text of post content given as HTML; no metadata (the container has it)."""
    with _time_limit(config.timeout_seconds):
        tree = _parse_html(_as_document(_autop(fragment))) if fragment.strip() else None
        paragraphs = _plain_paragraphs(tree) if tree is not None else []
    if not paragraphs:
        raise ExtractError("no text found in the HTML content")
    return Extracted(text="\n\n".join(paragraphs), headings=heading_texts(tree), code=code_lines(tree))
