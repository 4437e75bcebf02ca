"""What every index stores and checks: its format version and the settings that shape band keys.

An index made with other MinHash or banding settings (`num_perm`, `bands`, `rows`,
`seed`, `shingle_size`) cannot answer for this config: its band keys would never
match. Opening one is an error naming the settings that differ.
"""

from __future__ import annotations

from ingest.config import DedupConfig
from ingest.dedup.prior import IndexedDocument

FORMAT_VERSION = 2
# Formats opened and migrated in place: a column added, its missing value meaning kept_id.
MIGRATED_FORMATS = ("1",)


# Settings that change the band keys: an index built with others cannot be queried.
_KEYED_SETTINGS = ("num_perm", "bands", "rows", "seed", "shingle_size")


def index_settings(config: DedupConfig) -> dict[str, str]:
    """What an index records of the settings it was built with: its band keys hold only
    for the same ones."""
    return {"format_version": str(FORMAT_VERSION)} | {k: str(getattr(config, k)) for k in _KEYED_SETTINGS}


def check_settings(stored: dict[str, str], config: DedupConfig, shown_as: str) -> str:
    """The stored format version (FORMAT_VERSION, or one to migrate from); StateError when
    the index has another format or was built with other settings than `config`'s."""
    version = stored.get("format_version")
    if version != str(FORMAT_VERSION) and version not in MIGRATED_FORMATS:
        raise StateError(f"{shown_as}: index format {version} is not {FORMAT_VERSION}")
    differing = [f"{k} {stored.get(k)} (config says {v})" for k, v in index_settings(config).items()
                 if k != "format_version" and stored.get(k) != v]
    if differing:
        raise StateError(f"{shown_as}: index was built with other dedup settings: " + ", ".join(differing))
    return version


class StateError(Exception):
    """The state folder cannot be used; the message says why."""


def stored_link(doc: IndexedDocument) -> str | None:
    """`duplicate_of` as both indexes store it: absent when it is the kept document."""
    return None if doc.duplicate_of == doc.kept_id else doc.duplicate_of
