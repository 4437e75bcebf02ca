"""A cleaned batch's words and sketches, spilled with numpy to the workspace and read back."""

from __future__ import annotations

import json
import math
import os
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ingest.config import DedupConfig
from ingest.dedup.marks import texts_word_marks
from ingest.dedup.minhash import MinHasher
from ingest.dedup.pair_rounds import text_classes
from ingest.dedup.passages import texts_winnow
from ingest.dedup.shingles import texts_hashes_and_spans, texts_ngram_hashes
from ingest.workspace import Workspace


class BatchWords:
    """A cleaned batch's words and sketches, spilled with numpy to the workspace, where
    dedup, passage search and writing read them (`SpilledWords`): "ids" (JSON), "tokens"
    (word hashes) with "offsets" (where each document's start), "marks" (which words
    are figures and names, by "offsets" too), "classes" (each document's text class,
    `pair_rounds.text_class`), "signatures" (MinHash), and for passages "spans" (character
    offsets of the words, by "offsets" too), "grams" (n-gram hashes) with "gram-offsets"
    and "anchors" with "anchor-offsets"."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.arrays: dict[str, list[np.ndarray]] = defaultdict(list)
        # Per kind of rows: how many each document has, where "offsets" and the like come from.
        self.counts: dict[str, list[np.ndarray]] = defaultdict(list)

    def add(self, ids: list[str], texts: list[str], config: DedupConfig, hasher: MinHasher) -> None:
        """The words and sketches of documents `ids` with clean `texts`, made for all of
        them at once (`texts_hashes_and_spans` and the like): the fixed cost of numpy
        calls, not the work, dominated one document."""
        tokens, spans, offsets = texts_hashes_and_spans(texts)
        ngrams, gram_offsets = texts_ngram_hashes(tokens, offsets, config.shingle_size)
        self.ids.extend(ids)
        self._rows("tokens", tokens, offsets)
        marks = texts_word_marks(texts, spans, tokens, offsets, config.figure_words, config.not_names)
        self.arrays["marks"].append(marks)
        self.arrays["classes"].append(text_classes(tokens, marks, offsets))
        self.arrays["signatures"].append(hasher.signatures(ngrams, gram_offsets))
        passages = config.passages
        if passages.enabled:
            # Passages are made of the shingles' n-grams when their n is the shingle size.
            if passages.ngram != config.shingle_size:
                ngrams, gram_offsets = texts_ngram_hashes(tokens, offsets, passages.ngram)
            # A document below n words has no passage n-grams.
            long = np.diff(offsets) >= passages.ngram
            ngrams = ngrams[np.repeat(long, np.diff(gram_offsets))]
            gram_offsets = np.concatenate(([0], np.cumsum(np.diff(gram_offsets) * long)))
            self.arrays["spans"].append(spans)
            self._rows("grams", ngrams, gram_offsets)
            self._rows("anchors", *texts_winnow(ngrams, gram_offsets, passages))

    def _rows(self, kind: str, rows: np.ndarray, offsets: np.ndarray) -> None:
        self.arrays[kind].append(rows)
        self.counts[kind].append(np.diff(offsets))

    def save(self, workspace: Workspace, batch: int) -> None:
        for kind, rows in (("offsets", "tokens"), ("anchor-offsets", "anchors"), ("gram-offsets", "grams")):
            np.save(workspace.words(batch, kind), _offsets(self.counts[rows]))
        for kind, empty in (("tokens", np.empty(0, np.uint32)), ("signatures", np.empty((0, 0), np.uint32)),
                            ("spans", np.empty((0, 2), np.uint32)), ("anchors", np.empty(0, np.uint64)),
                            ("marks", np.empty(0, np.uint8)), ("grams", np.empty(0, np.uint64)),
                            ("classes", np.empty(0, np.int64))):
            parts = self.arrays[kind]
            np.save(workspace.words(batch, kind), np.concatenate(parts) if parts else empty)
        workspace.words(batch, "ids").write_text(json.dumps(self.ids), encoding="utf-8")


def _offsets(counts: list[np.ndarray]) -> np.ndarray:
    """Where each document's rows start, and the total, from the rows of each."""
    return np.concatenate(([0], np.cumsum(np.concatenate(counts) if counts else [], dtype=np.int64)))


