"""A corpus of about 100,000 documents with the million corpus's copies a story.

    python bench/dense_corpus.py --source /work/bench-corpus/corpus-1000000-s1 --out /work/bench-corpus/dense-100k

Every record of `--source` (a corpus built by bench/throughput_corpus.py, with shards/)
whose original is one of a tenth of the originals, by CRC-32 of its `origin` (its own id
for an original or a collage), written to `--out`/shards in the source's order, 1,000 a
shard. From the million corpus: 100,632 documents, about 33 copies a story, as at a
million: what grows with the square of the documents there (candidate pairs between
two stories' copies) shows at a tenth of the size (docs/benchmarks/dedup.md).
"""

from __future__ import annotations

import argparse
import json
import zlib
from pathlib import Path

PER_SHARD = 1_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, required=True, help="corpus folder holding shards/")
    parser.add_argument("--out", type=Path, required=True, help="folder to write shards/ in")
    parser.add_argument("--share", type=int, default=10, help="keep one original in this many (default 10)")
    args = parser.parse_args()
    shards = args.out / "shards"
    shards.mkdir(parents=True, exist_ok=True)
    kept = 0
    out = None
    for path in sorted((args.source / "shards").glob("shard-*.jsonl")):
        for line in path.open(encoding="utf-8"):
            record = json.loads(line)
            if zlib.crc32((record.get("origin") or record["id"]).encode()) % args.share:
                continue
            if kept % PER_SHARD == 0:
                if out is not None:
                    out.close()
                out = open(shards / f"shard-{kept // PER_SHARD:05d}.jsonl", "w", encoding="utf-8")  # noqa: SIM115
            out.write(line)
            kept += 1
    if out is not None:
        out.close()
    print(f"{kept:,} documents in {shards}")


if __name__ == "__main__":
    main()
