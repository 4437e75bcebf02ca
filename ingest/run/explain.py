"""`ingest explain`: one file through the same stages as a run, with every cut shown."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from ingest.clean.record import clean_text, known_fields, prepare_record, reject_from
from ingest.clean.rules import Cleaner, CleanResult
from ingest.config import Config
from ingest.document import Reject, Skipped
from ingest.read.files import discover
from ingest.read.records import read_records


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
            if isinstance(item, Skipped):  # not a document: nothing to explain
                continue
            try:
                row = prepare_record(item, config)
            except Exception as exc:  # shown as the run would record it
                yield reject_from(item, exc)
                continue
            result, late_repairs = clean_text(row["text"], cleaner, config, known_fields(row["metadata"]))
            yield Explained(row["source"], row["text"], row["repairs"] + late_repairs, result)
