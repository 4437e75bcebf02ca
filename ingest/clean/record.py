"""One record through the cleaning stages: decode, extract, repair, layout, rules.

`prepare_record` makes a record's text and metadata (decoded, extracted from HTML or
Markdown, encoding repaired, layout normalised: what the rules see); `clean_record`
applies the rules and learned boilerplate to it (`clean_text`) and makes the document,
or the reject of a record that cleaning left without text. A run's batches and
`ingest explain` use the same functions.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ingest.clean.boilerplate import LearnedLines, source_group
from ingest.clean.dates import iso_date
from ingest.clean.decode import decode_bytes
from ingest.clean.fragment import extract_fragment
from ingest.clean.html import Extracted, extract_html
from ingest.clean.layout import line_key, normalise_layout
from ingest.clean.markdown import extract_markdown
from ingest.clean.metadata import created_date, merge_missing, page_url, standard_metadata
from ingest.clean.repair import repair_text
from ingest.clean.rules import Cleaner, CleanResult
from ingest.config import Config
from ingest.document import Document, RawRecord, Reject, document_id


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
    extracted: Extracted | None = None  # plain text has no structure to report
    if record.format == "html":
        extracted = extract_html(text, config.html, url=page_url(metadata, config.metadata))
        merge_missing(metadata, extracted.metadata)
    elif record.format == "html-fragment":
        extracted = extract_fragment(text, config.html)
    elif record.format == "markdown":
        extracted = extract_markdown(text, config.html)
        merge_missing(metadata, extracted.metadata)
    if extracted is not None:
        text = extracted.text
    text, text_repairs = repair_text(text, config.decode)
    repairs.extend(text_repairs)
    # The layout the rules and boilerplate learning see; the audit offsets refer to it.
    text = normalise_layout(text)
    created = created_date(metadata, config.metadata)
    standard = standard_metadata(metadata, config.metadata)
    metadata.pop("created", None)  # a top-level field of the document, not metadata
    return {
        "id": document_id(record.source, record.content_hash),
        "source": record.source,
        "text": text,
        "created": created,
        "metadata": {**metadata, **standard, "input_format": metadata.get("input_format", record.format),
                     "encoding": encoding},
        "repairs": repairs,
        # Line keys of what the source marks as headings (`Cleaner.clean`) and as code
        # (never learned boilerplate).
        "headings": sorted({line_key(h) for h in extracted.headings}) if extracted else [],
        "code_lines": sorted({line_key(line) for line in extracted.code}) if extracted else [],
        "group": source_group(record, standard),
        "path": record.path,
        "record_no": record.record_no,
    }


def reject_from(record: RawRecord, exc: Exception) -> Reject:
    where = record.source
    message = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
    return Reject(where, f"{where}: {message}", exc.__class__.__name__, record.path, record.record_no)


def clean_text(text: str, cleaner: Cleaner, config: Config, known: Iterable[str] = (),
               boilerplate: Iterable[str] = (), normalised: bool = False,
               headings: Iterable[str] = ()) -> tuple[CleanResult, list[dict]]:
    """Artefact rules, then encoding repair once more: a cut can join characters into
    something that reads as mojibake ("Â[ad_1] 0" -> "Â 0"), and a rerun over the
    output must not find anything left to do. `normalised`: `text` is what
    `normalise_layout` returned (a prepared record's), as `Cleaner.clean` takes it."""
    result = cleaner.clean(text, known=set(known), boilerplate=set(boilerplate), normalised=normalised,
                           headings=set(headings))
    repaired, repairs = repair_text(result.text, config.decode)
    if repaired != result.text:
        result = CleanResult(normalise_layout(repaired), result.removals, result.fields)
    return result, repairs


def known_fields(metadata: dict[str, Any]) -> set[str]:
    """The fields a "move" rule must not fill again: the source gave them already."""
    return {k for k in ("title", "author", "url") if metadata.get(k)}


def clean_record(row: dict[str, Any], cleaner: Cleaner, config: Config, boilerplate: LearnedLines,
                 added: str) -> Document | Reject:
    """A prepared record (`prepare_record`) cleaned into its document, with the audit trail;
    its reject when cleaning leaves no text. `boilerplate`: the run's learned lines.

    Learned boilerplate never empties a document: lines that many documents of a group
    share are chrome around a text, and a document made of nothing else (a short post
    of a series, a stub page) is that text itself. It is then cleaned by the artefact
    rules alone. Code lines are never boilerplate ("}" ends most functions of a blog on Go)."""
    lines = boilerplate.of(row["text"], row["group"], config.clean.boilerplate.max_line_chars)
    lines.difference_update(row["code_lines"])
    metadata = row["metadata"]
    known, headings = known_fields(metadata), row["headings"]
    result, late_repairs = clean_text(row["text"], cleaner, config, known, lines, normalised=True, headings=headings)
    if not result.text and lines:
        result, late_repairs = clean_text(row["text"], cleaner, config, known, (), normalised=True)
    removed = [r.to_json() for r in result.removals]
    if not result.text:
        rules = ", ".join(sorted({r.rule for r in result.removals})) or "whitespace"
        return Reject(row["source"], f"{row['source']}: no text left after cleaning (removed by: {rules})",
                      "EmptyAfterCleaning", row["path"], row["record_no"], removed)
    created = row["created"]
    for name, value in result.fields.items():
        if name == "created":
            created = created or iso_date(value)
        elif not metadata.get(name):
            metadata[name] = value
    return Document(id=row["id"], source=row["source"], text=result.text, added=added, created=created,
                    metadata=metadata, cleaning={"removed": removed, "repairs": row["repairs"] + late_repairs})
