"""Bounded resources: a decompression bomb is refused by a size limit without being
decompressed into memory."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.samples import gzip_bomb

# Reads one file with the default limits in a fresh process and prints what it became
# and how far the process's peak memory (VmHWM, reset first through clear_refs) rose
# above its memory before reading.
_READ = """
import json, sys
from ingest.config import load_config
from ingest.read.files import InputFile
from ingest.read.records import read_records

def status_kib(field):
    line = next(l for l in open("/proc/self/status") if l.startswith(field + ":"))
    return int(line.split()[1])

config = load_config().read
with open("/proc/self/clear_refs", "w") as fh:
    fh.write("5")
before = status_kib("VmRSS")
items = list(read_records(InputFile(sys.argv[1], sys.argv[1], 0), config))
grown = status_kib("VmHWM") - before
print(json.dumps({"errors": [getattr(i, "error", None) for i in items], "grown_kib": grown}))
"""


@pytest.mark.parametrize(("name", "error"), [("bomb.txt.gz", "TooLarge"), ("bomb.jsonl.gz", "DecompressionBomb")])
def test_gzip_bomb_is_rejected_without_filling_memory(tmp_path: Path, name: str, error: str) -> None:
    if not Path("/proc/self/clear_refs").exists():
        pytest.skip("peak memory is measured through Linux's /proc/self/clear_refs")
    bomb = tmp_path / name
    bomb.write_bytes(gzip_bomb(2))  # 2 GiB once decompressed, about 2 MB on disk
    result = subprocess.run([sys.executable, "-c", _READ, str(bomb)], capture_output=True, text=True,
                            check=True, timeout=120)
    seen = json.loads(result.stdout)
    assert seen["errors"] == [error]
    # A whole-file record stops at read.max_record_bytes (16 MiB), a JSONL line too, and
    # the rest is decompressed in 64 KiB steps and dropped, up to read.max_file_bytes.
    assert seen["grown_kib"] < 80 * 1024, seen
