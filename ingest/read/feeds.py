"""RSS 2.0, Atom and RSS 1.0 (RDF) feeds: each entry one record, read with feedparser.

feedparser normalises the three formats to one set of names (`title`, `link`,
`published`, `updated`, `author`, `content`, `summary`, `tags`), which `[read.feed]`
maps to the body and the standard metadata; the entry's full content (content:encoded,
Atom content) or else its summary goes through HTML extraction as post content. The
feed's own title and link are kept as `feed_title` and `feed_url`.

feedparser drops entity declarations before parsing (no XXE, no entity bombs) and reads
a feed that is not well-formed XML with its lenient parser: the entries it recovers are
kept, and the XML error becomes one reject naming its line.
"""

from __future__ import annotations

import html
import io
import re
from collections.abc import Iterator
from typing import Any

import feedparser

from ingest.config import ReadConfig
from ingest.document import RawRecord, Reject
from ingest.read.fields import item_record
from ingest.read.files import InputFile
from ingest.read.problems import ReadProblem, describe, reject

_TAG = re.compile(r"<[^>]{0,2000}>")
# Parsed copies (time tuples) and the *_detail dicts that repeat the plain fields.
_DERIVED_SUFFIXES = ("_parsed", "_detail")


def read_feed_records(
    f: InputFile, stream: io.BufferedReader, meta: dict[str, Any], config: ReadConfig
) -> Iterator[RawRecord | Reject]:
    try:
        data = stream.read()
    except ReadProblem as bad:
        yield reject(f, bad.error, bad.detail)
        return
    parsed = feedparser.parse(data, sanitize_html=False, resolve_relative_uris=False)
    if not parsed.entries:
        if parsed.bozo and not parsed.version:
            yield reject(f, "MalformedFeed", f"no RSS, Atom or RDF feed could be read ({_problem(parsed.bozo_exception)})")
        elif not parsed.version:
            yield reject(f, "MalformedFeed", "no RSS, Atom or RDF feed found in the file")
        else:
            yield reject(f, "EmptyFile", "the feed has no entries")
        return
    channel = parsed.feed
    feed_fields = {"feed_title": channel.get("title"), "feed_url": channel.get("link")}
    for n, entry in enumerate(parsed.entries, 1):
        fields = {**_entry_fields(entry), **{k: v for k, v in feed_fields.items() if v}}
        yield item_record(f, n, f"entry {n}", fields, config.feed, meta, html_format="html-fragment")
    if parsed.bozo and _is_xml_error(parsed.bozo_exception):
        yield reject(f, "MalformedXML", f"the feed is not well-formed XML ({_problem(parsed.bozo_exception)});"
                     " its entries were read with feedparser's lenient parser")


def _entry_fields(entry: Any) -> dict[str, Any]:
    """An entry's plain fields; content joined; tags as `categories`; authors by name."""
    fields: dict[str, Any] = {}
    for key, value in entry.items():
        if key.endswith(_DERIVED_SUFFIXES) or key in ("guidislink", "links"):
            continue
        if key == "content":
            fields["content"] = "\n".join(part.get("value", "") for part in value if part.get("value"))
        elif key == "tags":
            fields["categories"] = [tag["term"] for tag in value if tag.get("term")]
        elif key == "authors":
            names = [a["name"] for a in value if a.get("name")]
            if names:
                fields["authors"] = names
        elif isinstance(value, str):
            detail = entry.get(f"{key}_detail") or {}
            # A title of type html is markup ("Q&amp;A"): its text is what the feed says.
            fields[key] = _html_text(value) if key != "summary" and detail.get("type") == "text/html" else value
    return fields


def _html_text(markup: str) -> str:
    return " ".join(html.unescape(_TAG.sub(" ", markup)).split())


def _is_xml_error(exc: BaseException | None) -> bool:
    # feedparser also flags harmless things (an encoding declared one way, used another).
    return exc is not None and type(exc).__name__ == "SAXParseException"


def _problem(exc: BaseException | None) -> str:
    if exc is None:
        return "unknown problem"
    if hasattr(exc, "getLineNumber") and exc.getLineNumber():  # a SAXParseException
        return f"line {exc.getLineNumber()}: {exc.getMessage()}"
    return describe(exc)
