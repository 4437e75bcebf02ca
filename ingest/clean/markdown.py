"""Main text and metadata out of Markdown files: `extract_markdown`.

The front matter goes to the metadata (`ingest/clean/front_matter.py`); an HTML body
(WordPress exports) takes the HTML path, any other body keeps its words with the
Markdown syntax stripped. `text` has one paragraph per block, paragraphs separated by
one blank line.
"""

from __future__ import annotations

import html as html_lib
import re
from typing import Any

from ingest.clean.front_matter import split_front_matter
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
    code_lines,
    heading_texts,
)
from ingest.config import HtmlConfig


# An HTML fragment (a Markdown body) is all post content, no page chrome: trafilatura may
# drop bits it takes for boilerplate, but when it drops more than this share of the words
# it is dropping content (captions, lists, short posts), and the plain rendering is used.
FRAGMENT_MIN_COVERAGE = 0.9


# A body with any of these tags is HTML (WordPress exports), not Markdown.
_HTML_BLOCK = re.compile(
    r"<(?:p|div|figure|h[1-6]|ul|ol|blockquote|table|pre|section|article)(?:\s[^>]*)?/?>", re.IGNORECASE
)


def extract_markdown(text: str, config: HtmlConfig) -> Extracted:
    """Front matter to metadata; the body's text, from HTML or Markdown."""
    # The time limit covers the Markdown rules too: hostile lines make regexes slow.
    with _time_limit(config.timeout_seconds):
        front, body = split_front_matter(text)
        if not _HTML_BLOCK.search(_without_code(body)):
            paragraphs, headings, code = _markdown_paragraphs(body)
        elif _MARKDOWN_SYNTAX.search(body):
            # Markdown with raw HTML blocks in it (a <figure> in a Hugo post): rendered
            # as the site generator would, then read as the HTML it makes.
            paragraphs, headings, code = _fragment_paragraphs(_render_markdown(body), config)
        else:
            paragraphs, headings, code = _fragment_paragraphs(body, config)  # an HTML body (WordPress)
    if not paragraphs:
        raise ExtractError("no text found in Markdown")
    return Extracted(text="\n\n".join(paragraphs), metadata=_front_matter_metadata(front), headings=headings,
                     code=code)


def _without_code(body: str) -> str:
    """`body` without fenced code and code spans: markup shown as code ("`<h1>`") is
    the post's words, not its HTML. Fences close as `_markdown_paragraphs` closes them."""
    kept: list[str] = []
    fence: str | None = None
    for line in body.splitlines():
        if fence is not None:
            if line.strip().startswith(fence):
                fence = None
        elif match := _FENCE.match(line):
            fence = match.group(1)[0] * 3
        else:
            kept.append(line)
    return _CODE_SPAN.sub(" ", "\n".join(kept))


# Markdown's own block and link syntax, which an HTML body (a WordPress export) lacks.
_MARKDOWN_SYNTAX = re.compile(
    r"^[ \t]{0,3}(?:#{1,6}[ \t]+\S|`{3,}|~{3,}|[-*+][ \t]+\S|\[\^[^\]]+\]:)|\]\([^)\s]+(?:[ \t]+\"[^\"]*\")?\)",
    re.MULTILINE,
)


def _render_markdown(body: str) -> str:
    """HTML of a Markdown body (Python-Markdown with its "extra" syntax: tables, fenced
    code, attribute lists, Markdown inside HTML blocks); template tags and footnote
    marks out first, footnotes rendered in place as paragraphs, as `_markdown_paragraphs`
    leaves them."""
    import markdown  # only for the few bodies that mix Markdown and HTML

    body = _FOOTNOTE_MARK.sub("", _TEMPLATE_TAG.sub(" ", body))
    body = _FOOTNOTE_DEFINITION.sub("", body)
    extensions = ["abbr", "attr_list", "def_list", "fenced_code", "tables", "md_in_html"]
    return markdown.markdown(body, extensions=extensions)


