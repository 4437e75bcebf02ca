"""Main text of an HTML fragment, post content without a page around it: `extract_fragment`.

Feed entries (content:encoded, Atom content, descriptions), WordPress export items and
scraper fields holding markup carry the post's HTML alone, often as WordPress stores
it (paragraphs as blank-line separated text, not yet <p>s). It goes the way of an HTML
Markdown body (`ingest/clean/markdown.py`): paragraphs made as WordPress renders them,
trafilatura's text unless it dropped real content, then the plain rendering.
"""

from __future__ import annotations

from ingest.clean.html import Extracted, ExtractError, _time_limit
from ingest.clean.markdown import _fragment_paragraphs
from ingest.config import HtmlConfig


def extract_fragment(fragment: str, config: HtmlConfig) -> Extracted:
    """The text of post content given as HTML; no metadata (the container has it)."""
    with _time_limit(config.timeout_seconds):
        paragraphs = _fragment_paragraphs(fragment, config) if fragment.strip() else []
    if not paragraphs:
        raise ExtractError("no text found in the HTML content")
    return Extracted(text="\n\n".join(paragraphs))
