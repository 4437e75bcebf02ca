"""A document's standard metadata from its source's fields, by the convention sets in `[metadata]`.

Sources name their fields differently (the WordPress Jekyll Exporter's "post_title",
Hugo's "publishDate", a feed's "pubDate"): each set in `[metadata.sets]` names, for each
standard field, the source fields that carry it. The sets are consulted in the order of
`[metadata] conventions`, after the set named after the record's input format when there
is one (`wxr`); the first source field present and not empty wins, for the
dates the first that reads as one. Values are normalised on the way: HTML entities
decoded, white space collapsed (a folded YAML scalar's final newline), one-item lists
unwrapped, a lone category or tag made a list.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import Any

from ingest.clean.dates import iso_date
from ingest.config import MetadataConfig

# The standard fields every document's metadata has (null when the source has none),
# by the convention field that fills each.
STANDARD_FIELDS = {
    "title": "title",
    "url": "url",
    "canonical_url": "canonical",
    "author": "author",
    "language": "language",
    "modified": "modified",
    "summary": "summary",
    "categories": "categories",
    "tags": "tags",
    "draft": "draft",
}
_TEXT_FIELDS = ("title", "url", "canonical", "language", "summary")
_LIST_FIELDS = ("categories", "tags")
_TRUE = frozenset({"true", "yes", "1", "on"})
_FALSE = frozenset({"false", "no", "0", "off"})


def standard_metadata(metadata: dict[str, Any], config: MetadataConfig) -> dict[str, Any]:
    """The standard fields (`STANDARD_FIELDS`), each from the first source field that has it."""
    keys = config.keys_for(metadata.get("input_format"))
    found: dict[str, Any] = {}
    for name, field in STANDARD_FIELDS.items():
        if field in _TEXT_FIELDS:
            found[name] = _first(metadata, keys[field], text_value)
        elif field in _LIST_FIELDS:
            found[name] = _first(metadata, keys[field], list_value)
        elif field == "author":
            found[name] = _first(metadata, keys[field], author_value)
        elif field == "modified":
            found[name] = _first(metadata, keys[field], date_value)
        else:
            found[name] = draft_flag(metadata, config)
    return found


def created_date(metadata: dict[str, Any], config: MetadataConfig) -> str | None:
    """The publication date (ISO 8601); the modification date when no publication date reads as one."""
    keys = config.keys_for(metadata.get("input_format"))
    return _first(metadata, keys["date"], date_value) or _first(metadata, keys["modified"], date_value)


def page_url(metadata: dict[str, Any], config: MetadataConfig) -> str | None:
    """The page's own address, as the container gave it (an HTML page's base for links)."""
    return _first(metadata, config.keys_for(metadata.get("input_format"))["url"], text_value)


def draft_flag(metadata: dict[str, Any], config: MetadataConfig) -> bool | None:
    """True when the source marks a draft (draft: true, published: false, a draft status);
    False when it says it is not one; None when it says nothing."""
    keys = config.keys_for(metadata.get("input_format"))
    said: bool | None = None
    for key in keys["draft"]:
        if (flag := boolean_value(metadata.get(key))) is not None:
            if flag:
                return True
            said = False
    for key in keys["published"]:
        if (flag := boolean_value(metadata.get(key))) is not None:
            if not flag:
                return True
            said = False
    statuses = {status.casefold() for status in config.draft_statuses}
    for key in keys["status"]:
        if (status := text_value(metadata.get(key))) is not None:
            if status.casefold() in statuses:
                return True
            said = False
    return said


def _first(metadata: dict[str, Any], keys: Iterable[str], normalise) -> Any:
    for key in keys:
        if key in metadata and (value := normalise(metadata[key])) not in (None, "", []):
            return value
    return None


def _unwrap(value: Any) -> Any:
    """A one-item list's item (custom fields of WordPress exports are lists)."""
    while isinstance(value, list) and len(value) == 1:
        value = value[0]
    return value


def text_value(value: Any) -> str | None:
    """One line of text: entities decoded, white space collapsed; None when empty or not text."""
    value = _unwrap(value)
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    text = " ".join(html.unescape(str(value)).split())
    return text or None


def list_value(value: Any) -> list[str] | None:
    """A list of texts; one value becomes a one-item list."""
    items = value if isinstance(value, list) else [value]
    texts = [t for t in (text_value(item) for item in items) if t]
    return texts or None


def author_value(value: Any) -> str | list[str] | None:
    """A name, or a list of names; an author given as a table (Hugo's [author]) by its name."""
    value = _unwrap(value)
    if isinstance(value, dict):
        return text_value(value.get("name"))
    if isinstance(value, list):
        names = [n for n in (author_value(item) for item in value) if isinstance(n, str)]
        return names or None
    return text_value(value)


def date_value(value: Any) -> str | None:
    value = _unwrap(value)
    if isinstance(value, str):
        value = " ".join(html.unescape(value).split())
    return iso_date(value)


def boolean_value(value: Any) -> bool | None:
    value = _unwrap(value)
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        word = value.strip().casefold()
        return True if word in _TRUE else False if word in _FALSE else None
    return None


def merge_missing(metadata: dict[str, Any], extracted: dict[str, Any]) -> None:
    """Fields extracted from the content fill in what the container did not say."""
    for key, value in extracted.items():
        if metadata.get(key) in (None, "", []):
            metadata[key] = value
