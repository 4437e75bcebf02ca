"""A document's standard metadata from its source's fields, by the conventions in `[metadata]`.

Sources name their fields differently (an export's "headline", front matter's
"permalink", a feed's "pubDate"): `[metadata]` in the configuration lists, for each
standard field, the source fields that carry it, in order of preference. The first one
present and not empty wins; for `created`, the first that reads as a date.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ingest.clean.dates import iso_date
from ingest.config import MetadataConfig

# The standard fields every document's metadata has (null when the source has none).
STANDARD_FIELDS = ("title", "url", "author", "language")


def standard_metadata(metadata: dict[str, Any], config: MetadataConfig) -> dict[str, Any]:
    """title, url, author and language, from the first source field that has each."""
    return {name: first_value(metadata, getattr(config, name)) for name in STANDARD_FIELDS}


def created_date(metadata: dict[str, Any], config: MetadataConfig) -> str | None:
    """The publication date (ISO 8601), from the first source field that reads as a date."""
    for key in config.created:
        if key in metadata and (created := iso_date(metadata[key])):
            return created
    return None


def first_value(metadata: dict[str, Any], keys: Iterable[str]) -> Any:
    for key in keys:
        value = metadata.get(key)
        if value not in (None, "", []):
            return value
    return None


def merge_missing(metadata: dict[str, Any], extracted: dict[str, Any]) -> None:
    """Fields extracted from the content fill in what the container did not say."""
    for key, value in extracted.items():
        if metadata.get(key) in (None, "", []):
            metadata[key] = value
