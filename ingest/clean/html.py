"""Main text and metadata out of HTML pages: `extract_html`.

Pages go through trafilatura with the `[html]` settings (chosen on the
article-extraction benchmark, see docs/benchmarks/inputs.md), plus two rules measured there:
the headline is dropped from the text when it repeats the title kept as metadata, and
a precision extraction that kept only a sliver of what the balanced mode finds is
replaced by the balanced one. A page without extractable main text falls back to a
plain rendering of its body, so nothing real is lost. `text` has one paragraph per
block, paragraphs separated by one blank line.
"""

from __future__ import annotations

import functools
import re
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from copy import deepcopy
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any

from ingest.config import HtmlConfig

if TYPE_CHECKING:
    from lxml.html import HtmlElement


# favor_precision should trim the article, not replace it: on some pages it settles on a
# small block (a reprint notice, a teaser) instead.  A precision text under this share of
# the balanced text is such a miss, and the balanced text is used.
PRECISION_MIN_SHARE = 0.2


_WORD = re.compile(r"\w+")


class ExtractError(Exception):
    """No usable text (or unreadable front matter); the message is one line."""


@dataclass
class Extracted:
    text: str  # paragraphs separated by "\n\n"
    metadata: dict[str, Any] = field(default_factory=dict)
    # The paragraphs the source marks as headings (<h1>-<h6>, Markdown's "#" and
    # underlined lines): learned boilerplate keeps a heading over text it keeps.
    headings: list[str] = field(default_factory=list)
    # The lines of code blocks (<pre>, Markdown's fences): content, never chrome.
    code: list[str] = field(default_factory=list)


def extract_html(html: str, config: HtmlConfig, url: str | None = None) -> Extracted:
    """The main text of a web page, with title, author, date, url and language as metadata."""
    with _time_limit(config.timeout_seconds):
        tree = _parse_html(html)
        document = _main_text(tree, config, url)
        if document is None:
            # No main text: keep all the body's text; the metadata still comes from the head.
            paragraphs = _plain_paragraphs(tree)
            metadata = _page_metadata(_trafilatura_module().extract_metadata(tree, default_url=url), tree, url)
        else:
            metadata = _page_metadata(document, tree, url)
            paragraphs = _drop_repeated_title(_document_paragraphs(document), metadata.get("title"))
            paragraphs = paragraphs or _plain_paragraphs(tree)
    if not paragraphs:
        raise ExtractError("no text found in HTML")
    return Extracted(text="\n\n".join(paragraphs), metadata=metadata, headings=heading_texts(tree),
                     code=code_lines(tree))


class _Timeout(BaseException):
    """Raised by the alarm.  A BaseException so that trafilatura's own `except Exception`
    fallbacks cannot swallow it and carry on past the limit."""


@contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    """Raise ExtractError when the block runs longer than `seconds`.

    SIGALRM is only delivered to the main thread, and an alarm someone else set (an
    outer time limit) must not be replaced: in those cases the block runs unlimited.
    The alarm interrupts Python code only, not a single long call into lxml's C code.
    """
    if (
        not hasattr(signal, "setitimer")
        or threading.current_thread() is not threading.main_thread()
        or signal.getitimer(signal.ITIMER_REAL)[0] > 0
    ):
        yield
        return

    def on_alarm(signum: int, frame: Any) -> None:
        raise _Timeout

    previous = signal.signal(signal.SIGALRM, on_alarm)
    try:
        signal.setitimer(signal.ITIMER_REAL, seconds)
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    except _Timeout:
        raise ExtractError(f"extraction timed out after {seconds:g} s") from None
    finally:
        signal.signal(signal.SIGALRM, previous)


@functools.cache
def _trafilatura_module() -> ModuleType:
    """trafilatura, imported on first use: 0.13 s of every worker's start (lxml's too),
    which runs without HTML never need."""
    import trafilatura

    return trafilatura


def _parse_html(html: str) -> HtmlElement:
    if not html.strip():
        raise ExtractError("no text found in HTML")
    # load_html rejects text that does not look like a whole document; such input is
    # still a fragment worth reading.
    tree = _trafilatura_module().load_html(html)
    if tree is None:
        tree = _trafilatura_module().load_html(_as_document(html))
    if tree is None:
        raise ExtractError("no text found in HTML")
    return tree


def _as_document(fragment: str) -> str:
    # trafilatura expects a whole page; a lone "<p>x</p>" is rejected as not HTML.
    return f"<html><body><div>{fragment}</div></body></html>"


def _trafilatura(tree: HtmlElement, config: HtmlConfig, url: str | None, precision: bool) -> Any:
    """trafilatura's Document (text plus metadata), or None when it found no main text."""
    return _trafilatura_module().bare_extraction(
        tree,  # bare_extraction works on a copy: one parse serves every pass
        url=url,
        favor_precision=precision,
        include_comments=config.include_comments,
        include_tables=config.include_tables,
        with_metadata=True,
    )


