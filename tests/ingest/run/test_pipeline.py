"""The whole library pipeline (no Prefect) over a dump that mixes every input format."""

from __future__ import annotations

import gzip
import json
import os
import shutil
from pathlib import Path

import pytest

from ingest.config import load_config
from ingest.index.sqlite_index import StateIndex
from ingest.read.files import InputFile
from ingest.run.batches import plan_batches
from ingest.run.pipeline import run
from tests.samples import ARTICLE, REAL_ATOM, html_page, warc_bytes, wxr_bytes, wxr_item
from tests.schema_check import validate_lines


@pytest.fixture()
def dump(tmp_path: Path) -> Path:
    d = tmp_path / "dump"
    d.mkdir()
    (d / "plain.txt").write_text("Ferry timetable approved\n\n" + ARTICLE + "\n\n[ad_2]\nSource link\n", encoding="utf-8")
    (d / "page.html").write_text(html_page("Council backs ferry plan", ARTICLE.replace("Tuesday", "Monday")), encoding="utf-8")
    (d / "post.md").write_text(
        "---\ntitle: 'Ferries: a new timetable'\ndate: 2024-05-03\ncategories: [local, transport]\n---\n"
        + "Traders on the island say the decision came late, but they are glad it came at all.\n\n"
        + "Ticket prices will not change this year, the operator confirmed in a short statement on Friday.\n",
        encoding="utf-8",
    )
    feed = [
        json.dumps({"text": "The museum reopens on Saturday after a two-year renovation of its east wing.", "title": "Museum reopens", "date": "2024-05-04", "tags": ["culture"]}),
        "{not json",
        json.dumps({"note": "no text field here"}),
        json.dumps({"html": "<p>The library extends its opening hours to nine in the evening from June onwards.</p>"}),
    ]
    (d / "feed.jsonl").write_text("\n".join(feed) + "\n", encoding="utf-8")
    (d / "crawl.warc").write_bytes(warc_bytes([("response", "https://example.org/a", html_page("Storm closes airport", "Strong winds closed the airport for six hours on Sunday, stranding hundreds of travellers in the terminal.\n\nAirlines said flights would resume once the gusts dropped below the safety limit set by the regulator."), "text/html; charset=utf-8")]))
    (d / "old.txt.gz").write_bytes(gzip.compress("Caf\u00e9 owners on the quay said the summer season started well despite the rain.".encode("cp1252")))
    (d / "image.bin").write_bytes(bytes(range(256)) * 4)
    (d / "empty.txt").write_bytes(b"")
    return d


def test_every_record_ends_in_exactly_one_output(dump: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    report = run([str(dump)], out, load_config())
    docs = validate_lines(out / "documents.jsonl", "document")
    dups = validate_lines(out / "duplicates.jsonl", "document")
    rejects = validate_lines(out / "rejects.jsonl", "reject")
    # 1 txt + 1 html + 1 md + 4 jsonl lines + 1 warc response + 1 gz + 1 binary + 1 empty
    assert report["counts"]["inputs"] == 11
    assert len(docs) + len(dups) + len(rejects) == 11
    assert report["counts"]["balanced"]
    by_error = {r["error"] for r in rejects}
    assert {"MalformedJSON", "MissingText", "BinaryFile", "EmptyFile"} <= by_error
    bad_line = next(r for r in rejects if r["error"] == "MalformedJSON")
    assert bad_line["record"] == 2 and bad_line["source"].endswith("feed.jsonl#2")
    assert all(r["reason"].startswith(str(dump)) for r in rejects)


def _posts(tmp_path: Path) -> Path:
    posts = tmp_path / "posts"
    posts.mkdir()
    (posts / "ferry.md").write_text("---\ntitle: Ferry back\ndraft: false\n---\n" + ARTICLE, encoding="utf-8")
    (posts / "tides.md").write_text("+++\ntitle = \"Tides\"\ndraft = true\n+++\nHigh water at noon on the quay, "
                                    "said the harbour master, who has kept the tables for thirty years.\n",
                                    encoding="utf-8")
    (posts / "quay.md").write_text("Title: Quay\nStatus: draft\n\nThe quay is closed for repairs until the end "
                                   "of the month, the council said on Monday.\n", encoding="utf-8")
    return posts


def test_only_the_outputs_wait_for_the_disk(dump: Path, tmp_path: Path, monkeypatch) -> None:
    """The workspace is scratch (a crashed run's is discarded): its files are not fsynced."""
    synced: list[str] = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(os.readlink(f"/proc/self/fd/{fd}")), real(fd))[1])
    out = tmp_path / "out"
    run([str(dump)], out, load_config(None))
    assert synced and not [path for path in synced if ".ingest-work" in path]
    assert {Path(path).name for path in synced} >= {"out"}  # the folder of the renamed outputs