def _front_matter_metadata(front: dict[str, Any]) -> dict[str, Any]:
    """Every front-matter key as is; the convention sets (`[metadata]`) name the standard ones."""
    return {key: value for key, value in front.items() if value is not None}


def _fragment_paragraphs(fragment: str, config: HtmlConfig) -> tuple[list[str], list[str], list[str]]:
    """(paragraphs, headings, code lines) of an HTML body."""
    tree = _parse_html(_as_document(_autop(fragment)))
    plain = _plain_paragraphs(tree)
    structure = heading_texts(tree), code_lines(tree)
    document = _main_text(tree, config, url=None)
    extracted = _document_paragraphs(document) if document is not None else []
    if len(_words(" ".join(extracted))) >= FRAGMENT_MIN_COVERAGE * len(_words(" ".join(plain))):
        return extracted, *structure
    return plain, *structure


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
_LINK_DEFINITION = re.compile(r"^[ \t]{0,3}\[[^\]^][^\]]*\]:[ \t]*\S+")
_FOOTNOTE = re.compile(r"^[ \t]{0,3}\[\^[^\]]+\]:[ \t]*")  # its text is content: a paragraph of its own
_FOOTNOTE_DEFINITION = re.compile(_FOOTNOTE.pattern, re.MULTILINE)
_HEADING_ATTRIBUTES = re.compile(r"[ \t]*\{[#.][^{}]*\}[ \t]*$")  # "## Title {#id}" (kramdown, Hugo)
_QUOTE = re.compile(r"^[ \t]{0,3}(?:>[ \t]?)+")
_BULLET = re.compile(r"^[ \t]*[-*+][ \t]+")
# The number stays: it is content. Readers see the items numbered on from the first
# item's number, whatever the later items say ("1." on every item is common).
_NUMBERED = re.compile(r"^([ \t]*)(\d{1,9})([.)][ \t]+)")
_TABLE_ROW = re.compile(r"^[ \t]*\|")


def _markdown_paragraphs(body: str) -> tuple[list[str], list[str], list[str]]:
    """(paragraphs, headings, code lines): the words of a Markdown body, one paragraph
    per block, syntax stripped; the paragraphs that are headings; the fenced code's lines."""
    paragraphs: list[str] = []
    headings: list[str] = []
    code: list[str] = []
    notes: list[str] = []  # footnotes: at the end, where a rendered page shows them
    current: list[str] = []
    fence: str | None = None
    in_note = False

    def close() -> None:
        # Inline syntax is stripped from the whole paragraph: a link's text or an
        # emphasis may run over a line break ("[our\nforum][3]").
        nonlocal in_note
        if current:
            text = _strip_inline(" ".join(current), labels) if fence is None else "\n".join(current)
            if fence is not None:
                code.extend(current)
            (notes if in_note else paragraphs).append(text)
            current.clear()
        in_note = False

    numbers: dict[int, int] = {}  # an open ordered list's last number, by indentation
    labels = _link_labels(body)
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
        rule = _RULE.match(line)
        if rule and rule.group(1) in "=-" and len(current) == 1 and not in_note:
            headings.append(_strip_inline(current[0], labels))  # a setext heading's underline
        if not line.strip() or rule or _TABLE_RULE.match(line) or _LINK_DEFINITION.match(line):
            close()
            continue
        if heading := _ATX_HEADING.match(line):
            close()
            numbers.clear()
            current.append(_HEADING_ATTRIBUTES.sub("", heading.group(1) or ""))
            headings.append(_strip_inline(current[0], labels))
            close()
            continue
        if footnote := _FOOTNOTE.match(line):
            close()
            in_note = True
            line = line[footnote.end():]
        elif numbered := _NUMBERED.match(line):
            close()  # each item is its own paragraph
            indent = len(numbered.group(1).expandtabs(4))
            for deeper in [w for w in numbers if w > indent]:
                del numbers[deeper]
            numbers[indent] = numbers[indent] + 1 if indent in numbers else int(numbered.group(2))
            line = f"{numbers[indent]}{numbered.group(3)}{line[numbered.end():]}"
        elif _BULLET.match(line) or _TABLE_ROW.match(line):
            close()  # each item or row is its own paragraph
            line = _BULLET.sub("", line)
        elif not current and line[:1] not in (" ", "\t"):
            numbers.clear()  # a paragraph of its own, not in a list: the list is over
        current.append(line.strip())
    close()
    return [p for p in (para.strip() for para in paragraphs + notes) if p], [h for h in headings if h], code


