"""The scheduled ingestion flow: each run ingests what is new in an inbox folder.

`ingest_inbox` is the deployment's entry point (`ingest serve`, prefect.yaml).  It runs
`ingest.run.inbox.ingest_new` (lock, ledger, partition, manifest) as a subflow on the
configured task runner (local worker processes, or a Dask cluster with
`[run] runner = "dask"`), with the batch phases as the same retried tasks as
`ingest run`, then publishes the run's report as a markdown artifact.  The subflow
exists because a served deployment is loaded from its entry point, where a task runner
chosen at call time (`with_options`) would be lost.
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any

from prefect import flow
from prefect.artifacts import create_markdown_artifact
from prefect.settings import PREFECT_API_URL

from flows.artifacts import ARTIFACT_KEY, outcome_markdown
from flows.ingest_flow import task_mapper
from flows.runners import task_runner
from flows.workers import local_workers, resolve_runner, worker_count
from ingest.config import load_config
from ingest.run.inbox import ingest_new


@flow(name="ingest-inbox-run", validate_parameters=True)
def ingest_inbox_run(inbox: str, out: str, state: str, config_path: str | None, workers: int,
                     output_format: str | None = None, load_into: str | None = None) -> dict[str, Any]:
    """One incremental run, with batches as tasks on this flow's task runner."""
    config = load_config(config_path).with_format(output_format)
    return ingest_new(inbox, out, state, config, mapper=task_mapper(workers), workers=workers,
                      load_into=load_into).to_json()


@flow(name="ingest-inbox", validate_parameters=True)
def ingest_inbox(inbox: str, out: str, state: str, config_path: str | None = None,
                 workers: int | None = None, output_format: str | None = None,
                 load_into: str | None = None) -> dict[str, Any]:
    """Ingest the files of `inbox` not ingested before into a new partition of `out`.

    `state` holds the ledger and the near-duplicate index shared by all runs;
    `workers` defaults to [run] workers of the config, else one per core;
    `output_format` ("jsonl", "parquet") overrides the config's [write] format;
    `load_into` (duckdb:PATH, iceberg:FOLDER) loads each partition once published.
    """
    run_config = load_config(config_path).run
    workers = worker_count(workers, run_config)
    # [run] runner and dask_address of the config choose local workers or a Dask cluster.
    kind, address = resolve_runner(run_config, None, None)
    runner, parallelism = task_runner(kind, workers, address, PREFECT_API_URL.value())
    pooled = ingest_inbox_run.with_options(task_runner=runner)
    with local_workers(workers) if kind == "process" else nullcontext():
        outcome = pooled(inbox=inbox, out=out, state=state, config_path=config_path, workers=parallelism,
                         output_format=output_format, load_into=load_into)
    create_markdown_artifact(key=ARTIFACT_KEY, markdown=outcome_markdown(outcome), description=outcome["message"])
    return outcome