def test_drafts_are_marked_and_kept_by_default(tmp_path: Path) -> None:
    report = run([str(_posts(tmp_path))], tmp_path / "out", load_config())
    docs = {Path(d["source"]).name: d for d in validate_lines(tmp_path / "out" / "documents.jsonl", "document")}
    assert {name: d["metadata"]["draft"] for name, d in docs.items()} == {"ferry.md": False, "tides.md": True,
                                                                          "quay.md": True}
    assert report["counts"]["skipped"] == 0


def test_skipped_drafts_are_counted(tmp_path: Path) -> None:
    config_path = tmp_path / "skip.toml"
    config_path.write_text("[metadata]\nskip_drafts = true\n", encoding="utf-8")
    report = run([str(_posts(tmp_path))], tmp_path / "out", load_config(config_path))
    docs = validate_lines(tmp_path / "out" / "documents.jsonl", "document")
    assert [Path(d["source"]).name for d in docs] == ["ferry.md"]
    counts = report["counts"]
    assert counts["skipped"] == 2 and report["skipped_by_kind"] == {"draft": 2}
    assert counts["inputs"] == 3 and counts["documents"] == 1 and counts["rejected"] == 0
    assert counts["balanced"]


def test_formats_keep_their_metadata(dump: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run([str(dump)], out, load_config())
    rows = validate_lines(out / "documents.jsonl", "document") + validate_lines(out / "duplicates.jsonl", "document")
    by_name = {Path(r["source"]).name: r for r in rows}
    md = by_name["post.md"]
    assert md["metadata"]["title"] == "Ferries: a new timetable"
    assert md["metadata"]["categories"] == ["local", "transport"]
    assert md["created"] == "2024-05-03"
    assert md["metadata"]["input_format"] == "markdown"
    museum = by_name["feed.jsonl#1"]
    assert museum["metadata"]["tags"] == ["culture"] and museum["created"] == "2024-05-04"
    assert by_name["feed.jsonl#4"]["text"].startswith("The library extends its opening hours")
    warc = next(r for name, r in by_name.items() if name.startswith("crawl.warc#"))
    assert warc["metadata"]["url"] == "https://example.org/a"
    assert "Strong winds closed the airport" in warc["text"]
    assert "Home" not in warc["text"]
    assert by_name["old.txt.gz"]["text"].startswith("Café owners")
    plain = by_name["plain.txt"]
    assert plain["metadata"]["title"] == "Ferry timetable approved"
    assert [r["rule"] for r in plain["cleaning"]["removed"]] == ["headline", "ad-slot", "source-link"]


def test_html_copy_of_a_text_article_is_linked(dump: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run([str(dump)], out, load_config())
    dups = validate_lines(out / "duplicates.jsonl", "document")
    docs = {r["id"]: r for r in validate_lines(out / "documents.jsonl", "document")}
    assert [Path(d["source"]).name for d in dups] == ["plain.txt"]  # the HTML page has a date: kept
    kept = docs[dups[0]["dedup"]["duplicate_of"]]
    assert Path(kept["source"]).name == "page.html"
    assert kept["dedup"]["cluster_id"] == kept["id"]
    assert 0.7 <= dups[0]["dedup"]["similarity"] < 1


def test_label_mode_keeps_every_copy_in_documents(dump: Path, tmp_path: Path) -> None:
    config_file = tmp_path / "label.toml"
    config_file.write_text('[dedup]\nmode = "label"\n', encoding="utf-8")
    out = tmp_path / "out"
    run([str(dump)], out, load_config(config_file))
    docs = validate_lines(out / "documents.jsonl", "document")
    assert validate_lines(out / "duplicates.jsonl", "document") == []
    assert sum(1 for d in docs if d["dedup"]["duplicate_of"]) == 1


def test_state_links_copies_across_runs(tmp_path: Path) -> None:
    first, second = tmp_path / "day1", tmp_path / "day2"
    first.mkdir()
    second.mkdir()
    (first / "a.txt").write_text(ARTICLE, encoding="utf-8")
    (second / "b.txt").write_text("A new headline for the ferry story\n\n" + ARTICLE.rsplit("\n\n", 1)[0], encoding="utf-8")
    state = tmp_path / "state"
    config = load_config()
    run([str(first)], tmp_path / "out1", config, state_dir=state)
    original = validate_lines(tmp_path / "out1" / "documents.jsonl", "document")[0]
    run([str(second)], tmp_path / "out2", config, state_dir=state)
    copy = validate_lines(tmp_path / "out2" / "duplicates.jsonl", "document")[0]
    assert copy["dedup"]["duplicate_of"] == original["id"]
    assert validate_lines(tmp_path / "out2" / "documents.jsonl", "document") == []


def test_rerun_of_the_same_input_adds_nothing(dump: Path, tmp_path: Path) -> None:
    state = tmp_path / "state"
    config = load_config()
    run([str(dump)], tmp_path / "out1", config, state_dir=state)
    index = StateIndex(state, config.dedup)
    before = index.stats()
    index.close()
    run([str(dump)], tmp_path / "out2", config, state_dir=state)
    index = StateIndex(state, config.dedup)
    assert index.stats() == before
    index.close()
    for name in ("documents.jsonl", "duplicates.jsonl"):
        assert (tmp_path / "out1" / name).read_text() == (tmp_path / "out2" / name).read_text()


def test_failed_run_leaves_the_state_as_it_was(dump: Path, tmp_path: Path) -> None:
    state = tmp_path / "state"
    config = load_config()
    out = tmp_path / "out"
    (out / "rejects.jsonl").mkdir(parents=True)  # the last output cannot be written
    with pytest.raises(OSError):
        run([str(dump)], out, config, state_dir=state)
    index = StateIndex(state, config.dedup)
    assert index.stats()["documents"] == 0
    index.close()


def test_boilerplate_learned_per_source_and_removed_under_its_rule(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    footer = "Subscribe to the Harbour Times newsletter for daily updates"
    rare = "Ferry tickets are sold at the kiosk on the quay"
    for i in range(8):
        body = f"Story number {i} tells of event {i * 7} in the harbour district, with details nobody else has."
        extra = f"\n{rare}" if i < 2 else ""
        (site / f"story{i}.txt").write_text(f"{body}{extra}\n{footer.upper() if i == 3 else footer}\n", encoding="utf-8")
    other = tmp_path / "other"
    other.mkdir()
    (other / "lone.txt").write_text(f"A story from another site entirely, about the airport.\n{footer}\n", encoding="utf-8")
    out = tmp_path / "out"
    report = run([str(site), str(other)], out, load_config())
    docs = validate_lines(out / "documents.jsonl", "document")
    for doc in docs:
        in_site = "/site/" in doc["source"]
        rules = [r["rule"] for r in doc["cleaning"]["removed"]]
        assert ("boilerplate" in rules) == in_site, doc["source"]
        assert (footer.lower() in doc["text"].lower()) != in_site
    assert sum(rare in d["text"] for d in docs) == 2  # in 2 of 8 documents: not boilerplate
    assert report["removals"]["boilerplate"]["count"] == 8


def test_learned_boilerplate_keeps_headings_over_text_code_and_whole_short_posts(tmp_path: Path) -> None:
    """A blog of Markdown posts: every post repeats the share line (chrome), a "## References"
    section heading (structure), a Go code block's "package main" and "}" (code); a
    short post says nothing but lines the others repeat."""
    blog = tmp_path / "blog"
    blog.mkdir()
    for i in range(8):
        (blog / f"post{i}.md").write_text(
            f"---\ntitle: Post {i}\n---\nWhat happened on day {i} at the harbour, told once.\n\n"
            f"```go\npackage main\n\nimport \"fmt\"\n\nfunc main() {{\n"
            f"\tfmt.Printf(\"day %d: the ferry left the harbour at %s and came back at %s\\n\", {i}, start, end)\n}}\n```\n\n"
            f"## References\n\n- The harbour log, page {i * 3}\n\nShare this post on social media\n",
            encoding="utf-8")
    (blog / "stub.md").write_text("---\ntitle: Stub\n---\n## References\n\nShare this post on social media\n",
                                  encoding="utf-8")
    report = run([str(blog)], tmp_path / "out", load_config())
    docs = {Path(d["source"]).name: d for d in validate_lines(tmp_path / "out" / "documents.jsonl", "document")}

    assert report["counts"]["documents"] == 9 and report["counts"]["rejected"] == 0
    post = docs["post3.md"]
    assert [(r["rule"], r["text"]) for r in post["cleaning"]["removed"]] == [
        ("boilerplate", "Share this post on social media")]
    assert "package main" in post["text"] and "\n}" in post["text"] and "References" in post["text"]
    # The floor: learned lines are all a stub has, so they stay; no cut is made or recorded.
    assert docs["stub.md"]["text"] == "References\n\nShare this post on social media"
    assert docs["stub.md"]["cleaning"]["removed"] == []


# ---------------------------------------------------------------- batches


def _files(sizes: list[int]) -> list[InputFile]:
    return [InputFile(f"/in/{i:04d}", f"in/{i:04d}", size) for i, size in enumerate(sizes)]


@pytest.mark.parametrize("workers", [1, 2, 3, 4])
def test_batches_are_a_multiple_of_the_workers_in_input_order(workers: int) -> None:
    files = _files([1_170_000] * 100)  # 100 equal shards, as the benchmark's corpus
    batches = plan_batches(files, load_config(None).run, workers)
    assert len(batches) % workers == 0
    assert [f for b in batches for f in b] == files
    sizes = [sum(f.size for f in b) for b in batches]
    assert max(sizes) - min(sizes) <= 1_170_000  # whole files: at most one file apart


def test_batches_respect_the_file_and_byte_limits() -> None:
    run_config = load_config(None).run.model_copy(update={"batch_files": 3, "batch_bytes": 5 * 2**20})
    files = _files([2**20] * 40 + [4 * 2**20] * 5)
    batches = plan_batches(files, run_config, 2)
    assert [f for b in batches for f in b] == files
    assert all(len(b) <= 3 and (len(b) == 1 or sum(f.size for f in b) <= 5 * 2**20) for b in batches)


def test_no_input_no_batches() -> None:
    assert plan_batches([], load_config(None).run, 2) == []


def test_exports_feeds_and_tables_each_record_accounted_for(tmp_path: Path) -> None:
    d = tmp_path / "dump"
    d.mkdir()
    (d / "export.xml").write_bytes(wxr_bytes(
        wxr_item("Ferry timetable approved", ARTICLE, link="https://harbour.example/ferry/"),
        wxr_item("logo", "", post_type="attachment"),
        wxr_item("Home", "", post_type="nav_menu_item"),
        wxr_item("Empty post", ""),
    ))
    shutil.copy(REAL_ATOM, d / "feed.xml")
    (d / "rows.csv").write_text("title,text,date\nMuseum reopens,The museum reopens on Saturday after a renovation.,2024-05-04\n"
                                "No text,,2024-05-05\n", encoding="utf-8")
    out = tmp_path / "out"
    report = run([str(d)], out, load_config())

    counts = report["counts"]
    assert (counts["inputs"], counts["skipped"], counts["rejected"]) == (4 + 10 + 2, 2, 2)
    assert counts["documents"] + counts["duplicates"] + counts["rejected"] + counts["skipped"] == counts["inputs"]
    assert counts["balanced"]
    assert report["skipped_by_kind"] == {"wxr:attachment": 1, "wxr:nav_menu_item": 1}
    docs = {doc["source"].rsplit("/", 1)[-1]: doc for doc in validate_lines(out / "documents.jsonl", "document")}
    post = docs["export.xml#1"]
    assert (post["text"], post["created"], post["metadata"]["title"]) == (
        ARTICLE, "2016-01-10T23:49:44+00:00", "Ferry timetable approved")
    assert docs["feed.xml#1"]["created"] == "2021-08-06T00:00:00+02:00"
    assert docs["rows.csv#1"]["created"] == "2024-05-04"