# Where the documents of a batch start in each kind of spilled rows.
_ROW_OFFSETS = {"tokens": "offsets", "spans": "offsets", "anchors": "anchor-offsets", "grams": "gram-offsets", "marks": "offsets"}


@dataclass(frozen=True)
class _RowFile:
    """An open spilled array of one batch, read by document with pread."""

    fd: int
    start: int  # where the data starts in the file
    dtype: np.dtype
    inner: tuple[int, ...]  # the shape of one row
    width: int  # bytes of one row
    offsets: Sequence[int]  # where each document's rows start, and the total


class SpilledWords:
    """Reads the spilled words of any batch by (batch, row).

    A document's rows are read with pread, not through a memory mapping: pages read
    from a mapping stay in the process's memory while it is mapped, and dedup, passage
    search and writing each read a scattered part of every batch (measured at 100,000
    documents: 149 MB in the flow's process, 200 MB in each worker). Only the small
    offset arrays are mapped. `close` closes the files.
    """

    def __init__(self, workspace: Workspace) -> None:
        self._workspace = workspace
        self._arrays: dict[tuple[int, str], Any] = {}
        self._files: dict[tuple[int, str], _RowFile] = {}

    def array(self, batch: int, kind: str):
        key = (batch, kind)
        if key not in self._arrays:
            path = self._workspace.words(batch, kind)
            # A plain array over the mapping: slicing a numpy.memmap costs ten times more.
            self._arrays[key] = (json.loads(path.read_text(encoding="utf-8")) if kind == "ids"
                                 else np.asarray(np.load(path, mmap_mode="r")))
        return self._arrays[key]

    def tokens(self, batch: int, row: int) -> np.ndarray:
        return self._read(batch, "tokens", row)

    def spans(self, batch: int, row: int) -> np.ndarray:
        return self._read(batch, "spans", row)

    def anchors(self, batch: int, row: int) -> np.ndarray:
        return self._read(batch, "anchors", row)

    def grams(self, batch: int, row: int) -> np.ndarray:
        return self._read(batch, "grams", row)

    def marks(self, batch: int, row: int) -> np.ndarray:
        return self._read(batch, "marks", row)

    def signature(self, batch: int, row: int) -> np.ndarray:
        """One document's MinHash signature, read alone (when the central steps spill)."""
        return self._read(batch, "signatures", row)[0]

    def _read(self, batch: int, kind: str, row: int) -> np.ndarray:
        rows = self._files.get((batch, kind)) or self._open(batch, kind)
        lo, hi = int(rows.offsets[row]), int(rows.offsets[row + 1])
        found = np.frombuffer(os.pread(rows.fd, rows.width * (hi - lo), rows.start + rows.width * lo), rows.dtype)
        return found.reshape(-1, *rows.inner) if rows.inner else found

    def _open(self, batch: int, kind: str) -> _RowFile:
        path = self._workspace.words(batch, kind)
        header = np.load(path, mmap_mode="r")  # where the data starts, its type and shape
        inner = header.shape[1:]
        # A signature is one row a document. The mapped offsets, not a list of them: the
        # flow's process reads some rows of every batch (36 bytes a document a list).
        offsets = range(len(header) + 1) if kind == "signatures" else self.array(batch, _ROW_OFFSETS[kind])
        self._files[(batch, kind)] = rows = _RowFile(
            os.open(path, os.O_RDONLY), header.offset, header.dtype, inner, header.dtype.itemsize * math.prod(inner),
            offsets)
        return rows

    def close(self) -> None:
        for rows in self._files.values():
            os.close(rows.fd)
        self._files.clear()
        self._arrays.clear()

    def id(self, batch: int, row: int) -> str:
        return self.array(batch, "ids")[row]

    def classes(self, batch: int) -> np.ndarray:
        """A batch's text classes (`pair_rounds.text_class`), one a document."""
        return self.whole(batch, "classes")

    def signatures(self, batch: int) -> np.ndarray:
        """All of a batch's MinHash signatures: every one is used, so read at once."""
        return self.whole(batch, "signatures")

    def whole(self, batch: int, kind: str) -> np.ndarray:
        """All of a batch's rows of one kind, read at once (not mapped: see the class)."""
        return np.load(self._workspace.words(batch, kind))
