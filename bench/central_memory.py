"""How much memory each central step of a run allocates in the flow's process (tracemalloc).

    python bench/central_memory.py CORPUS/shards [--workers 2] [--config FILE] [--out DIR]

Runs `ingest.run.pipeline.run` with the batches in a pool of worker processes (as
`ingest run` does, without Prefect) and traces, in this process only, the Python and
numpy allocations of each central step: dedup, the choice of story pairs for passages,
the passages grouped by batch, and the write step's decisions. Printed per step: the
traced peak above what was allocated when it began, and what it left allocated.
tracemalloc sees no memory-mapped pages; the RSS of this process at each step's end is
printed beside it. `--out` keeps the run's outputs there (to compare them with
bench/same_outputs.py's `differences`).
"""

from __future__ import annotations

import argparse
import functools
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from ingest.config import load_config
from ingest.run import pipeline

MIB = 1 << 20
STEPS = ("deduplicate", "passage_tasks", "passages_by_batch")


def rss() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def traced(name: str, fn, rows: list):
    @functools.wraps(fn)
    def step(*args, **kwargs):
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        t = time.perf_counter()
        result = fn(*args, **kwargs)
        now, peak = tracemalloc.get_traced_memory()
        rows.append((name, (peak - before) / MIB, (now - before) / MIB, rss() / MIB, time.perf_counter() - t))
        return result
    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("shards", type=Path)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--config", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=None, help="where the outputs are kept (default: removed)")
    args = parser.parse_args()
    config = load_config(args.config)
    rows: list = []
    for name in STEPS:
        setattr(pipeline, name, traced(name, getattr(pipeline, name), rows))
    from flows.workers import local_workers, run_batches  # noqa: PLC0415 (the pool the CLI uses)
    with tempfile.TemporaryDirectory() as work, local_workers(args.workers):
        tracemalloc.start()
        report = pipeline.run([str(args.shards)], args.out or work, config, mapper=run_batches, workers=args.workers)
    print(f"{report['counts']}, peak RSS of this process {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    print("| step | traced peak MiB | left MiB | RSS after MiB | s |")
    print("|---|---:|---:|---:|---:|")
    for name, peak, left, after, secs in rows:
        print(f"| {name} | {peak:.1f} | {left:.1f} | {after:.0f} | {secs:.1f} |")


if __name__ == "__main__":
    sys.exit(main())
