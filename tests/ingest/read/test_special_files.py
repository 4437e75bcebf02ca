"""Reading paths that are not regular files, and files listed before they are read."""

from __future__ import annotations

import os
from pathlib import Path

from ingest.config import load_config
from ingest.document import Reject
from ingest.read.files import InputFile, discover
from ingest.read.records import read_records

CONFIG = load_config().read


def test_a_fifo_named_on_the_command_line_is_rejected_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)  # no writer: a plain open() would wait for one forever
    (found,) = discover([str(fifo)], CONFIG)
    (reject,) = read_records(found, CONFIG)
    assert isinstance(reject, Reject)
    assert (reject.error, reject.reason) == ("NotAFile", f"{fifo}: not a regular file but a FIFO")


def test_special_files_in_a_folder_are_listed_so_that_they_are_rejected(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("An article.\n", encoding="utf-8")
    os.mkfifo(tmp_path / "pipe")
    found = discover([str(tmp_path)], CONFIG)
    assert [Path(f.path).name for f in found] == ["a.txt", "pipe"]
    assert [getattr(r, "error", None) for r in read_records(found[1], CONFIG)] == ["NotAFile"]


def test_files_listed_earlier_are_kept_as_listed(tmp_path: Path) -> None:
    listed = InputFile(str(tmp_path / "gone.txt"), "inbox/gone.txt", 12)
    assert discover([listed], CONFIG) == [listed]  # no FileNotFoundError: reading rejects it
    (reject,) = read_records(listed, CONFIG)
    assert (reject.error, reject.source) == ("Unreadable", "inbox/gone.txt")
