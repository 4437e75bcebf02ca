"""datatrove's counterpart of `ingest run`, as bench/compare.py runs it (in datatrove's own venv).

    bench/.venv-datatrove/bin/python bench/datatrove_pipeline.py --input CORPUS --work DIR

Four LocalPipelineExecutor stages, the layout of datatrove's MinHash example, with the
text repaired by ftfy once:

1. signatures (`--tasks` tasks): JsonlReader(CORPUS) -> FTFYFormatter ->
   JsonlWriter(DIR/fixed) -> MinhashDedupSignature(DIR/signatures)
2. buckets (one task per bucket, as MinhashDedupBuckets requires):
   MinhashDedupBuckets(DIR/signatures -> DIR/buckets)
3. cluster (1 task, as required): MinhashDedupCluster(DIR/buckets -> DIR/remove),
   saving cluster ids
4. filter (`--tasks` tasks): JsonlReader(DIR/fixed) -> MinhashDedupFilter(loads the
   cluster ids, removed documents to JsonlWriter(DIR/removed)) -> JsonlWriter(DIR/output)

Stage 4 re-reads the repaired text written in stage 1: the writer names its files by
rank and the reader shards the sorted file list by rank, so each rank of stage 4 sees
the documents of the same rank of stage 1 in the same order, which is what the
MinHash filter's per-rank document indices need.  Outputs are uncompressed JSONL, like
ingest's.  MinhashConfig is datatrove's default (5-gram shingles of its spaCy English
word tokens after `simplify_text`, 14 buckets x 8 hashes: LSH threshold about
(1/14)^(1/8) = 0.72; no verification of candidates).

Prints one JSON line: the wall seconds of each stage.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

from datatrove.executor.local import LocalPipelineExecutor
from datatrove.pipeline.dedup.minhash import (
    MinhashConfig,
    MinhashDedupBuckets,
    MinhashDedupCluster,
    MinhashDedupFilter,
    MinhashDedupSignature,
)
from datatrove.pipeline.formatters import FTFYFormatter
from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.writers import JsonlWriter


def stages(corpus: Path, work: Path, tasks: int, workers: int) -> list[tuple[str, LocalPipelineExecutor]]:
    """The four executors, in order, each with its own logging folder."""
    config = MinhashConfig()

    def executor(name: str, pipeline: list, n_tasks: int) -> tuple[str, LocalPipelineExecutor]:
        return name, LocalPipelineExecutor(pipeline=pipeline, tasks=n_tasks, workers=min(workers, n_tasks),
                                           logging_dir=str(work / "logs" / name))

    return [
        executor("signatures", [
            JsonlReader(str(corpus), glob_pattern="shard-*.jsonl"),
            FTFYFormatter(),
            JsonlWriter(str(work / "fixed"), compression=None),
            MinhashDedupSignature(output_folder=str(work / "signatures"), config=config),
        ], tasks),
        executor("buckets", [
            MinhashDedupBuckets(input_folder=str(work / "signatures"), output_folder=str(work / "buckets"),
                                config=config),
        ], config.num_buckets),
        executor("cluster", [
            MinhashDedupCluster(input_folder=str(work / "buckets"), output_folder=str(work / "remove"),
                                config=config, save_cluster_id=True),
        ], 1),
        executor("filter", [
            JsonlReader(str(work / "fixed")),
            MinhashDedupFilter(input_folder=str(work / "remove"), load_cluster_ids=True,
                               exclusion_writer=JsonlWriter(str(work / "removed"), compression=None)),
            JsonlWriter(str(work / "output"), compression=None),
        ], tasks),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--input", type=Path, required=True, help="corpus folder (shard-*.jsonl)")
    parser.add_argument("--work", type=Path, required=True, help="working and output folder (emptied first)")
    parser.add_argument("--tasks", type=int, default=2, help="tasks of the signature and filter stages")
    parser.add_argument("--workers", type=int, default=2, help="worker processes of each stage")
    args = parser.parse_args()
    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    seconds = {}
    for name, executor in stages(args.input, args.work, args.tasks, args.workers):
        started = time.perf_counter()
        executor.run()
        seconds[name] = round(time.perf_counter() - started, 3)
    print(json.dumps({"stage_seconds": seconds}))


if __name__ == "__main__":
    main()