_ESCAPED = re.compile(r"\\([!-/:-@\[-`{-~])")  # backslash before ASCII punctuation
# Literal characters (escaped, or in code) are parked in a private-use plane, out of
# reach of the rules below, and brought back at the end.
_PARK = {code: 0xF0000 + code for code in range(0x21, 0x7F) if not chr(code).isalnum()}
_UNPARK = {parked: code for code, parked in _PARK.items()}
_CODE_SPAN = re.compile(r"(`+)(.+?)\1")
# Site generators' template tags: Liquid's {% tag %} and {{ value }} (Jekyll), Hugo's
# shortcodes {{< name >}} and {{% name %}}. The generator replaces them with a link
# target, a value or markup when it builds the page; they are not the post's words.
_TEMPLATE_TAG = re.compile(r"\{\{[<%][^{}]{0,2000}[>%]\}\}|\{%[^{}]{0,2000}%\}|\{\{[^{}]{0,2000}\}\}")
_FOOTNOTE_MARK = re.compile(r"\[\^[^\]\s]{1,100}\]")  # "claim[^a]": a link to a note, not a word
_IMAGE = re.compile(r"!\[([^\]]*)\]\((?:[^()]|\([^()]*\))*\)")
_LINK = re.compile(r"\[([^\]]+)\]\((?:[^()]|\([^()]*\))*\)")
_REFERENCE_LINK = re.compile(r"!?\[([^\]]+)\]\[[^\]]*\]")
# "[Go 言語]" alone is a link when the body defines the label ("[Go 言語]: https://..."),
# else text in brackets.
_SHORTCUT_LINK = re.compile(r"(?<![\]\\])!?\[([^\[\]]{1,200})\](?![(\[:])")
_LINK_LABEL = re.compile(r"^[ \t]{0,3}\[([^\]^][^\]]*)\]:[ \t]*\S+", re.MULTILINE)
_HTML_COMMENT = re.compile(r"<!--.*?-->")  # a note to the site's editors: not rendered
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


def _link_labels(body: str) -> frozenset[str]:
    return frozenset(_label_key(m.group(1)) for m in _LINK_LABEL.finditer(body))


def _label_key(label: str) -> str:
    return " ".join(label.split()).casefold()  # labels match without regard to case and spacing


def _strip_inline(text: str, labels: frozenset[str] = frozenset()) -> str:
    """Inline Markdown syntax out, its words in: link text, image alt text, emphasised text."""
    # Code first: backslashes in code are literal, not escapes.
    text = _CODE_SPAN.sub(lambda m: m.group(2).strip().translate(_PARK), text)
    text = _ESCAPED.sub(lambda m: m.group(1).translate(_PARK), text)
    text = _TEMPLATE_TAG.sub(" ", text)  # after code: a tag shown as code stays
    text = _HTML_COMMENT.sub(" ", text)
    text = _FOOTNOTE_MARK.sub("", text)
    text = _IMAGE.sub(r"\1", text)
    text = _LINK.sub(r"\1", text)
    text = _REFERENCE_LINK.sub(r"\1", text)
    if labels:
        text = _SHORTCUT_LINK.sub(lambda m: m.group(1) if _label_key(m.group(1)) in labels else m.group(0), text)
    text = _AUTOLINK.sub(r"\1", text)
    text = _INLINE_TAG.sub("", text)
    text = _STRONG.sub(r"\2", text)
    text = _EMPHASIS.sub(lambda m: m.group(1) or m.group(2), text)
    text = _STRIKE.sub(r"\1", text)
    text = html_lib.unescape(text)  # Markdown passes entities such as &amp; through
    text = text.translate(_UNPARK)
    return " ".join(text.split())
