"""Peak memory of reading a large WordPress export: the reader streams, one item at a time.

Builds a WXR file of N posts (tests/samples.py's `wxr_item`, the four-paragraph article
20 times over: about 9 KiB of content each) in a temporary folder, reads every record of
it in a fresh process, and prints that process's peak RSS beside the peak of a process
that only imports the readers and loads the configuration.

    python bench/wxr_memory.py [--posts 20000]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.samples import ARTICLE, wxr_bytes, wxr_item  # noqa: E402

_READ = """
import os, resource, sys
from ingest.config import load_config
from ingest.read.files import InputFile
from ingest.read.records import read_records
config = load_config().read
n = 0
if len(sys.argv) > 1:
    p = sys.argv[1]
    n = sum(1 for _ in read_records(InputFile(p, p, os.path.getsize(p)), config))
print(n, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
"""


def peak(*args: str) -> tuple[int, int]:
    out = subprocess.run([sys.executable, "-c", _READ, *args], capture_output=True, text=True, check=True, cwd=REPO)
    items, mib = out.stdout.split()
    return int(items), int(mib)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=20000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "export.xml"
        body = "\n\n".join([ARTICLE] * 20)
        # Written item by item: this process stays small, and a child's peak RSS on Linux
        # starts from the size of the process it was forked from.
        head, tail = wxr_bytes().split(b"</channel>")
        with path.open("wb") as out:
            out.write(head)
            for i in range(args.posts):
                out.write(wxr_item(f"Post {i}", body, link=f"https://h.example/{i}/").encode())
            out.write(b"</channel>" + tail)
        size = path.stat().st_size / 2**20
        items, reading = peak(str(path))
        _, baseline = peak()
    print(f"{size:.0f} MiB export, {items} items: peak RSS {reading} MiB reading, {baseline} MiB after the imports alone")
    return 0


if __name__ == "__main__":
    sys.exit(main())
