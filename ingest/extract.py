"""Main text and metadata out of HTML pages and Markdown files.

HTML goes through trafilatura with the `[html]` settings (chosen on the
article-extraction benchmark, see docs/benchmarks.md), plus two rules measured there:
the headline is dropped from the text when it repeats the title kept as metadata, and
a precision extraction that kept only a sliver of what the balanced mode finds is
replaced by the balanced one.  A page without extractable main text falls back to a
plain rendering of its body, so nothing real is lost.

Markdown loses its front matter to the metadata; an HTML body (WordPress exports)
takes the HTML path, any other body keeps its words with the Markdown syntax stripped.

`text` always has one paragraph per block, paragraphs separated by one blank line.
"""

from __future__ import annotations

import datetime as dt
import functools
import html as html_lib
import re
import signal
import threading
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from copy import deepcopy
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any

import yaml

from ingest.config import HtmlConfig

if TYPE_CHECKING:
    from lxml.html import HtmlElement

# favor_precision should trim the article, not replace it: on some pages it settles on a
# small block (a reprint notice, a teaser) instead.  A precision text under this share of
# the balanced text is such a miss, and the balanced text is used.
PRECISION_MIN_SHARE = 0.2

# An HTML fragment (a Markdown body) is all post content, no page chrome: trafilatura may
# drop bits it takes for boilerplate, but when it drops more than this share of the words
# it is dropping content (captions, lists, short posts), and the plain rendering is used.
FRAGMENT_MIN_COVERAGE = 0.9

# yaml.safe_load expands aliases into shared (even self-referencing) structures; turning
# them into JSON values would blow up on "billion laughs" front matter.
_MAX_FRONT_MATTER_NODES = 10_000
_MAX_FRONT_MATTER_DEPTH = 50

_WORD = re.compile(r"\w+")


class ExtractError(Exception):
    """No usable text (or unreadable front matter); the message is one line."""


@dataclass
class Extracted:
    text: str  # paragraphs separated by "\n\n"
    metadata: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------- HTML


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
    return Extracted(text="\n\n".join(paragraphs), metadata=metadata)


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
        # (trafilatura's choice) only when the caller has none.
        "url": url or document.url,
        "language": document.language or _declared_language(tree),
        "sitename": document.sitename,
        "description": document.description,
        "categories": document.categories,
        "tags": document.tags,
        "created": document.date,  # ISO 8601 date, found by htmldate
    }
    return {key: value for key, value in fields.items() if value}


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


# ----------------------------------------------------------------------- Markdown

