"""One item of a multi-record format (a JSON line, a table row, a feed entry, a WXR item)
into a record, by the field names its format's `[read.*]` table lists.

The body is the first listed text field, else the first listed HTML field, that holds a
string with more than whitespace; every other field is kept in the metadata under its
own name, and the standard fields (`title`, `created`, `url`, `author`) are filled from
the first listed field that has a value, when the item does not carry them under those
names. Names are matched without regard to case: table headers and scrapers spell them
freely.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ingest.config import FieldNames
from ingest.document import RawRecord, Reject
from ingest.read.files import InputFile
from ingest.read.problems import reject

STANDARD = ("title", "created", "url", "author")

# A text field holding markup (a scraper's "content" is often the article's HTML) is read
# as an HTML fragment, so that its tags do not end up in the text. A closing tag or a
# line break is asked for: plain text has "<P>" too (Reuters writes tickers so).
_HTML_MARKUP = re.compile(
    r"</(?:p|div|h[1-6]|ul|ol|li|blockquote|table|figure|article|section|span|a|strong|em|b|i)\s*>|<br\s*/?>",
    re.IGNORECASE,
)


def item_record(f: InputFile, n: int, where: str, item: Mapping[str, Any], names: FieldNames,
                meta: dict[str, Any], html_format: str = "html") -> RawRecord | Reject:
    """The record of item `n` of file `f`, or its reject; `where` names it in a reason
    ("line 3", "row 2 (line 3)"). `html_format` is how an HTML body is read: "html" for a
    whole page, "html-fragment" for post content."""
    keys = {key.casefold(): key for key in reversed(list(item))}  # the first spelling wins
    body, fmt, empty = None, None, None
    for kind, fields in (("text", names.text), ("html", names.html)):
        for name in fields:
            key = keys.get(name.casefold())
            if key is None or not isinstance(item[key], str):
                continue
            if item[key].strip():
                body, fmt = key, kind
                break
            empty = empty or key
        if body is not None:
            break
    if body is None:
        if empty is not None:
            return reject(f, "EmptyRecord", f'{where} has an empty "{empty}" field', n)
        listed = [*names.text, *names.html]
        return reject(f, "MissingText", f"{where} has no string {_either(listed)} field", n)
    text = item[body]
    if fmt == "html":
        fmt = html_format
    elif _HTML_MARKUP.search(text):
        fmt = "html-fragment"
    metadata = {key: value for key, value in item.items() if key != body}
    for standard in STANDARD:
        if metadata.get(standard) in (None, "", []):
            value = first_listed(metadata, keys, getattr(names, standard))
            if value is not None:
                metadata[standard] = value
    return RawRecord(source=f"{f.source}#{n}", path=f.path, format=fmt, data=text, record_no=n,
                     metadata={**metadata, **meta})


def first_listed(item: Mapping[str, Any], keys: Mapping[str, str], names: list[str]) -> Any:
    """The value of the first of `names` (any case) that `item` has and is not empty."""
    for name in names:
        key = keys.get(name.casefold())
        if key is not None and item.get(key) not in (None, "", []):
            return item[key]
    return None


def _either(names: list[str]) -> str:
    quoted = [f'"{name}"' for name in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]
