"""Documents of earlier runs, as dedup meets them through the index (`ingest/index/`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ingest.dedup.marks import word_marks
from ingest.dedup.shingles import hashes_and_spans


@dataclass(frozen=True)
class IndexedDocument:
    """What an index keeps of one document: what the keep policy needs, and its decision."""

    id: str
    kept_id: str  # the id kept for its cluster (itself when kept)
    similarity: float | None  # aligned-word similarity with `duplicate_of`, when a duplicate
    created: str | None
    added: str
    length: int
    source: str
    # The document this one was verified against: the kept one, or another copy of the
    # cluster on a path of verified pairs to it (itself when kept). None: `kept_id`, as
    # documents of a format 1 index were linked.
    duplicate_of: str | None = None

    def __post_init__(self) -> None:
        if self.duplicate_of is None:
            object.__setattr__(self, "duplicate_of", self.kept_id)


class PriorIndex(Protocol):
    """What dedup asks of an index of earlier runs' documents (`ingest/index/`)."""

    def known(self, ids: Iterable[str]) -> dict[str, IndexedDocument]:
        """The documents among `ids` that the index holds already."""

    def candidates(self, keys: Sequence[int]) -> list[IndexedDocument]:
        """The documents in the LSH buckets with these band keys."""

    def has_duplicates(self, doc_id: str) -> bool:
        """Whether a kept document has copies in the index."""

    def text(self, doc_id: str) -> str:
        """A document's clean text, for the exact check."""


class PriorDocuments:
    """Documents of earlier runs met as candidates, with their words loaded once."""

    def __init__(self, state: PriorIndex | None, marked_words: tuple[Sequence[str], Sequence[str]] = ((), ())) -> None:
        """`marked_words`: `word_marks`'s figure words and words that are never names."""
        self._state = state
        self._marked_words = marked_words
        self.active = state is not None
        self._words: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.seen: dict[str, IndexedDocument] = {}

    def candidates(self, keys: list[int]) -> list[IndexedDocument]:
        if self._state is None:
            return []
        docs = self._state.candidates(keys)
        self.seen.update((d.id, d) for d in docs)
        return docs

    def kept(self, doc: IndexedDocument) -> IndexedDocument:
        if doc.kept_id == doc.id:
            return doc
        if doc.kept_id not in self.seen:
            self.seen.update(self._state.known([doc.kept_id]))
        return self.seen[doc.kept_id]

    def links(self, docs: Iterable[IndexedDocument]) -> list[tuple[str, str, float]]:
        """The links (id, duplicate_of, similarity) that the index holds from `docs` on
        to their kept documents, each a pair verified when it was indexed."""
        out: list[tuple[str, str, float]] = []
        pending, done = list(docs), set()
        while pending:
            doc = pending.pop()
            if doc.id in done or doc.kept_id == doc.id:
                continue
            done.add(doc.id)
            if doc.duplicate_of not in self.seen:
                self.seen.update(self._state.known([doc.duplicate_of]))
            target = self.seen.get(doc.duplicate_of)
            if target is None or target.kept_id != doc.kept_id:
                # A link the index does not hold (it is never deleted from): the kept
                # document, as format 1 linked every copy. Only connects, is not reported.
                target = self.kept(doc)
            out.append((doc.id, target.id, doc.similarity or 0.0))
            pending.append(target)
        return out

    def words(self, doc_id: str) -> tuple[np.ndarray, np.ndarray]:
        """A document's word hashes and their `word_marks`, from its indexed text."""
        if doc_id not in self._words:
            text = self._state.text(doc_id)
            tokens, spans = hashes_and_spans(text)
            self._words[doc_id] = tokens, word_marks(text, spans, tokens, *self._marked_words)
        return self._words[doc_id]

    def has_duplicates(self, doc_id: str) -> bool:
        return self._state.has_duplicates(doc_id)