_YAML_FRONT = re.compile(r"\A\ufeff?---[ \t]*\r?\n(.*?\r?\n)??(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.DOTALL)
_TOML_FRONT = re.compile(r"\A\ufeff?\+\+\+[ \t]*\r?\n(.*?\r?\n)??\+\+\+[ \t]*(?:\r?\n|\Z)", re.DOTALL)


def split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """(front matter, body) of a Markdown file; ({}, text) when it has none.

    YAML between "---" lines or TOML between "+++" lines (Hugo), at the very start.
    Dates come back as ISO 8601 strings, so the dict can go straight into JSON.
    """
    if match := _YAML_FRONT.match(text):
        data = _load_yaml(match.group(1) or "")
    elif match := _TOML_FRONT.match(text):
        data = _load_toml(match.group(1) or "")
    else:
        return {}, text
    if data is None:  # empty front matter
        data = {}
    if not isinstance(data, dict):
        # "---" lines around prose are Markdown rules, not front matter.
        return {}, text
    return _json_safe(data), text[match.end() :]


def _load_yaml(source: str) -> Any:
    try:
        return yaml.safe_load(source)
    except yaml.MarkedYAMLError as exc:
        located = ((exc.context, exc.context_mark), (exc.problem, exc.problem_mark))
        parts = [f"{text}{_yaml_line(mark)}" for text, mark in located if text]
        raise ExtractError("invalid YAML front matter: " + ", ".join(parts)) from None
    except yaml.YAMLError as exc:
        raise ExtractError("invalid YAML front matter: " + " ".join(str(exc).split())) from None


def _yaml_line(mark: Any) -> str:
    # The mark counts from 0 in the YAML, which starts on the file's second line.
    return f" at line {mark.line + 2}" if mark is not None else ""


def _load_toml(source: str) -> dict[str, Any]:
    try:
        return tomllib.loads(source)
    except tomllib.TOMLDecodeError as exc:
        raise ExtractError("invalid TOML front matter: " + " ".join(str(exc).split())) from None


def _json_safe(data: dict[str, Any]) -> dict[str, Any]:
    """The front matter with dates as ISO strings and string keys, safe for JSON."""
    nodes = 0

    def convert(value: Any, depth: int) -> Any:
        nonlocal nodes
        nodes += 1
        if nodes > _MAX_FRONT_MATTER_NODES or depth > _MAX_FRONT_MATTER_DEPTH:
            raise ExtractError("front matter too large or self-referencing (YAML aliases)")
        if isinstance(value, dict):
            return {_json_key(k): convert(v, depth + 1) for k, v in value.items()}
        if isinstance(value, (list, tuple, set, frozenset)):
            return [convert(v, depth + 1) for v in value]
        if isinstance(value, (dt.date, dt.time)):  # datetime is a date
            return value.isoformat()
        if value is None or isinstance(value, (str, int, float, bool)):
            return value
        return str(value)  # !!binary and other exotic tags

    return convert(data, 0)


def _json_key(key: Any) -> str:
    # YAML keys may be dates or numbers; JSON object keys are strings.
    return key.isoformat() if isinstance(key, (dt.date, dt.time)) else str(key)


# A body with any of these tags is HTML (WordPress exports), not Markdown.
_HTML_BLOCK = re.compile(
    r"<(?:p|div|figure|h[1-6]|ul|ol|blockquote|table|pre|section|article)(?:\s[^>]*)?/?>", re.IGNORECASE
)


def extract_markdown(text: str, config: HtmlConfig) -> Extracted:
    """Front matter to metadata; the body's text, from HTML or Markdown."""
    # The time limit covers the Markdown rules too: hostile lines make regexes slow.
    with _time_limit(config.timeout_seconds):
        front, body = split_front_matter(text)
        if _HTML_BLOCK.search(body):
            paragraphs = _fragment_paragraphs(body, config)
        else:
            paragraphs = _markdown_paragraphs(body)
    if not paragraphs:
        raise ExtractError("no text found in Markdown")
    return Extracted(text="\n\n".join(paragraphs), metadata=_front_matter_metadata(front))


def _front_matter_metadata(front: dict[str, Any]) -> dict[str, Any]:
    """Every front-matter key as is, plus the pipeline's names for the known ones."""
    metadata = {key: value for key, value in front.items() if value is not None}
    created = front.get("date", front.get("created"))
    if created not in (None, ""):
        metadata["created"] = str(created)
    url = front.get("url") or front.get("permalink")
    if url:
        metadata["url"] = url
    for key in ("categories", "tags"):
        # Jekyll and Hugo accept one bare value as well as a list.
        if isinstance(metadata.get(key), (str, int, float)):
            metadata[key] = [metadata[key]]
    return metadata


def _fragment_paragraphs(fragment: str, config: HtmlConfig) -> list[str]:
    tree = _parse_html(_as_document(_autop(fragment)))
    plain = _plain_paragraphs(tree)
    document = _main_text(tree, config, url=None)
    extracted = _document_paragraphs(document) if document is not None else []
    if len(_words(" ".join(extracted))) >= FRAGMENT_MIN_COVERAGE * len(_words(" ".join(plain))):
        return extracted
    return plain


_BLANK_LINE = re.compile(r"\n[ \t]*\n")
_STARTS_WITH_BLOCK = re.compile(
    r"<(?:!--|/?(?:address|article|aside|blockquote|dd|details|div|dl|dt|figcaption|figure|footer|"
    r"form|h[1-6]|header|hr|iframe|li|nav|ol|p|pre|script|section|style|summary|table|tbody|td|"
    r"tfoot|th|thead|tr|ul)\b)",
    re.IGNORECASE,
)


def _autop(fragment: str) -> str:
    """WordPress's wpautop, roughly: a blank-line separated chunk of text is a paragraph.

    Classic-editor posts are stored that way and only become <p>s when rendered; parsed
    as they are, their paragraphs would run together.
    """
    chunks = (chunk.strip() for chunk in _BLANK_LINE.split(fragment))
    return "\n".join(c if _STARTS_WITH_BLOCK.match(c) else f"<p>{c}</p>" for c in chunks if c)


_FENCE = re.compile(r"^[ \t]{0,3}(`{3,}|~{3,})")
_ATX_HEADING = re.compile(r"^[ \t]{0,3}#{1,6}(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_RULE = re.compile(r"^[ \t]{0,3}([-*_=])(?:[ \t]*\1){2,}[ \t]*$")  # thematic break, setext underline
_TABLE_RULE = re.compile(r"^[ \t]*\|?(?:[ \t]*:?-+:?[ \t]*\|)+(?:[ \t]*:?-+:?[ \t]*)?$")
_LINK_DEFINITION = re.compile(r"^[ \t]{0,3}\[[^\]]+\]:[ \t]*\S+")
_QUOTE = re.compile(r"^[ \t]{0,3}(?:>[ \t]?)+")
_BULLET = re.compile(r"^[ \t]*[-*+][ \t]+")
_NUMBERED = re.compile(r"^[ \t]*\d{1,9}[.)][ \t]+")  # the number stays: it is content
_TABLE_ROW = re.compile(r"^[ \t]*\|")


def _markdown_paragraphs(body: str) -> list[str]:
    """The words of a Markdown body, one paragraph per block, syntax stripped."""
    paragraphs: list[str] = []
    current: list[str] = []
    fence: str | None = None

    def close() -> None:
        if current:
            paragraphs.append(" ".join(current) if fence is None else "\n".join(current))
            current.clear()

    for line in body.splitlines():
        if fence is not None:  # inside a code block: lines kept as they are
            if line.strip().startswith(fence):
                close()
                fence = None
            elif line.strip():
                current.append(line.rstrip())
            continue
        if match := _FENCE.match(line):
            close()
            fence = match.group(1)[0] * 3
            continue
        line = _QUOTE.sub("", line)
        if not line.strip() or _RULE.match(line) or _TABLE_RULE.match(line) or _LINK_DEFINITION.match(line):
            close()
            continue
        if heading := _ATX_HEADING.match(line):
            close()
            current.append(_strip_inline(heading.group(1) or ""))
            close()
            continue
        if _BULLET.match(line) or _NUMBERED.match(line) or _TABLE_ROW.match(line):
            close()  # each item or row is its own paragraph
            line = _BULLET.sub("", line)
        current.append(_strip_inline(line.strip()))
    close()
    return [p for p in (para.strip() for para in paragraphs) if p]


_ESCAPED = re.compile(r"\\([!-/:-@\[-`{-~])")  # backslash before ASCII punctuation
# Literal characters (escaped, or in code) are parked in a private-use plane, out of
# reach of the rules below, and brought back at the end.
_PARK = {code: 0xF0000 + code for code in range(0x21, 0x7F) if not chr(code).isalnum()}
_UNPARK = {parked: code for code, parked in _PARK.items()}
_CODE_SPAN = re.compile(r"(`+)(.+?)\1")
_IMAGE = re.compile(r"!\[([^\]]*)\]\((?:[^()]|\([^()]*\))*\)")
_LINK = re.compile(r"\[([^\]]+)\]\((?:[^()]|\([^()]*\))*\)")
_REFERENCE_LINK = re.compile(r"!?\[([^\]]+)\]\[[^\]]*\]")
_AUTOLINK = re.compile(r"<((?:https?|ftp|mailto):[^>\s]+)>")
_INLINE_TAG = re.compile(
    r"</?(?:a|abbr|b|br|cite|code|del|em|i|img|ins|kbd|mark|q|s|small|span|strong|sub|sup|u)\b[^>]*>",
    re.IGNORECASE,
)
_STRONG = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_EMPHASIS = re.compile(
    r"(?<![\w*])\*(?=[^\s*])(.+?)(?<=[^\s*])\*(?![\w*])"  # *x*, not 2 * 3 * 4
    r"|(?<!\w)_(?=[^\s_])(.+?)(?<=[^\s_])_(?!\w)"  # _x_, not snake_case
)
_STRIKE = re.compile(r"~~(?=\S)(.+?)(?<=\S)~~")


def _strip_inline(text: str) -> str:
    """Inline Markdown syntax out, its words in: link text, image alt text, emphasised text."""
    # Code first: backslashes in code are literal, not escapes.
    text = _CODE_SPAN.sub(lambda m: m.group(2).strip().translate(_PARK), text)
    text = _ESCAPED.sub(lambda m: m.group(1).translate(_PARK), text)
    text = _IMAGE.sub(r"\1", text)
    text = _LINK.sub(r"\1", text)
    text = _REFERENCE_LINK.sub(r"\1", text)
    text = _AUTOLINK.sub(r"\1", text)
    text = _INLINE_TAG.sub("", text)
    text = _STRONG.sub(r"\2", text)
    text = _EMPHASIS.sub(lambda m: m.group(1) or m.group(2), text)
    text = _STRIKE.sub(r"\1", text)
    text = html_lib.unescape(text)  # Markdown passes entities such as &amp; through
    text = text.translate(_UNPARK)
    return " ".join(text.split())
