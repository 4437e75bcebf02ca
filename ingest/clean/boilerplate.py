"""Learned boilerplate: lines repeated across many documents of one site, feed or folder.

Documents are grouped by source (`source_group`: the URL's host, else the JSONL or WARC
file, else the folder). A line (as `line_key` folds it) that appears in at least
`min_documents` documents and `min_fraction` of its group's documents is learned, and
removed from that group's documents under the rule name "boilerplate" (but for code
lines, headings over text that stays, and a document's whole text: `clean_record`,
`Cleaner.clean`). Lines are counted per batch, in the workers, as hashes; learning is
central.
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any, Protocol

import numpy as np
import xxhash

from ingest.arrays import unique_counts, unique_inverse
from ingest.clean.layout import line_keys
from ingest.config import BoilerplateConfig, Config
from ingest.document import RawRecord


def source_group(record: RawRecord, metadata: dict[str, Any]) -> str:
    """Documents of one site or feed share boilerplate: group by URL host, else by folder."""
    url = metadata.get("url")
    if isinstance(url, str) and "://" in url:
        host = url.split("://", 1)[1].split("/", 1)[0].lower()
        if host:
            return host
    if record.record_no is not None:
        return record.path  # records of one JSONL/WARC file come from one feed
    return os.path.dirname(record.path)


def line_hashes(keys: list[str]) -> list[int]:
    """A 64-bit hash of each line key, without a Python call per key."""
    return list(map(xxhash.xxh3_64_intdigest, map(str.encode, keys)))


class LineTally:
    """Lines counted over one batch: per source group, how many documents, and in how many
    documents each line appears, as (line hashes, documents) arrays: a dict or Counter of
    millions of lines costs the flow's process 120 MB at 100,000 documents."""

    def __init__(self, config: BoilerplateConfig) -> None:
        self._config = config
        self.group_docs: Counter = Counter()
        self._lines: dict[str, list[int]] = defaultdict(list)  # each line once per document

    def add(self, group: str, text: str) -> None:
        """Count the lines of one document's `text`, as `normalise_layout` returned it."""
        self.group_docs[group] += 1
        if self._config.enabled:
            most = self._config.max_line_chars
            self._lines[group].extend(line_hashes([k for k in set(line_keys(text)) if k and len(k) <= most]))

    def line_docs(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        return {group: unique_counts(np.array(hashes, dtype=np.uint64))
                for group, hashes in self._lines.items()}


class CountedLines(Protocol):
    """A batch's line counts, as its summary carries them back from a worker."""

    group_docs: Counter
    line_docs: dict[str, tuple[np.ndarray, np.ndarray]]


def learn_boilerplate(summaries: Iterable[CountedLines], config: Config) -> set[tuple[str, int]]:
    """(group, line hash) pairs frequent enough in their group to be boilerplate."""
    bp = config.clean.boilerplate
    if not bp.enabled:
        return set()
    group_docs: Counter = Counter()
    counted: dict[str, list[tuple[np.ndarray, np.ndarray]]] = defaultdict(list)
    for s in summaries:
        group_docs.update(s.group_docs)
        for group, lines in s.line_docs.items():
            counted[group].append(lines)
    learned: set[tuple[str, int]] = set()
    for group, parts in counted.items():
        hashes, where = unique_inverse(np.concatenate([h for h, _ in parts]))
        docs = np.bincount(where, weights=np.concatenate([n for _, n in parts]))
        frequent = hashes[docs >= max(bp.min_documents, bp.min_fraction * group_docs[group])]
        learned.update((group, h) for h in frequent.tolist())
    return learned


class LearnedLines:
    """The learned boilerplate (`learn_boilerplate`'s pairs), looked up by group."""

    def __init__(self, boilerplate: set[tuple[str, int]]) -> None:
        self._by_group: dict[str, set[int]] = defaultdict(set)
        for group, h in boilerplate:
            self._by_group[group].add(h)

    def of(self, text: str, group: str, max_chars: int) -> set[str]:
        """The line keys of `text` (as `normalise_layout` returned it) that were learned
        as its group's boilerplate. Lines are hashed all at once and looked up with
        one set intersection; keys are made again only for the lines it found."""
        learned = self._by_group.get(group)
        if not learned:
            return set()
        keys = line_keys(text)
        hashes = line_hashes(keys)
        if learned.isdisjoint(hashes):
            return set()
        return {k for k, h in zip(keys, hashes) if h in learned and k and len(k) <= max_chars}
