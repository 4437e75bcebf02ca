"""Parquet outputs: one stable schema, every field of the document schema read back
with its value, from the seeds' and the hostile dump's outputs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from ingest.config import load_config
from ingest.run.pipeline import run
from ingest.write.jsonl import read_jsonl
from ingest.write.parquet import DOCUMENT, REJECT, read_table, rows_of, to_table, write_parquet
from tests.samples import ARTICLE, build_dump

OTHER = ("A storm closed the airport for six hours on Sunday, stranding hundreds of travellers in the terminal "
         "while airlines waited for the gusts to drop below the limit set by the regulator.")

SCHEMA = json.loads((Path(__file__).resolve().parents[3] / "ingest" / "schema" / "document.schema.json")
                    .read_text(encoding="utf-8"))


def schema_paths(node: dict, prefix: str = "") -> set[str]:
    """Every field path the JSON Schema names, such as cleaning.removed[].moved_to."""
    found = set()
    for name, sub in node.get("properties", {}).items():
        path = f"{prefix}{name}"
        found.add(path)
        found |= schema_paths(sub, path + ".")
        if "items" in sub:
            found |= schema_paths(sub["items"], path + "[].")
    return found


def value_paths(value, prefix: str = "") -> set[str]:
    """The field paths that hold a value other than null in some row."""
    found = set()
    if isinstance(value, dict):
        for name, sub in value.items():
            if sub is not None:
                found.add(f"{prefix}{name}")
                found |= value_paths(sub, f"{prefix}{name}.")
    elif isinstance(value, list):
        for item in value:
            found |= value_paths(item, prefix[:-1] + "[].")
    return found


def more_inputs(folder: Path, seeds: Path) -> Path:
    """The seeds, a copy of one (a duplicate), its first half (a contained copy), a file with a byte order mark (an encoding
    repair) and an export line with every standard field, an author list and extra fields."""
    shutil.copytree(seeds, folder / "seeds")
    first = sorted(seeds.iterdir())[0]
    (folder / "copy.txt").write_text("A second site's copy\n\n" + first.read_text(encoding="utf-8"), encoding="utf-8")
    paragraphs = first.read_text(encoding="utf-8").split("\n\n")
    (folder / "trimmed.txt").write_text("\n\n".join(paragraphs[: len(paragraphs) // 2]), encoding="utf-8")
    (folder / "bom.txt").write_bytes(b"\xef\xbb\xbf" + ARTICLE.replace("ferry", "tram").encode())
    export = {"text": OTHER, "title": "Storm closes airport", "url": "https://example.org/storm",
              "author": ["A. Writer", "B. Editor"], "language": "en", "published": "2026-11-20",
              "section": {"name": "weather", "rank": 3}}
    (folder / "export.jsonl").write_text(json.dumps(export) + "\n", encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def outputs(tmp_path_factory, seeds: Path) -> dict[str, Path]:
    """The same inputs run twice, to JSON lines and to Parquet."""
    root = tmp_path_factory.mktemp("parquet")
    build_dump(root / "dump")
    (root / "dump" / "vanished.txt").unlink()
    more_inputs(root / "more", seeds)
    paths = [str(root / "dump"), str(root / "more")]
    config = load_config()
    return {fmt: (run(paths, root / fmt, config.with_format(fmt)), root / fmt)[1] for fmt in ("jsonl", "parquet")}


@pytest.mark.parametrize("kind", ["documents", "duplicates", "rejects"])
def test_parquet_run_holds_the_jsonl_runs_rows(outputs, kind: str) -> None:
    jsonl = list(read_jsonl(outputs["jsonl"] / f"{kind}.jsonl"))
    parquet = list(rows_of(kind, read_table(outputs["parquet"] / f"{kind}.parquet", kind)))
    assert jsonl, f"no {kind} to compare"
    added = json.loads((outputs["parquet"] / "report.json").read_text())["started"]
    if kind != "rejects":  # the ingestion time is each run's own
        assert {row["added"] for row in parquet} == {added}
        jsonl = [{**row, "added": added} for row in jsonl]
    assert parquet == jsonl


def test_every_document_field_reads_back_with_its_value(outputs, tmp_path: Path) -> None:
    rows = [*read_jsonl(outputs["jsonl"] / "documents.jsonl"), *read_jsonl(outputs["jsonl"] / "duplicates.jsonl")]
    covered = set().union(*(value_paths(row) for row in rows))
    missing = schema_paths(SCHEMA) - covered
    assert not missing, f"the inputs leave these fields without a value: {sorted(missing)}"
    write_parquet(tmp_path / "documents.parquet", "documents", rows)
    assert list(rows_of("documents", read_table(tmp_path / "documents.parquet", "documents"))) == rows


def test_one_schema_whatever_the_source_fields(tmp_path: Path) -> None:
    base = {"id": "0" * 20, "source": "a.jsonl#1", "text": "t", "added": "2026-01-01T00:00:00Z", "created": None,
            "cleaning": {"removed": [], "repairs": []},
            "dedup": {"cluster_id": None, "duplicate_of": None, "kind": None, "similarity": None,
                      "containment": None, "contained_in": None}, "passages": []}
    standard = {"title": None, "url": None, "author": None, "language": None, "input_format": "jsonl", "encoding": None}
    rows = [{**base, "metadata": {**standard, "section": "world"}},
            {**base, "metadata": {**standard, "author": ["A", "B"], "tags": ["x"], "views": 2**70}}]
    for n, row in enumerate(rows):
        write_parquet(tmp_path / f"{n}.parquet", "documents", [row])
        assert pq.read_schema(tmp_path / f"{n}.parquet").remove_metadata() == DOCUMENT
        assert list(rows_of("documents", read_table(tmp_path / f"{n}.parquet", "documents"))) == [row]


def test_rejects_keep_what_cleaning_removed() -> None:
    rejects = [{"source": "a.txt", "path": "a.txt", "record": None, "error": "EmptyAfterCleaning", "reason": "r",
                "removed": [{"rule": "ad-slot", "text": "Advertisement", "start": 0, "end": 13, "line": 1}]},
               {"source": "b.jsonl#2", "path": "b.jsonl", "record": 2, "error": "MalformedJSON", "reason": "r"}]
    table = to_table("rejects", rejects)
    assert table.schema == REJECT
    assert list(rows_of("rejects", table)) == rejects
