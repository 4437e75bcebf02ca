"""A run's sketches as columns, in the flow's process: a few numbers and strings a document.

`Sketch` objects, a million of them with their word arrays' views, held about 500
bytes a document beyond their strings. Here a document is its id's position, its
length, batch and row in arrays, and its created, added and source strings; its
`Sketch` is made again when asked for, its words read by (batch, row) from where the
workers spilled them.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterator, Mapping

import numpy as np

from ingest.dedup.minhash import Sketch
from ingest.dedup.shingles import NO_HASHES


class SketchTable(Mapping[str, Sketch]):
    """id -> `Sketch`, holding columns; each `Sketch` is made when read, its `tokens` by
    `tokens_of(batch, row)` and without its signature (read by (batch, row) too)."""

    def __init__(self, tokens_of: Callable[[int, int], np.ndarray]) -> None:
        self._tokens_of = tokens_of
        self.position: dict[str, int] = {}  # id -> row of the columns
        self._length, self._batch, self._row = array("q"), array("i"), array("i")
        self._created: list[str | None] = []
        self._added: list[str] = []
        self._source: list[str] = []

    def add(self, s: Sketch) -> None:
        self.position[s.id] = len(self._length)
        self._length.append(s.length)
        self._batch.append(s.batch)
        self._row.append(s.row)
        self._created.append(s.created)
        self._added.append(s.added)
        self._source.append(s.source)

    def __getitem__(self, doc_id: str) -> Sketch:
        p = self.position[doc_id]
        batch, row = self._batch[p], self._row[p]
        return Sketch(doc_id, self._length[p], self._created[p], self._added[p], self._source[p],
                      self._tokens_of(batch, row), NO_HASHES, batch, row)

    def location(self, doc_id: str) -> tuple[int, int]:
        """A document's (batch, row)."""
        p = self.position[doc_id]
        return self._batch[p], self._row[p]

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self.position

    def __iter__(self) -> Iterator[str]:
        return iter(self.position)

    def __len__(self) -> int:
        return len(self.position)
