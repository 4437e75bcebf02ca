"""The dedup phase alone, of any revision, on one corpus cleaned once: its CPU and decisions.

    python bench/dedup_phase.py clean INPUT --into DIR [--workers N]
    PYTHONPATH=TREE python bench/dedup_phase.py time DIR [--out-of-core] [--decisions FILE] [--workers N]

`clean` runs the prepare and clean phases of this checkout on the worker processes
`ingest run` uses and keeps their workspace (`DIR/.ingest-work`) and summaries
(`DIR/cleaned.pickle`). `time` runs `ingest.run.decide.deduplicate` of the revision
first on `PYTHONPATH` over them (the candidate pairs verified on fresh workers, as a run
verifies them; `--out-of-core`: as `[run] central_memory_mib = 0` decides) and prints
the flow process's CPU, the workers' CPU (theirs in the phase: the pool is shut down
after it), the wall and the dedup stats as JSON; `--decisions FILE` writes every
document's decision, to compare two revisions'. The spilled words of a later
revision hold more kinds than an earlier one reads: an earlier revision ignores them.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import pickle
import resource
import time
from pathlib import Path

from ingest.run.memory import frozen_imports

with frozen_imports():
    from flows.workers import local_workers, run_batches
    from ingest.config import load_config


def _clean(args: argparse.Namespace) -> None:
    from ingest.run import pipeline

    config = load_config(None)
    with local_workers(args.workers):
        plan = pipeline.plan_run([args.input], args.into, config, args.workers)
        prepared = run_batches("prepare", plan.prepare_args())
        boilerplate = pipeline.learn_boilerplate(prepared, config)
        cleaned = run_batches("clean", plan.clean_args(boilerplate))
    with open(Path(args.into) / "cleaned.pickle", "wb") as f:
        pickle.dump((cleaned, plan.started), f)
    print(f"{sum(len(s.documents) for s in cleaned)} documents cleaned into {plan.workspace.root}")


def _time(args: argparse.Namespace) -> None:
    from ingest.run.decide import deduplicate
    from ingest.run.memory import collection_paused
    from ingest.run.spill import SpilledWords
    from ingest.workspace import Workspace

    config = load_config(None)
    with open(Path(args.dir) / "cleaned.pickle", "rb") as f:
        cleaned, added = pickle.load(f)
    workspace = Workspace(Path(args.dir) / ".ingest-work")
    words = SpilledWords(workspace)
    spill_to = Path(args.dir) / "spill" if args.out_of_core else None
    if spill_to is not None:
        spill_to.mkdir(exist_ok=True)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    with local_workers(args.workers), collection_paused():  # as a run decides
        wall, cpu = time.perf_counter(), time.process_time()
        _, result = deduplicate(cleaned, config, words, added, None, spill_to, run_batches, workspace)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    workers = (after.ru_utime + after.ru_stime) - (children.ru_utime + children.ru_stime)
    words.close()
    if args.decisions:
        Path(args.decisions).write_text(json.dumps({k: dataclasses.asdict(d) for k, d in sorted(result.decisions.items())}))
    print(json.dumps({"flow_cpu": round(cpu, 2), "workers_cpu": round(workers, 2), "wall": round(wall, 2),
                      "load": os.getloadavg()[0], "stats": result.stats}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    clean = sub.add_parser("clean")
    clean.add_argument("input")
    clean.add_argument("--into", required=True)
    timed = sub.add_parser("time")
    timed.add_argument("dir")
    timed.add_argument("--out-of-core", action="store_true")
    timed.add_argument("--decisions")
    for p in (clean, timed):
        p.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    (_clean if args.command == "clean" else _time)(args)


if __name__ == "__main__":
    main()
