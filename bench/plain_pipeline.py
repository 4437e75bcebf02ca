"""The pipeline without Prefect: what `ingest run` costs above the library's own work.

    python bench/plain_pipeline.py INPUT --out DIR [--workers N]

Runs `ingest.run.pipeline.run` with the default config on the worker processes `ingest
run` uses (`flows.workers.local_workers`: forked from a process without Prefect, each
phase's batches queued on them by `run_batches`), with no Prefect API, flow or tasks,
and so nothing to read ahead of. bench/compare.py runs it beside `ingest run` on the
same corpus: the difference of their wall times is Prefect's own overhead.
"""

from __future__ import annotations

import argparse
import gc
import os

os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")  # as the CLI sets it (ingest/cli/main.py)

from ingest.run.memory import frozen_imports  # noqa: E402 (after the setting above)

# As the CLI imports them: the forked workers inherit the frozen heap.
with frozen_imports():
    from flows.workers import local_workers, run_batches
    from ingest.config import load_config
    from ingest.run import pipeline


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("input", help="input file or folder")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="worker processes (default: cores)")
    args = parser.parse_args()
    config = load_config(None)
    with local_workers(args.workers):
        report = pipeline.run([args.input], args.out, config, mapper=run_batches, workers=args.workers)
    gc.freeze()  # no collections over the whole heap at exit, as in the CLI
    c = report["counts"]
    print(f"{c['inputs']} inputs: {c['documents']} documents, {c['duplicates']} duplicates, {c['rejected']} rejected")


if __name__ == "__main__":
    main()
