"""Main text of an HTML fragment, post content without a page around it: `extract_fragment`.

Feed entries (content:encoded, Atom content, descriptions), WordPress export items and
scraper fields holding markup carry the post's HTML alone, often as WordPress stores
it (paragraphs as blank-line separated text, not yet <p>s). It goes the way of an HTML
Markdown body (`ingest/clean/markdown.py`): paragraphs made as WordPress renders them,
trafilatura's text unless it dropped real content, then the plain rendering. One more
rule: trafilatura drops a paragraph that repeats one it kept (its duplicate filter),
but post content repeats on purpose (a dialogue's "Yes.", a refrain), so such
paragraphs are put back where the plain rendering has them.
"""

from __future__ import annotations

from difflib import SequenceMatcher

from ingest.clean.html import (
    Extracted,
    ExtractError,
    _as_document,
    _document_paragraphs,
    _main_text,
    _parse_html,
    _plain_paragraphs,
    _time_limit,
    _words,
)
from ingest.clean.markdown import FRAGMENT_MIN_COVERAGE, _autop
from ingest.config import HtmlConfig


def extract_fragment(fragment: str, config: HtmlConfig) -> Extracted:
    """The text of post content given as HTML; no metadata (the container has it)."""
    with _time_limit(config.timeout_seconds):
        paragraphs = _paragraphs(fragment, config) if fragment.strip() else []
    if not paragraphs:
        raise ExtractError("no text found in the HTML content")
    return Extracted(text="\n\n".join(paragraphs))


def _paragraphs(fragment: str, config: HtmlConfig) -> list[str]:
    tree = _parse_html(_as_document(_autop(fragment)))
    plain = _plain_paragraphs(tree)
    document = _main_text(tree, config, url=None)
    extracted = _document_paragraphs(document) if document is not None else []
    if len(_words(" ".join(extracted))) < FRAGMENT_MIN_COVERAGE * len(_words(" ".join(plain))):
        return plain
    return _with_repeats(extracted, plain)


def _with_repeats(extracted: list[str], plain: list[str]) -> list[str]:
    """`extracted`, with the plain paragraphs it left out that repeat one it kept."""
    kept = set(extracted)
    out: list[str] = []
    for op, i1, i2, j1, j2 in SequenceMatcher(a=extracted, b=plain, autojunk=False).get_opcodes():
        out.extend(extracted[i1:i2])
        if op == "insert" and all(p in kept for p in plain[j1:j2]):
            out.extend(plain[j1:j2])
    return out
