"""The records that move through the pipeline.

`RawRecord` is one input record as read (bytes or text, with whatever metadata its
container carried); `Document` is what the pipeline writes; `Reject` is an input
record that could not become a document, with the reason; `Skipped` is an input item
that is not a document by its container's own account (a WordPress attachment or menu
item), counted by kind in the report.  Every input record ends as exactly one
`Document` (kept or duplicate), one `Reject` or one `Skipped`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any


@dataclass
class RawRecord:
    """One input record before decoding.

    `data` is bytes when the record is a whole file (its encoding still unknown) and
    str when a container already decoded it (a JSONL field).
    """

    source: str  # input path, or "<path>#<n>" for a record of a multi-record file
    path: str  # the file it came from
    format: str  # text | html | html-fragment | markdown (how the content is read)
    data: bytes | str
    record_no: int | None = None  # 1-based line (JSONL) or record index (WARC)
    metadata: dict[str, Any] = field(default_factory=dict)
    encoding: str | None = None  # set when the container declared it (HTTP header)

    @property
    def content_hash(self) -> str:
        raw = self.data.encode("utf-8", "surrogatepass") if isinstance(self.data, str) else self.data
        return hashlib.blake2b(raw, digest_size=16).hexdigest()


@dataclass
class Reject:
    """An input record that could not become a document."""

    source: str
    reason: str  # one human-readable line
    error: str  # the error class, e.g. "DecodeError"
    path: str
    record_no: int | None = None
    # What cleaning removed from a record it left without text: the audit trail.
    removed: list[dict[str, Any]] | None = None

    def to_json(self) -> dict[str, Any]:
        out = {
            "source": self.source,
            "path": self.path,
            "record": self.record_no,
            "error": self.error,
            "reason": self.reason,
        }
        if self.removed is not None:
            out["removed"] = self.removed
        return out


@dataclass(frozen=True)
class Skipped:
    """An input item that is not a document, such as a WordPress attachment."""

    source: str
    kind: str  # what it is, e.g. "wxr:attachment": the report counts skipped items by kind


@dataclass
class Document:
    """A clean document, in the shape written to documents.jsonl / duplicates.jsonl."""

    id: str
    source: str
    text: str
    added: str  # ingestion time, ISO 8601 UTC
    created: str | None = None  # publication time, ISO 8601, when known
    metadata: dict[str, Any] = field(default_factory=dict)
    # {"removed": [{rule, text, start, end, line}], "repairs": [{rule, count}]}
    cleaning: dict[str, Any] = field(default_factory=lambda: {"removed": [], "repairs": []})
    dedup: dict[str, Any] = field(
        default_factory=lambda: {"cluster_id": None, "duplicate_of": None, "kind": None, "similarity": None,
                                 "containment": None, "contained_in": None}
    )
    passages: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "source": self.source,
            "text": self.text,
            "added": self.added,
            "created": self.created,
            "metadata": self.metadata,
            "cleaning": self.cleaning,
            "dedup": self.dedup,
            "passages": self.passages,
        }

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> Document:
        return cls(**{k: obj[k] for k in cls.__dataclass_fields__ if k in obj})


def document_id(source: str, content_hash: str) -> str:
    """A stable id: the same input (path and bytes) gives the same id on every rerun.

    The content hash is part of it so that a changed file under the same path is a new
    document; the source keeps two identical files at different paths distinct.
    """
    digest = hashlib.blake2b(f"{source}\0{content_hash}".encode(), digest_size=10).hexdigest()
    return digest
