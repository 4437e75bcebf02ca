"""Nothing lost: over a dump mixing good files with every kind of bad input, each input
record ends in exactly one of documents, duplicates and rejects, and each bad file is a
reject that says why."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.ingest.test_pipeline import ARTICLE, html_page
from tests.schema_check import validate_lines

# Root reads files whatever their mode: the run drops the capabilities that let it
# (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH), so that a chmod 000 file is unreadable for
# real, as it is for the unprivileged user a service runs as.
_DROP_READ_OVERRIDE = ["setpriv", "--inh-caps=-dac_override,-dac_read_search",
                       "--bounding-set=-dac_override,-dac_read_search"]

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

HUGE_BYTES = 50 * 2**20


def unprivileged() -> list[str]:
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv (util-linux): a chmod 000 file cannot be made unreadable")
    return _DROP_READ_OVERRIDE


def gzip_bomb(decompressed_gib: int) -> bytes:
    """One endless line of text, 1000 times smaller compressed: copies of one gzip
    member, which gzip reads as one stream."""
    member = gzip.compress(b"a" * 2**24, compresslevel=9)
    return member * (decompressed_gib * 64)


def build_dump(d: Path) -> dict[str, tuple[str, str]]:
    """The dump; returns file name -> (error class, phrase of its reason) for the bad ones."""
    d.mkdir()
    (d / "good.txt").write_text("Ferry timetable approved\n\n" + ARTICLE, encoding="utf-8")
    (d / "page.html").write_text(html_page("Storm closes airport", "Strong winds closed the airport for six hours "
                                           "on Sunday, stranding hundreds of travellers."), encoding="utf-8")
    lines = [json.dumps({"text": f"Feed item {n}: the museum extends its opening hours to nine in the evening."})
             for n in (1, 2, 3)]
    (d / "feed.jsonl").write_text("\n".join([lines[0], '{"text": "cut off', *lines[1:]]) + "\n", encoding="utf-8")
    (d / "image.bin").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8)
    (d / "empty.txt").write_bytes(b"")
    (d / "cut.txt.gz").write_bytes(gzip.compress(ARTICLE.encode() * 20)[:300])
    (d / "undecodable.txt").write_bytes(bytes((n * 37) % 128 + 128 for n in range(4000)))
    with open(d / "huge.txt", "wb") as fh:  # one line of 50 MB
        fh.writelines(b"word " * (2**20 // 5) + b"word" for _ in range(HUGE_BYTES // 2**20))
    (d / "bomb.jsonl.gz").write_bytes(gzip_bomb(1))
    (d / "vanished.txt").write_text(ARTICLE, encoding="utf-8")
    locked = d / "locked.txt"
    locked.write_text(ARTICLE, encoding="utf-8")
    locked.chmod(0)
    os.mkfifo(d / "pipe")
    return {
        "feed.jsonl#2": ("MalformedJSON", "line 2 is not valid JSON"),
        "image.bin": ("BinaryFile", "binary file"),
        "empty.txt": ("EmptyFile", "empty file"),
        "cut.txt.gz": ("TruncatedCompression", "the gzip data ends early (truncated file)"),
        "undecodable.txt": ("DecodeError", "undecodable bytes"),
        "huge.txt": ("TooLarge", "larger than read.max_record_bytes"),
        "bomb.jsonl.gz#1": ("DecompressionBomb", "decompresses to more than read.max_file_bytes"),
        "vanished.txt": ("Unreadable", "cannot open the file (No such file or directory)"),
        "locked.txt": ("Unreadable", "cannot open the file (Permission denied)"),
        "pipe": ("NotAFile", "not a regular file but a FIFO"),
    }


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
    assert report["counts"] == {"inputs": 15, "documents": 5, "duplicates": 0, "rejected": 10, "balanced": True}
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
