"""The real Prefect flow on the seeds: the first user's data must come out right."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from flows.ingest_flow import run_ingest, set_progress_hook
from ingest.clean.layout import normalise_layout
from ingest.dedup.shingles import token_spans
from tests.schema_check import validate_lines

PROGRESS: list[tuple[str, int, int]] = []


@pytest.fixture(scope="module")
def seeds_run(seeds: Path, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("out")
    set_progress_hook(lambda *call: PROGRESS.append(call))
    try:
        run_ingest([str(seeds)], str(out), workers=2)
    finally:
        set_progress_hook(None)
    return out


def test_progress_counts_each_batch_of_each_phase_as_it_finishes(seeds_run: Path) -> None:
    for phase in ("prepare", "clean", "write"):
        calls = [(done, total) for p, done, total in PROGRESS if p == phase]
        total = calls[0][1]
        assert total >= 2  # a batch a worker at least
        assert calls == [(done, total) for done in range(total + 1)], phase


@pytest.fixture(scope="module")
def docs(seeds_run: Path) -> dict[str, dict]:
    rows = validate_lines(seeds_run / "documents.jsonl", "document")
    return {Path(r["source"]).name[:3]: r for r in rows}


def test_five_documents_nothing_rejected(seeds_run: Path, docs: dict) -> None:
    assert sorted(docs) == ["000", "001", "002", "003", "004"]
    assert validate_lines(seeds_run / "duplicates.jsonl", "document") == []
    assert validate_lines(seeds_run / "rejects.jsonl", "reject") == []
    report = json.loads((seeds_run / "report.json").read_text(encoding="utf-8"))
    assert report["counts"] == {"inputs": 5, "documents": 5, "duplicates": 0, "rejected": 0, "skipped": 0, "balanced": True}
    assert not (seeds_run / ".ingest-work").exists()


def test_sources_are_the_argument_joined_with_the_relative_path(seeds: Path, docs: dict) -> None:
    assert docs["000"]["source"] == str(seeds / "000_1e98ad1bc5b40cb3.txt")


@pytest.mark.parametrize("artefact", ["[ad_1]", "[ad_2]", "Source link", "Short link:", "READ:", "(credit:"])
def test_artefacts_are_gone(docs: dict, artefact: str) -> None:
    for key, doc in docs.items():
        assert artefact not in doc["text"], f"{artefact!r} left in {key}"


def test_date_header_becomes_created(docs: dict) -> None:
    doc = docs["000"]
    assert doc["created"] == "2024-04-14"
    assert doc["text"].startswith("The United States is not interested in a war with Israel")
    assert "date 2024-04-14" not in doc["text"]
    assert {"rule": "date-header", "moved_to": "created"}.items() <= doc["cleaning"]["removed"][0].items()


def test_headlines_become_titles(docs: dict) -> None:
    assert docs["001"]["metadata"]["title"] == "US says doesn't want escalation as Israel war cabinet mulls response to Iran attack"
    assert docs["003"]["metadata"]["title"] == "Biden warns Israel that US will not assist with Iran conflict"
    assert docs["000"]["metadata"]["title"] is None
    assert docs["001"]["created"] == "2024-04-14"  # from "AFP , Sunday 14 Apr 2024"


def test_typography_kept_as_published(docs: dict) -> None:
    assert "Iran’s first direct attack" in docs["000"]["text"]
    assert "“We don't want to see this escalate." in docs["000"]["text"]
    assert "Iran’s air defense" not in docs["002"]["text"]  # sanity: the next check is not vacuous
    assert "Israel’s air defense almost entirely dealt with the barrage – with almost" in docs["002"]["text"]
    assert docs["004"]["metadata"]["encoding"] == "utf-8"


def test_no_sentence_lost(seeds: Path, docs: dict) -> None:
    """Every word of the input is either in the text or in a named removal."""
    for key, doc in docs.items():
        raw = normalise_layout(next(seeds.glob(f"{key}_*.txt")).read_text(encoding="utf-8"))
        removed = doc["cleaning"]["removed"]
        kept = raw
        for r in sorted(removed, key=lambda r: -r["start"]):
            assert raw[r["start"] : r["end"]] == r["text"], f"{key}: offsets of {r['rule']} do not match"
            kept = kept[: r["start"]] + " " + kept[r["end"] :]
        assert kept.split() == doc["text"].split(), f"{key}: text differs from input minus removals"
        assert all(r["rule"] for r in removed)


def test_paragraphs_separated_by_one_blank_line(docs: dict) -> None:
    for doc in docs.values():
        assert "\n\n\n" not in doc["text"]
        assert re.search(r"[^\n]\n[^\n]", doc["text"]) is None
        assert doc["text"] == doc["text"].strip()


def test_kirby_quotes_linked_between_000_and_001(docs: dict) -> None:
    a, b = docs["000"], docs["001"]
    links = [(p, d) for p in a["passages"] for d in p["duplicates"] if d["id"] == b["id"]]
    quoted = [a["text"][p["start"] : p["end"]] for p, _ in links]
    assert any("We don't want to see this escalate" in q for q in quoted)
    assert any("We made it very clear to all parties" in q for q in quoted)
    for _, d in links:
        assert b["text"][d["start"] : d["end"]].split()[0].strip("“\"") in {"We"}
    # and back from 001 to 000
    assert any(d["id"] == a["id"] for p in b["passages"] for d in p["duplicates"])


def test_passage_offsets_fall_on_word_boundaries(docs: dict) -> None:
    for doc in docs.values():
        starts = {s for s, _ in token_spans(doc["text"])}
        ends = {e for _, e in token_spans(doc["text"])}
        for p in doc["passages"]:
            assert p["start"] in starts and p["end"] in ends


def test_ids_are_stable_across_reruns(seeds: Path, docs: dict, tmp_path: Path) -> None:
    run_ingest([str(seeds)], str(tmp_path), workers=1)
    again = {r["id"] for r in validate_lines(tmp_path / "documents.jsonl", "document")}
    assert again == {d["id"] for d in docs.values()}
