"""The pipeline's stages as plain functions over batches, usable without Prefect.

A run goes through three phases, each over batches of input files, with a central
step between them:

1. `prepare_batch`: read, decode, extract (HTML, Markdown) and repair encoding; the
   prepared records are spilled to the run's workspace, and the batch reports which
   lines each source group repeats (for learned boilerplate).
   `learn_boilerplate` (central): lines repeated across many documents of a group.
2. `clean_batch`: artefact rules and learned boilerplate, with the audit trail;
   MinHash sketches for dedup.
   `deduplicate` (central): verified near-duplicate clusters and reused passages.
3. `write_outputs`: documents, duplicates, rejects and the report, written atomically.

`run` strings them together; its `mapper` decides where batches run: in this process
by default, as Prefect tasks in `flows/`.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import functools
import hashlib
import heapq
import json
import math
import os
import shutil
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xxhash

from ingest import __version__
from ingest.clean import Cleaner, CleanResult, line_key, normalise_layout
from ingest.config import Config, PassageConfig, RunConfig
from ingest.dates import iso_date
from ingest.decode import decode_bytes, repair_text
from ingest.dedup import (NO_CLUSTER, Decision, DedupResult, Deduplicator, MinHasher, Sketch, hashes_and_spans,
                          ngram_hashes, sketch)
from ingest.document import Document, RawRecord, Reject, document_id
from ingest.extract import extract_html, extract_markdown
from ingest.heap import collection_paused
from ingest.index import open_index, settle
from ingest.passages import candidate_pairs, grams, match_pairs, min_shared_anchors, stories, winnow
from ingest.read import InputFile, discover, read_records
from ingest.state import StateIndex
from ingest.write import atomic_writer, dumps, read_jsonl, write_json, write_jsonl

# Source fields that name a document's standard metadata, in order of preference.
_FIELD_ALIASES = {
    "title": ("title", "headline", "name"),
    "url": ("url", "link", "permalink", "canonical_url", "uri"),
    "author": ("author", "authors", "byline", "creator"),
    "language": ("language", "lang", "locale"),
}
_DATE_FIELDS = ("created", "date", "published", "published_at", "publish_date", "pubDate",
                "datePublished", "date_published", "timestamp", "time")
_MIN_BATCH_BYTES = 2**20
# Each phase waits for its last batch: with about eight batches a worker, the last
# round leaves a core idle for about an eighth of a phase at most. The batches of a
# phase are grouped into a few tasks (flows/ingest_flow.py), so their number costs no
# task overhead.
_BATCHES_PER_WORKER = 8


@dataclass(frozen=True)
class Workspace:
    """The run's scratch folder for spilled batches; removed when the run completes."""

    root: Path

    def prepared(self, batch: int) -> Path:
        return self.root / f"prepared-{batch:05d}.jsonl"

    def cleaned(self, batch: int) -> Path:
        return self.root / f"cleaned-{batch:05d}.jsonl"

    def rejects(self, batch: int, phase: str) -> Path:
        return self.root / f"rejects-{phase}-{batch:05d}.jsonl"

    def words(self, batch: int, kind: str) -> Path:
        """A cleaned batch's spilled words and sketches, of one `kind` (see BatchWords)."""
        return self.root / f"{kind}-{batch:05d}.{'json' if kind == 'ids' else 'npy'}"

    def part(self, batch: int, name: str) -> Path:
        """One batch's share of an output file ("documents" or "duplicates")."""
        return self.root / f"{name}-{batch:05d}.jsonl"

    def create(self) -> None:
        if self.root.exists():
            shutil.rmtree(self.root)  # left by a crashed run: its batches are redone
        self.root.mkdir(parents=True)

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


@dataclass
class PrepareSummary:
    batch: int
    inputs: int = 0
    rejected: int = 0
    bytes_read: int = 0
    seconds: float = 0.0
    # Per source group: how many documents, and in how many documents each line appears,
    # as (line hashes, documents) arrays: a dict or Counter of millions of lines costs
    # the flow's process 120 MB at 100,000 documents.
    group_docs: Counter = field(default_factory=Counter)
    line_docs: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)


