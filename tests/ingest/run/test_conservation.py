"""Nothing lost: over a dump mixing good files with every kind of bad input, each input
record ends in exactly one of documents, duplicates and rejects, and each bad file is a
reject that says why."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.samples import build_dump, unprivileged
from tests.schema_check import validate_lines

# The library run, with one file deleted between discovery and reading.
_RUN = """
import os, sys
from ingest.config import load_config
from ingest.read.files import discover
from ingest.run.pipeline import run
dump, out, vanishing = sys.argv[1:]
config = load_config()
files = discover([dump], config.read)
os.unlink(vanishing)
run(files, out, config)
"""


def test_every_record_of_a_hostile_dump_ends_in_exactly_one_output(tmp_path: Path) -> None:
    prefix = unprivileged()
    dump, out = tmp_path / "dump", tmp_path / "out"
    expected_rejects = build_dump(dump)
    subprocess.run([*prefix, sys.executable, "-c", _RUN, str(dump), str(out), str(dump / "vanished.txt")],
                   check=True, timeout=120)

    docs = validate_lines(out / "documents.jsonl", "document")
    dups = validate_lines(out / "duplicates.jsonl", "document")
    rejects = validate_lines(out / "rejects.jsonl", "reject")
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    # good.txt, page.html, three good feed lines; ten bad inputs
    assert report["counts"] == {"inputs": 15, "documents": 5, "duplicates": 0, "rejected": 10, "skipped": 0, "balanced": True}
    sources = [r["source"] for r in docs + dups + rejects]
    assert len(sources) == len(set(sources)) == 15  # each record once, in one output
    assert sorted(Path(d["source"]).name for d in docs) == [
        "feed.jsonl#1", "feed.jsonl#3", "feed.jsonl#4", "good.txt", "page.html"]
    by_name = {Path(r["source"]).name: r for r in rejects}
    assert sorted(by_name) == sorted(expected_rejects)
    for name, (error, phrase) in expected_rejects.items():
        reject = by_name[name]
        assert reject["error"] == error, f"{name}: {reject}"
        assert reject["reason"].startswith(str(dump / name) + ": ") and phrase in reject["reason"], f"{name}: {reject}"
