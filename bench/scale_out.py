"""Throughput of `ingest run` on a local Dask cluster of 1 and 2 workers, with and without
the Redis index (README, "Scaling out"; docs/benchmarks/scale-out.md).

    python bench/throughput_corpus.py --docs 20000 --seed 1 --out /tmp/corpus-20000
    python bench/scale_out.py /tmp/corpus-20000/shards --redis redis://127.0.0.1:6379/15 --workers 1 2

Each configuration is one `ingest run` process, timed from start to exit (so it includes
starting the temporary Prefect API and the cluster); the phases come from its report.json.
The Redis database is emptied before each run that uses it: every run indexes the whole
corpus into an empty index.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis


def one_run(corpus: str, workers: int, index: str | None, runner: str) -> dict:
    with tempfile.TemporaryDirectory() as out:
        command = [sys.executable, "-m", "ingest.cli", "run", corpus, "--out", out, "--runner", runner,
                   "--workers", str(workers)]
        if index:
            redis.Redis.from_url(index).flushdb()
            command += ["--index", index]
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        wall = time.perf_counter() - started
        report = json.loads((Path(out) / "report.json").read_text(encoding="utf-8"))
    docs = report["counts"]["documents"] + report["counts"]["duplicates"]
    phases = report["timings_seconds"]
    return {"runner": runner, "workers": workers, "index": "redis" if index else "none", "docs": docs,
            "wall_s": round(wall, 1), **{f"{k}_s": v for k, v in phases.items()},
            "batch_docs_per_s": round(docs / (phases["prepare"] + phases["clean"]), 1),
            "wall_docs_per_s": round(docs / wall, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", help="folder of input files (e.g. the shards of bench/throughput_corpus.py)")
    parser.add_argument("--redis", help="Redis URL for the index runs (its database is emptied)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--runner", default="dask", choices=("dask", "process"))
    args = parser.parse_args()
    rows = []
    for workers in args.workers:
        for index in ([None, args.redis] if args.redis else [None]):
            rows.append(one_run(str(Path(args.corpus).resolve()), workers, index, args.runner))
            print(json.dumps(rows[-1]), flush=True)
    columns = list(rows[0])
    print("\n| " + " | ".join(columns) + " |\n|" + "---|" * len(columns))
    for row in rows:
        print("| " + " | ".join(str(row.get(c, "")) for c in columns) + " |")


if __name__ == "__main__":
    main()