@dataclass
class CleanSummary:
    batch: int
    # Per document, in row order: id, characters of clean text, created, source. Its
    # word hashes, MinHash signature and anchors are spilled (`BatchWords`): numpy
    # arrays by the thousand cost more to pass back from a task than to read again.
    documents: list[tuple[str, int, str | None, str]]
    rejected: int = 0
    removals: Counter = field(default_factory=Counter)  # rule -> count
    removed_chars: Counter = field(default_factory=Counter)  # rule -> characters
    repairs: Counter = field(default_factory=Counter)  # repair -> count
    seconds: float = 0.0


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def plan_batches(files: Sequence[InputFile], config: RunConfig, workers: int) -> list[list[InputFile]]:
    """Split the inputs into batches, in order, without splitting a file.

    About eight batches per worker, so that one slow batch does not leave a core idle,
    and a multiple of the workers, so that the last round of a phase keeps them all
    busy (17 batches on 2 workers left one idle for a batch's time in every phase);
    never more than `batch_files` files or `batch_bytes` bytes in one (memory), nor
    batches so small that task overhead dominates (1 MB). Whole files make even shares
    uneven: of a few counts from there, the one whose batches, handed in order to the
    next free worker, finish first (bytes standing for time); the fewest on a tie.
    """
    workers = max(workers, 1)
    total = sum(f.size for f in files)
    least = max(1, min(_BATCHES_PER_WORKER * workers, total // _MIN_BATCH_BYTES), -(-total // config.batch_bytes))
    least = -(-least // workers) * workers
    plans = [_cut(files, total / count, config) for count in range(least, least + 4 * workers + 1, workers)]
    return min(plans, key=lambda batches: (_finish(batches, workers), len(batches)))


def _finish(batches: list[list[InputFile]], workers: int) -> int:
    """When the last of `batches` ends, in bytes, each going to the first free worker."""
    free = [0] * workers
    for batch in batches:
        heapq.heapreplace(free, free[0] + sum(f.size for f in batch))
    return max(free)


def _cut(files: Sequence[InputFile], share: float, config: RunConfig) -> list[list[InputFile]]:
    """Batches that end where the running total of bytes passes a multiple of `share`."""
    batches: list[list[InputFile]] = []
    current: list[InputFile] = []
    size = done = 0
    for f in files:
        past_share = done + f.size / 2 > share * (len(batches) + 1)
        if current and (past_share or len(current) >= config.batch_files or size + f.size > config.batch_bytes):
            batches.append(current)
            current, size = [], 0
        current.append(f)
        size += f.size
        done += f.size
    if current:
        batches.append(current)
    return batches


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


def _line_hash(key: str) -> int:
    return xxhash.xxh3_64_intdigest(key.encode())


# ---------------------------------------------------------------- phase 1: prepare


def prepare_record(record: RawRecord, config: Config) -> dict[str, Any]:
    """Decode, extract and repair one record; raises DecodeError/ExtractError on bad input."""
    repairs: list[dict] = []
    encoding = record.encoding
    if isinstance(record.data, bytes):
        decoded = decode_bytes(record.data, record.encoding)
        text, encoding = decoded.text, decoded.encoding
        repairs.extend(decoded.repairs)
    else:
        text = record.data
    metadata: dict[str, Any] = dict(record.metadata)
    if record.format == "html":
        extracted = extract_html(text, config.html, url=_first(metadata, _FIELD_ALIASES["url"]))
        text = extracted.text
        _merge_known(metadata, extracted.metadata)
    elif record.format == "markdown":
        extracted = extract_markdown(text, config.html)
        text = extracted.text
        _merge_known(metadata, extracted.metadata)
    text, text_repairs = repair_text(text, config.decode)
    repairs.extend(text_repairs)
    # The layout the rules and boilerplate learning see; the audit offsets refer to it.
    text = normalise_layout(text)
    created = None
    for key in ("created",) + _DATE_FIELDS:
        if key in metadata and (created := iso_date(metadata[key])):
            break
    standard = {name: _first(metadata, aliases) for name, aliases in _FIELD_ALIASES.items()}
    metadata.pop("created", None)  # a top-level field of the document, not metadata
    return {
        "id": document_id(record.source, record.content_hash),
        "source": record.source,
        "text": text,
        "created": created,
        "metadata": {**metadata, **standard, "input_format": metadata.get("input_format", record.format),
                     "encoding": encoding},
        "repairs": repairs,
        "group": source_group(record, standard),
        "path": record.path,
        "record_no": record.record_no,
    }


def _first(metadata: dict[str, Any], keys: Iterable[str]) -> Any:
    for key in keys:
        value = metadata.get(key)
        if value not in (None, "", []):
            return value
    return None


def _merge_known(metadata: dict[str, Any], extracted: dict[str, Any]) -> None:
    """Fields extracted from the content fill in what the container did not say."""
    for key, value in extracted.items():
        if metadata.get(key) in (None, "", []):
            metadata[key] = value


def _reject_from(record: RawRecord, exc: Exception) -> Reject:
    where = record.source
    message = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
    return Reject(where, f"{where}: {message}", exc.__class__.__name__, record.path, record.record_no)


def prepare_batch(batch: int, files: Sequence[InputFile], config: Config, workspace: Workspace) -> PrepareSummary:
    started = time.perf_counter()
    summary = PrepareSummary(batch)
    rejects: list[dict] = []
    prepared_rows: list[dict] = []
    bp = config.clean.boilerplate
    group_lines: dict[str, list[int]] = defaultdict(list)  # each line once per document
    for f in files:
        summary.bytes_read += f.size
        for item in read_records(f, config.read):
            summary.inputs += 1
            if isinstance(item, Reject):
                rejects.append(item.to_json())
                continue
            # Bad input (DecodeError, ExtractError) and a bug on one record alike: the
            # record becomes a reject and the others go on.
            try:
                row = prepare_record(item, config)
            except Exception as exc:
                rejects.append(_reject_from(item, exc).to_json())
                continue
            prepared_rows.append(row)
            group = row["group"]
            summary.group_docs[group] += 1
            if bp.enabled:
                keys = {line_key(line) for line in row["text"].split("\n")}
                group_lines[group].extend(_line_hash(k) for k in keys if k and len(k) <= bp.max_line_chars)
    summary.line_docs = {group: np.unique(np.array(hashes, dtype=np.uint64), return_counts=True)
                         for group, hashes in group_lines.items()}
    write_jsonl(workspace.prepared(batch), prepared_rows)
    write_jsonl(workspace.rejects(batch, "prepare"), rejects)
    summary.rejected = len(rejects)
    summary.seconds = time.perf_counter() - started
    return summary


def learn_boilerplate(summaries: Iterable[PrepareSummary], config: Config) -> set[tuple[str, int]]:
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
        hashes, where = np.unique(np.concatenate([h for h, _ in parts]), return_inverse=True)
        docs = np.bincount(where, weights=np.concatenate([n for _, n in parts]))
        frequent = hashes[docs >= max(bp.min_documents, bp.min_fraction * group_docs[group])]
        learned.update((group, h) for h in frequent.tolist())
    return learned


# ---------------------------------------------------------------- phase 2: clean


def clean_text(text: str, cleaner: Cleaner, config: Config, known: Iterable[str] = (),
               boilerplate: Iterable[str] = ()) -> tuple[CleanResult, list[dict]]:
    """Artefact rules, then encoding repair once more: a cut can join characters into
    something that reads as mojibake ("Â[ad_1] 0" -> "Â 0"), and a rerun over the
    output must not find anything left to do."""
    result = cleaner.clean(text, known=set(known), boilerplate=set(boilerplate))
    repaired, repairs = repair_text(result.text, config.decode)
    if repaired != result.text:
        result = CleanResult(normalise_layout(repaired), result.removals, result.fields)
    return result, repairs


def clean_batch(batch: int, config: Config, workspace: Workspace, boilerplate: set[tuple[str, int]],
                added: str) -> CleanSummary:
    started = time.perf_counter()
    cleaner = Cleaner(config.clean)
    hasher = MinHasher(config.dedup.num_perm, config.dedup.seed)
    bp = config.clean.boilerplate
    summary = CleanSummary(batch, [])
    passages = config.dedup.passages if config.dedup.passages.enabled else None
    # Passages are made of the shingles' n-grams when their n is the shingle size (3 % of the phase).
    same_grams = passages is not None and passages.ngram == config.dedup.shingle_size
    words = BatchWords()
    documents: list[dict] = []
    rejects: list[dict] = []
    for row in read_jsonl(workspace.prepared(batch)):
        doc_boilerplate = _boilerplate_lines(row["text"], row["group"], boilerplate, bp.max_line_chars)
        metadata = row["metadata"]
        known = {k for k in ("title", "author", "url") if metadata.get(k)}
        result, late_repairs = clean_text(row["text"], cleaner, config, known, doc_boilerplate)
        removed = [r.to_json() for r in result.removals]
        if not result.text:
            rules = ", ".join(sorted({r.rule for r in result.removals})) or "whitespace"
            rejects.append(Reject(row["source"], f"{row['source']}: no text left after cleaning (removed by: {rules})",
                                  "EmptyAfterCleaning", row["path"], row["record_no"]).to_json()
                           | {"removed": removed})
            continue
        created = row["created"]
        for name, value in result.fields.items():
            if name == "created":
                created = created or iso_date(value)
            elif not metadata.get(name):
                metadata[name] = value
        doc = Document(
            id=row["id"], source=row["source"], text=result.text, added=added, created=created,
            metadata=metadata, cleaning={"removed": removed, "repairs": row["repairs"] + late_repairs},
        )
        for r in result.removals:
            summary.removals[r.rule] += 1
            summary.removed_chars[r.rule] += len(r.text)
        for repair in row["repairs"] + late_repairs:
            summary.repairs[repair["rule"]] += repair.get("count", 1)
        documents.append(doc.to_json())
        tokens, spans = hashes_and_spans(doc.text)
        ngrams = ngram_hashes(tokens, config.dedup.shingle_size)
        s = sketch(doc.id, doc.text, doc.created, added, doc.source, config.dedup, hasher, tokens, ngrams)
        words.add(s, spans, passages, ngrams if same_grams and len(tokens) >= passages.ngram else None)
        summary.documents.append((doc.id, len(doc.text), doc.created, doc.source))
    write_jsonl(workspace.cleaned(batch), documents)
    words.save(workspace, batch)
    write_jsonl(workspace.rejects(batch, "clean"), rejects)
    summary.rejected = len(rejects)
    summary.seconds = time.perf_counter() - started
    return summary


class BatchWords:
    """A cleaned batch's words and sketches, spilled with numpy to the workspace, where
    dedup, passage search and writing read them (`SpilledWords`): "ids" (JSON), "tokens"
    (word hashes) with "offsets" (where each document's start), "shingles" with
    "shingle-offsets", "signatures" (MinHash), and for passages "spans" (character
    offsets of the words, by "offsets" too), "grams" (n-gram hashes) with "gram-offsets"
    and "anchors" with "anchor-offsets"."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.arrays: dict[str, list[np.ndarray]] = defaultdict(list)

    def add(self, s: Sketch, spans: np.ndarray, passages: PassageConfig | None,
            known_grams: np.ndarray | None = None) -> None:
        """`passages`: the passage settings, None when passages are not searched;
        `known_grams`: the document's `grams`, when the caller has them already."""
        self.ids.append(s.id)
        self.arrays["tokens"].append(s.tokens)
        self.arrays["signatures"].append(s.signature)
        self.arrays["shingles"].append(s.shingles)
        if passages is not None:
            found = known_grams if known_grams is not None else grams(s.tokens, passages)
            self.arrays["spans"].append(spans)
            self.arrays["grams"].append(found)
            self.arrays["anchors"].append(winnow(found, passages))

    def save(self, workspace: Workspace, batch: int) -> None:
        for kind, parts in (("offsets", "tokens"), ("anchor-offsets", "anchors"), ("shingle-offsets", "shingles"),
                            ("gram-offsets", "grams")):
            np.save(workspace.words(batch, kind), _offsets(self.arrays[parts]))
        for kind, empty in (("tokens", np.empty(0, np.uint32)), ("signatures", np.empty((0, 0), np.uint32)),
                            ("spans", np.empty((0, 2), np.uint32)), ("anchors", np.empty(0, np.uint64)),
                            ("shingles", np.empty(0, np.uint64)), ("grams", np.empty(0, np.uint64))):
            parts = self.arrays[kind]
            joined = (np.stack(parts) if kind == "signatures" else np.concatenate(parts)) if parts else empty
            np.save(workspace.words(batch, kind), joined)
        workspace.words(batch, "ids").write_text(json.dumps(self.ids), encoding="utf-8")


def _offsets(parts: list[np.ndarray]) -> np.ndarray:
    """Where each part starts in their concatenation, and the total."""
    return np.concatenate(([0], np.cumsum([len(p) for p in parts], dtype=np.int64)))


# Where the documents of a batch start in each kind of spilled rows.
_ROW_OFFSETS = {"spans": "offsets", "anchors": "anchor-offsets", "grams": "gram-offsets",
                "shingles": "shingle-offsets"}


@dataclass(frozen=True)
class _RowFile:
    """An open spilled array of one batch, read by document with pread."""

    fd: int
    start: int  # where the data starts in the file
    dtype: np.dtype
    inner: tuple[int, ...]  # the shape of one row
    width: int  # bytes of one row
    offsets: list[int]  # where each document's rows start, and the total


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

    def spans(self, batch: int, row: int) -> np.ndarray:
        return self._read(batch, "spans", row)

    def anchors(self, batch: int, row: int) -> np.ndarray:
        return self._read(batch, "anchors", row)

    def grams(self, batch: int, row: int) -> np.ndarray:
        return self._read(batch, "grams", row)

    def shingles(self, batch: int, row: int) -> np.ndarray:
        return self._read(batch, "shingles", row)

    def _read(self, batch: int, kind: str, row: int) -> np.ndarray:
        rows = self._files.get((batch, kind)) or self._open(batch, kind)
        lo, hi = rows.offsets[row], rows.offsets[row + 1]
        found = np.frombuffer(os.pread(rows.fd, rows.width * (hi - lo), rows.start + rows.width * lo), rows.dtype)
        return found.reshape(-1, *rows.inner) if rows.inner else found

    def _open(self, batch: int, kind: str) -> _RowFile:
        path = self._workspace.words(batch, kind)
        header = np.load(path, mmap_mode="r")  # where the data starts, its type and shape
        inner = header.shape[1:]
        self._files[(batch, kind)] = rows = _RowFile(
            os.open(path, os.O_RDONLY), header.offset, header.dtype, inner, header.dtype.itemsize * math.prod(inner),
            self.array(batch, _ROW_OFFSETS[kind]).tolist())
        return rows

    def close(self) -> None:
        for rows in self._files.values():
            os.close(rows.fd)
        self._files.clear()
        self._arrays.clear()

    def id(self, batch: int, row: int) -> str:
        return self.array(batch, "ids")[row]

    def signatures(self, batch: int) -> np.ndarray:
        """All of a batch's MinHash signatures: every one is used, so read at once."""
        return np.load(self._workspace.words(batch, "signatures"))


def load_sketches(words: SpilledWords, summary: CleanSummary, added: str) -> Iterator[Sketch]:
    """The sketches of a cleaned batch, over its spilled arrays (views, not copies),
    without their shingle sets: `deduplicate` reads those of candidate pairs only."""
    b = summary.batch
    offsets, tokens = words.array(b, "offsets").tolist(), words.array(b, "tokens")
    signatures = words.signatures(b)
    for row, (doc_id, length, created, source) in enumerate(summary.documents):
        yield Sketch(doc_id, length, created, added, source, tokens[offsets[row] : offsets[row + 1]],
                     signatures[row], b, row)


def _boilerplate_lines(text: str, group: str, boilerplate: set[tuple[str, int]], max_chars: int) -> set[str]:
    """The line keys of this text that were learned as its group's boilerplate."""
    if not boilerplate:
        return set()
    found = set()
    for line in text.split("\n"):
        key = line_key(line)
        if key and len(key) <= max_chars and (group, _line_hash(key)) in boilerplate:
            found.add(key)
    return found


# ---------------------------------------------------------------- central: dedup


def deduplicate(summaries: Iterable[CleanSummary], config: Config, words: SpilledWords, added: str,
                state: StateIndex | None = None) -> tuple[Deduplicator, DedupResult]:
    dedup = Deduplicator(config.dedup, shingles_of=lambda s: words.shingles(s.batch, s.row))
    for summary in summaries:
        for s in load_sketches(words, summary, added):
            dedup.add(s)
    return dedup, dedup.run(state)


# ---------------------------------------------------------------- phase 3: passages

# One passage between two documents, located by (batch, row) and character offsets.
PASSAGE = np.dtype([("a_batch", "i4"), ("a_row", "i4"), ("b_batch", "i4"), ("b_row", "i4"),
                    ("a_start", "i4"), ("a_end", "i4"), ("b_start", "i4"), ("b_end", "i4"),
                    ("a_share", "f8"), ("b_share", "f8")])
# About this many pairs a chunk (a batch of the passage phase): small enough that the
# workers finish together.
_PAIRS_PER_CHUNK = 50_000
# Documents whose word spans a passage task keeps at hand (a few MB).
_SPANS_CACHED = 4096


def passage_tasks(dedup: Deduplicator, result: DedupResult, config: Config, words: SpilledWords,
                  workers: int) -> list[np.ndarray]:
    """The candidate pairs of stories for passage search, as chunks of (a_batch, a_row,
    b_batch, b_row) rows: the batches of the passage phase."""
    chosen = stories(dedup.sketches(), result.cluster_of, config.dedup.passages)
    first, second = candidate_pairs([words.anchors(s.batch, s.row) for s in chosen],
                                    min_shared_anchors(config.dedup.passages))
    if len(first) == 0:
        return []
    where = np.array([(s.batch, s.row) for s in chosen], dtype=np.int32)
    pairs = np.hstack((where[first], where[second]))
    chunks = max(2 * workers, -(-len(pairs) // _PAIRS_PER_CHUNK))
    return [chunk for chunk in np.array_split(pairs, chunks) if len(chunk)]


def passage_batch(pairs: np.ndarray, config: Config, workspace: Workspace) -> np.ndarray:
    """The passages of these pairs (rows of a_batch, a_row, b_batch, b_row), in
    character offsets, read from the spilled words of the clean phase."""
    words = SpilledWords(workspace)

    # A document meets several partners in a chunk: its spans are mostly read once
    # (reading them for every passage was a quarter of the phase's CPU).
    @functools.lru_cache(maxsize=_SPANS_CACHED)
    def spans(doc: tuple[int, int]) -> np.ndarray:
        return words.spans(*doc)

    try:
        found = match_pairs(((tuple(p[:2]), tuple(p[2:])) for p in pairs.tolist()),
                            lambda ref: words.grams(*ref), config.dedup.passages)
        rows = []
        for a, b, a_start, a_end, b_start, b_end, a_share, b_share in found:
            spans_a, spans_b = spans(a), spans(b)
            rows.append((*a, *b, spans_a[a_start, 0], spans_a[a_end - 1, 1], spans_b[b_start, 0],
                         spans_b[b_end - 1, 1], a_share, b_share))
        return np.array(rows, dtype=PASSAGE)
    finally:
        words.close()


# One side of a passage as the batch of its document writes it.
PASSAGE_SIDE = np.dtype([("row", "i4"), ("start", "i4"), ("end", "i4"), ("other_batch", "i4"),
                         ("other_row", "i4"), ("other_start", "i4"), ("other_end", "i4"), ("similarity", "f8")])


def passages_by_batch(found: Sequence[np.ndarray], batches: int) -> list[np.ndarray]:
    """Every passage twice, once from each side, grouped by the batch of that side."""
    allp = np.concatenate(found) if found else np.empty(0, dtype=PASSAGE)
    out = []
    for b in range(batches):
        sides = []
        for me, other in (("a", "b"), ("b", "a")):
            mine = allp[allp[f"{me}_batch"] == b]
            side = np.empty(len(mine), dtype=PASSAGE_SIDE)
            side["row"], side["start"], side["end"] = mine[f"{me}_row"], mine[f"{me}_start"], mine[f"{me}_end"]
            side["other_batch"], side["other_row"] = mine[f"{other}_batch"], mine[f"{other}_row"]
            side["other_start"], side["other_end"] = mine[f"{other}_start"], mine[f"{other}_end"]
            side["similarity"] = mine[f"{me}_share"]
            sides.append(side)
        out.append(np.concatenate(sides))
    return out


# ---------------------------------------------------------------- phase 4: write

_ID_PREFIX = '{"id":"'


def _line_id(line: str) -> str:
    """The id of a cleaned line without parsing it: `dumps` writes the id first."""
    if line.startswith(_ID_PREFIX):
        end = line.index('"', len(_ID_PREFIX))
        return line[len(_ID_PREFIX) : end]
    return json.loads(line)["id"]


def _passages_json(sides: np.ndarray, words: SpilledWords) -> list[dict]:
    """One document's passage sides as output: grouped by span, partners by id."""
    found = sorted((s, e, words.id(ob, orow), os_, oe, sim)
                   for s, e, ob, orow, os_, oe, sim in zip(*(sides[k].tolist() for k in (
                       "start", "end", "other_batch", "other_row", "other_start", "other_end", "similarity"))))
    grouped: dict[tuple[int, int], list[dict]] = defaultdict(list)
    for s, e, other_id, other_start, other_end, sim in found:
        grouped[(s, e)].append({"id": other_id, "start": other_start, "end": other_end, "similarity": sim})
    return [{"start": s, "end": e, "duplicates": dups} for (s, e), dups in grouped.items()]


def write_batch(batch: int, config: Config, workspace: Workspace, decisions: dict[str, Decision],
                added_before: dict[str, str], passages: np.ndarray) -> dict[str, int]:
    """This batch's share of documents.jsonl and duplicates.jsonl, in the workspace.

    `decisions` holds the documents whose decision is not NO_CLUSTER, `passages`
    the sides of passages in this batch (PASSAGE_SIDE). A line nothing changed is
    copied as the clean phase wrote it.
    """
    words = SpilledWords(workspace)
    sides_of: dict[int, np.ndarray] = {}
    if len(passages):
        passages = passages[np.argsort(passages["row"], kind="stable")]
        rows, starts = np.unique(passages["row"], return_index=True)
        for row, lo, hi in zip(rows.tolist(), starts.tolist(), [*starts[1:].tolist(), len(passages)]):
            sides_of[row] = passages[lo:hi]
    # "label" mode keeps every copy in documents.jsonl; duplicates.jsonl is then empty.
    keep_apart = config.dedup.mode == "keep"
    counts = {"documents": 0, "duplicates": 0}
    with open(workspace.cleaned(batch), encoding="utf-8") as lines, \
            open(workspace.part(batch, "documents"), "w", encoding="utf-8") as docs, \
            open(workspace.part(batch, "duplicates"), "w", encoding="utf-8") as dups:
        for row_no, line in enumerate(lines):
            doc_id = _line_id(line)
            decision = decisions.get(doc_id, NO_CLUSTER)
            sides = sides_of.get(row_no)
            if decision == NO_CLUSTER and sides is None and doc_id not in added_before:
                docs.write(line)
                counts["documents"] += 1
                continue
            row = json.loads(line)
            if doc_id in added_before:
                row["added"] = added_before[doc_id]  # a rerun: the same line as before
            row["dedup"] = decision.to_json()
            row["passages"] = _passages_json(sides, words) if sides is not None else []
            to_duplicates = keep_apart and decision.duplicate_of is not None
            (dups if to_duplicates else docs).write(dumps(row) + "\n")
            counts["duplicates" if to_duplicates else "documents"] += 1
    return counts


def write_outputs(out_dir: Path, workspace: Workspace, batches: int, dedup: Deduplicator, result: DedupResult,
                  state: StateIndex | None = None) -> dict[str, int]:
    """documents.jsonl, duplicates.jsonl and rejects.jsonl, each written atomically from
    the batches' parts.

    The state gets this run's new documents only after all three files are in place,
    in one transaction: a crash before that leaves it as it was.
    """
    for name in ("documents", "duplicates"):
        with atomic_writer(out_dir / f"{name}.jsonl") as out:
            for b in range(batches):
                with open(workspace.part(b, name), "rb") as part:
                    shutil.copyfileobj(part, out.buffer, 2**20)  # bytes: UTF-8 already

    def rejects() -> Iterable[dict]:
        for phase in ("prepare", "clean"):
            for b in range(batches):
                yield from read_jsonl(workspace.rejects(b, phase))

    rejected = write_jsonl(out_dir / "rejects.jsonl", rejects())
    if state is not None:
        state.add(_index_entries(workspace, batches, dedup, result))
    return {"rejected": rejected}


def _index_entries(workspace: Workspace, batches: int, dedup: Deduplicator, result: DedupResult):
    """What the state keeps of this run's new documents, read back from the batches."""
    for b in range(batches):
        for row in read_jsonl(workspace.cleaned(b)):
            if row["id"] not in result.added_before:
                yield dedup.index_entry(row["id"], row["text"], result.decisions[row["id"]])


def build_report(*, started: str, finished: str, inputs: int, counts: dict[str, int],
                 prepare: Sequence[PrepareSummary], clean: Sequence[CleanSummary],
                 result: DedupResult, timings: dict[str, float], config: Config,
                 boilerplate_lines: int, state: dict | None = None, max_clusters: int = 50) -> dict[str, Any]:
    removals: Counter = Counter()
    removed_chars: Counter = Counter()
    repairs: Counter = Counter()
    for s in clean:
        removals.update(s.removals)
        removed_chars.update(s.removed_chars)
        repairs.update(s.repairs)
    wall = sum(timings.values()) or 1e-9
    total_docs = counts["documents"] + counts["duplicates"]
    return {
        "version": __version__,
        "started": started,
        "finished": finished,
        "config_sha256": hashlib.sha256(dumps(config.model_dump(mode="json")).encode()).hexdigest(),
        "counts": {
            "inputs": inputs,
            "documents": counts["documents"],
            "duplicates": counts["duplicates"],
            "rejected": counts["rejected"],
            "balanced": inputs == counts["documents"] + counts["duplicates"] + counts["rejected"],
        },
        "bytes_read": sum(s.bytes_read for s in prepare),
        "removals": {rule: {"count": removals[rule], "chars": removed_chars[rule]} for rule in sorted(removals)},
        "repairs": dict(sorted(repairs.items())),
        "boilerplate_lines_learned": boilerplate_lines,
        "dedup": {
            "mode": config.dedup.mode,
            "clusters": len(result.clusters),
            **result.stats,
            "largest_clusters": result.clusters[:max_clusters],
        },
        "state": state,
        "timings_seconds": {k: round(v, 3) for k, v in timings.items()},
        "docs_per_second": round(total_docs / wall, 1),
    }


# ---------------------------------------------------------------- one file, explained


@dataclass
class Explained:
    """One record of a file: the decoded input text and what cleaning made of it."""

    source: str
    text: str  # decoded, extracted and encoding-repaired: what the rules saw
    repairs: list[dict]
    result: CleanResult


def explain_file(path: str, config: Config) -> Iterator[Explained | Reject]:
    """Each record of one file through the same stages as a run (no learned boilerplate:
    that needs a whole run's documents)."""
    cleaner = Cleaner(config.clean)
    for f in discover([path], config.read):
        for item in read_records(f, config.read):
            if isinstance(item, Reject):
                yield item
                continue
            try:
                row = prepare_record(item, config)
            except Exception as exc:  # shown as the run would record it
                yield _reject_from(item, exc)
                continue
            known = {k for k in ("title", "author", "url") if row["metadata"].get(k)}
            result, late_repairs = clean_text(row["text"], cleaner, config, known)
            yield Explained(row["source"], row["text"], row["repairs"] + late_repairs, result)


# ---------------------------------------------------------------- a whole run

# The phases that run over batches, by name; the mapper runs one phase over its
# batches: mapper(phase, [args, ...]) -> [result, ...] in order.
PHASES: dict[str, Callable] = {"prepare": prepare_batch, "clean": clean_batch, "passages": passage_batch,
                               "write": write_batch}
Mapper = Callable[[str, list[tuple]], list]


def run_phase(phase: str, args: tuple) -> Any:
    """One batch of a phase, by the phase's name."""
    try:
        # A batch's documents stay alive to its end: collections during it free almost
        # nothing (clean: 3 % of its CPU, in-process alternation over 16 batches; 317
        # cyclic objects were left after a first batch, none after later ones).
        with collection_paused():
            return PHASES[phase](*args)
    finally:
        release_freed_memory()


try:
    _malloc_trim = ctypes.CDLL("libc.so.6").malloc_trim
except (OSError, AttributeError):  # not glibc
    _malloc_trim = None


def release_freed_memory() -> None:
    """Give the heap pages freed by the last step back to the OS (glibc's malloc_trim,
    as Dask's workers do): otherwise a process stays at the size of its largest step.
    Measured at 100,000 documents: workers 155 -> 124 MiB between batches, the flow's
    process 429 -> 345 MiB after the central steps."""
    if _malloc_trim is not None:
        _malloc_trim(0)


def serial_mapper(phase: str, args: list[tuple]) -> list:
    return [run_phase(phase, a) for a in args]


@dataclass(frozen=True)
class RunPlan:
    """A run's batches of inputs and its workspace, made before any batch runs, so that
    a caller can start the first batches before the rest of the run is ready (the
    flow's reads and cleaning go ahead while the Prefect API starts:
    `flows/workers.read_ahead`)."""

    config: Config
    out: Path
    workspace: Workspace
    batches: list[list[InputFile]]
    workers: int  # how many batches run at once: sized the batches, sizes the passage tasks
    started: str
    clock: float  # time.perf_counter() when planned: the prepare phase's time counts from here
    # Phases whose batches started before the flow's mapper ran them: time.perf_counter()
    # when they started, by phase ("clean"), set by the caller that started them.
    started_ahead: dict[str, float] = field(default_factory=dict, compare=False)

    def prepare_args(self) -> list[tuple]:
        return [(i, batch, self.config, self.workspace) for i, batch in enumerate(self.batches)]

    def clean_args(self, boilerplate: set[tuple[str, int]]) -> list[tuple]:
        """The clean batches' arguments, once `boilerplate` is learned from the prepare summaries."""
        return [(i, self.config, self.workspace, boilerplate, self.started) for i in range(len(self.batches))]


def plan_run(paths: Sequence[str], out_dir: str | Path, config: Config, workers: int) -> RunPlan:
    """Create the run's workspace in `out_dir` and split its inputs into batches for `workers`."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    workspace = Workspace(out / ".ingest-work")
    workspace.create()
    started, clock = now_iso(), time.perf_counter()
    batches = plan_batches(discover(paths, config.read), config.run, workers)
    return RunPlan(config, out, workspace, batches, workers, started, clock)


def run(paths: Sequence[str], out_dir: str | Path, config: Config, mapper: Mapper = serial_mapper,
        state_dir: str | Path | None = None, workers: int = 1) -> dict[str, Any]:
    """One whole run: inputs in `paths`, outputs and report.json in `out_dir`.

    With `state_dir`, dedup also compares with (and then indexes into) earlier runs:
    a folder (embedded index) or a `redis://` / `rediss://` URL (shared index).
    `workers` is how many batches the mapper runs at once (it sizes the batches).
    """
    return run_plan(plan_run(paths, out_dir, config, workers), mapper, state_dir)


def run_plan(plan: RunPlan, mapper: Mapper = serial_mapper, state_dir: str | Path | None = None) -> dict[str, Any]:
    """`run`, from a plan made by `plan_run`."""
    state = open_index(state_dir, plan.config.dedup) if state_dir is not None else None
    try:
        return _run(plan, mapper, state)
    finally:
        if state is not None:
            state.close()


def _run(plan: RunPlan, mapper: Mapper, state: StateIndex | None) -> dict[str, Any]:
    config, out, workspace, batches = plan.config, plan.out, plan.workspace, plan.batches
    started = added = plan.started
    timings: dict[str, float] = {}

    prepared = mapper("prepare", plan.prepare_args())
    boilerplate = learn_boilerplate(prepared, config)
    for summary in prepared:
        summary.line_docs.clear()  # learned from; no longer needed
    t = plan.started_ahead.get("clean") or time.perf_counter()
    timings["prepare"] = t - plan.clock

    cleaned = mapper("clean", plan.clean_args(boilerplate))
    timings["clean"] = time.perf_counter() - t

    t = time.perf_counter()
    words = SpilledWords(workspace)  # for the central steps; closed before the passage tasks run
    try:
        with collection_paused():  # the sketches and decisions stay alive to the end of the run
            dedup, result = deduplicate(cleaned, config, words, added, state)
            if state is not None:
                result = settle(state, dedup, result, workspace, len(batches))
            timings["dedup"] = time.perf_counter() - t
            t = time.perf_counter()
            chunks = passage_tasks(dedup, result, config, words, plan.workers) if config.dedup.passages.enabled else []
    finally:
        words.close()
    release_freed_memory()

    sides: list[np.ndarray] = [np.empty(0, dtype=PASSAGE_SIDE)] * len(batches)
    result.stats["passage_links"] = 0
    if config.dedup.passages.enabled:
        found = mapper("passages", [(chunk, config, workspace) for chunk in chunks])
        result.stats["passage_links"] = 2 * sum(len(f) for f in found)
        sides = passages_by_batch(found, len(batches))
        del found
    timings["passages"] = time.perf_counter() - t

    t = time.perf_counter()
    changed = defaultdict(dict)
    for doc_id, decision in result.decisions.items():
        if decision != NO_CLUSTER:
            changed[dedup.batch_of(doc_id)][doc_id] = decision
    added_before = defaultdict(dict)
    for doc_id, when in result.added_before.items():
        added_before[dedup.batch_of(doc_id)][doc_id] = when
    parts = mapper("write", [(b, config, workspace, changed[b], added_before[b], sides[b]) for b in range(len(batches))])
    counts = {name: sum(p[name] for p in parts) for name in ("documents", "duplicates")}
    counts |= write_outputs(out, workspace, len(batches), dedup, result, state)
    timings["write"] = time.perf_counter() - t

    report = build_report(
        started=started, finished=now_iso(), inputs=sum(p.inputs for p in prepared), counts=counts,
        prepare=prepared, clean=cleaned, result=result, timings=timings, config=config,
        boilerplate_lines=len(boilerplate), state=state.stats() if state is not None else None,
    )
    write_json(out / "report.json", report)
    workspace.remove()
    return report