def _main_text(tree: HtmlElement, config: HtmlConfig, url: str | None) -> Any:
    document = _trafilatura(tree, config, url, precision=config.favor_precision)
    if not config.favor_precision:
        return document
    kept = len(document.text) if document is not None else 0
    # The balanced text cannot be much longer than the page's whole text, so a precision
    # text above the share of that needs no second run (nearly every page).
    if kept >= PRECISION_MIN_SHARE * len(_trafilatura_module().html2txt(tree)):
        return document
    balanced = _trafilatura(tree, config, url, precision=False)
    if balanced is not None and kept < PRECISION_MIN_SHARE * len(balanced.text):
        return balanced
    return document


def _document_paragraphs(document: Any) -> list[str]:
    # bare_extraction keeps reader comments (include_comments) apart from the text.
    return _paragraphs(document.text or "") + _paragraphs(getattr(document, "comments", None) or "")


def _paragraphs(text: str) -> list[str]:
    """trafilatura's text has one block per line: one paragraph each, spaces collapsed."""
    return [" ".join(line.split()) for line in text.splitlines() if line.strip()]


def _drop_repeated_title(paragraphs: list[str], title: str | None) -> list[str]:
    """Drop a first paragraph that is the headline: it is kept as the title already.

    Words are compared, not characters, so quotes or a trailing period do not matter.
    An article that is nothing but its headline keeps it.
    """
    if title and len(paragraphs) > 1 and _words(paragraphs[0]) == _words(title):
        return paragraphs[1:]
    return paragraphs


def _words(text: str) -> list[str]:
    return _WORD.findall(text.casefold())


def _page_metadata(document: Any, tree: HtmlElement, url: str | None) -> dict[str, Any]:
    fields = {
        "title": document.title,
        "author": document.author,
        # The caller's URL is where the record came from; the page's canonical link
        # (trafilatura's choice) only when the caller has none, and beside it always.
        "url": url or document.url,
        "canonical_url": document.url,
        "language": document.language or _declared_language(tree),
        "sitename": document.sitename,
        "description": document.description,
        "categories": document.categories,
        "tags": document.tags,
        "date": document.date,  # ISO 8601 date, found by htmldate
    }
    return {key: value for key, value in fields.items() if value}


def heading_texts(tree: HtmlElement) -> list[str]:
    """The text of each <h1>-<h6>, white space collapsed as in the paragraphs."""
    headings = (" ".join(h.text_content().split()) for h in tree.iter("h1", "h2", "h3", "h4", "h5", "h6"))
    return [h for h in headings if h]


def code_lines(tree: HtmlElement) -> list[str]:
    """The non-blank lines of each <pre>."""
    return [line for pre in tree.iter("pre") for line in pre.text_content().splitlines() if line.strip()]


def _declared_language(tree: HtmlElement) -> str | None:
    # trafilatura only detects the language when asked to filter by it; the page's own
    # declaration is free.
    lang = tree.get("lang") or tree.get("xml:lang")  # the HTML parser keeps the prefix as is
    if not lang:
        meta = tree.find('.//meta[@http-equiv="content-language"]')
        lang = meta.get("content") if meta is not None else None
    return lang.strip() if lang and lang.strip() else None


_NOT_TEXT = ("script", "style", "noscript", "template", "svg", "iframe", "object", "select")
_BLOCKS = frozenset(
    "address article aside blockquote br dd div dl dt figcaption figure footer form h1 h2 h3 "
    "h4 h5 h6 header hr li main nav ol p pre section table tr ul".split()
)
_CELLS = frozenset({"td", "th"})


_BREAK = "\u2029"  # PARAGRAPH SEPARATOR: carries block boundaries through text_content()


def _plain_paragraphs(tree: HtmlElement) -> list[str]:
    """Every text of the body, one paragraph per block element (the last resort).

    HTML whitespace rules: line breaks in the source are spaces, blocks and <br> break.
    """
    from lxml import etree  # loaded with trafilatura by now

    body = tree.find(".//body")
    body = deepcopy(body if body is not None else tree)
    for element in list(body.iter(etree.Comment, etree.ProcessingInstruction, *_NOT_TEXT)):
        element.drop_tree()  # keeps the tail text, which belongs to the parent
    for element in body.iter(etree.Element):
        if element.tag in _BLOCKS:
            element.text = _BREAK + (element.text or "")
            element.tail = _BREAK + (element.tail or "")
        elif element.tag in _CELLS:
            element.tail = " " + (element.tail or "")  # cells of a row stay one line
    return [" ".join(part.split()) for part in body.text_content().split(_BREAK) if part.strip()]
