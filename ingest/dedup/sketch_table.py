"""A run's sketches as columns, in the flow's process: a few numbers and strings a document.

`Sketch` objects, a million of them with their word arrays' views, held about 500
bytes a document beyond their strings. Here a document is its id's position, its
length, batch and row in arrays, its created and added strings, and its source packed
(`Sources`); its `Sketch` is made again when asked for, its words read by (batch, row)
from where the workers spilled them.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterator, Mapping

import numpy as np

from ingest.dedup.minhash import Sketch
from ingest.dedup.shingles import NO_HASHES


class Sources:
    """Each document's source, packed: a reader names a record "FILE#N" (its number in
    the file), and the string, about 120 bytes a document with a path, is held as the
    file's index among the distinct files and N, 12 bytes; any other source is held
    whole among the distinct ones, with N -1. Read back, equal to the string added."""

    def __init__(self) -> None:
        self._distinct: list[str] = []
        self._index: dict[str, int] = {}
        self._of, self._record = array("i"), array("q")

    def append(self, source: str) -> None:
        file, sep, n = source.rpartition("#")
        if sep and n.isascii() and n.isdigit() and (n == "0" or n[0] != "0"):
            self._record.append(int(n))
        else:  # not a numbered record: held whole
            file = source
            self._record.append(-1)
        index = self._index.get(file)
        if index is None:
            index = self._index[file] = len(self._distinct)
            self._distinct.append(file)
        self._of.append(index)

    def __getitem__(self, p: int) -> str:
        file, n = self._distinct[self._of[p]], self._record[p]
        return file if n < 0 else f"{file}#{n}"

    def __len__(self) -> int:
        return len(self._of)


class SketchTable(Mapping[str, Sketch]):
    """id -> `Sketch`, holding columns; each `Sketch` is made when read, its `tokens` by
    `tokens_of(batch, row)` and without its signature (read by (batch, row) too)."""

    def __init__(self, tokens_of: Callable[[int, int], np.ndarray]) -> None:
        self._tokens_of = tokens_of
        self.position: dict[str, int] = {}  # id -> row of the columns
        self._length, self._batch, self._row = array("q"), array("i"), array("i")
        self._created: list[str | None] = []
        self._added: list[str] = []
        self._source = Sources()

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
