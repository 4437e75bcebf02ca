"""Read and prepare every record of one input file, for an instruction count under callgrind.

    valgrind --tool=callgrind python bench/read_cost.py FILE [--tree DIR]

`--tree` runs another checkout's `ingest` (such as a worktree of an earlier commit) with
its own default configuration, so two revisions can be compared on the same file.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file")
    parser.add_argument("--tree", default=str(Path(__file__).resolve().parent.parent))
    args = parser.parse_args(argv)
    sys.path.insert(0, args.tree)
    from ingest.clean.record import prepare_record
    from ingest.config import load_config
    from ingest.read.files import InputFile
    from ingest.read.records import read_records

    config = load_config()
    records = 0
    for item in read_records(InputFile(args.file, args.file, os.path.getsize(args.file)), config.read):
        if hasattr(item, "data"):
            prepare_record(item, config)
        records += 1
    print(records, "records")
    return 0


if __name__ == "__main__":
    sys.exit(main())
