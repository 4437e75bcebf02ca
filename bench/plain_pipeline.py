"""The pipeline without Prefect: what `ingest run` costs above the library's own work.

    python bench/plain_pipeline.py INPUT --out DIR [--workers N]

Runs `ingest.pipeline.run` with the default config on a pool of N spawned worker
processes (as `ingest run` starts them: importing the pipeline, not Prefect), with no
Prefect API, flow or tasks. bench/compare.py runs it beside `ingest run` on the same
corpus: the difference of their wall times is Prefect's own overhead.
"""

from __future__ import annotations

import argparse
import importlib
import itertools
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

from ingest import pipeline
from ingest.config import load_config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("input", help="input file or folder")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="worker processes (default: cores)")
    args = parser.parse_args()
    with ProcessPoolExecutor(args.workers, mp_context=multiprocessing.get_context("spawn"),
                             initializer=importlib.import_module, initargs=("ingest.pipeline",)) as pool:

        def mapper(phase: str, items: list[tuple]) -> list:
            return list(pool.map(pipeline.run_phase, itertools.repeat(phase), items))

        report = pipeline.run([args.input], args.out, load_config(None), mapper=mapper, workers=args.workers)
    c = report["counts"]
    print(f"{c['inputs']} inputs: {c['documents']} documents, {c['duplicates']} duplicates, {c['rejected']} rejected")


if __name__ == "__main__":
    main()
