"""Where a local run's batches run: worker processes that import the pipeline, not Prefect."""

from __future__ import annotations

import os
import time

from prefect.task_runners import ThreadPoolTaskRunner

from flows import runners
from flows.runners import local_workers, read_ahead, run_batches, task_runner, widen_read_ahead


def _in_workers(expression: str) -> set:
    """What `expression` evaluates to in the local workers (eval is picklable by name)."""
    pool = runners._pool
    assert pool is not None
    return {pool.submit(eval, expression).result() for _ in range(8)}


def test_local_workers_are_other_processes_without_prefect() -> None:
    with local_workers(2):
        pids = _in_workers("__import__('os').getpid()")
        assert os.getpid() not in pids
        assert 1 <= len(pids) <= 2
        assert _in_workers("'ingest.pipeline' in __import__('sys').modules") == {True}
        assert _in_workers("'prefect' in __import__('sys').modules") == {False}
    assert runners._pool is None


def test_an_open_block_serves_the_blocks_inside_it() -> None:
    with local_workers(2):
        outer = runners._pool
        with local_workers(3):
            assert runners._pool is outer
        assert runners._pool is outer  # the inner block does not stop the outer's workers
    assert runners._pool is None


def test_batches_run_in_the_workers_and_come_back_in_order(seeds, tmp_path) -> None:
    from ingest.config import load_config
    from ingest.pipeline import Workspace
    from ingest.read import discover

    config = load_config(None)
    workspace = Workspace(tmp_path / "work")
    workspace.create()
    files = discover([str(seeds)], config.read)
    args = [(i, [f], config, workspace) for i, f in enumerate(files)]
    here = run_batches("prepare", args)
    with local_workers(2):
        there = run_batches("prepare", args)
    assert [s.batch for s in there] == list(range(len(files)))
    assert [(s.inputs, s.bytes_read, s.group_docs) for s in there] == [(s.inputs, s.bytes_read, s.group_docs)
                                                                       for s in here]


def test_local_tasks_run_on_threads_that_hand_batches_to_the_workers() -> None:
    runner, parallelism = task_runner("process", 2, None, "http://127.0.0.1:1/api")
    assert isinstance(runner, ThreadPoolTaskRunner)
    assert parallelism == 2


def test_prepare_batches_read_ahead_are_collected_not_run_again(seeds, tmp_path) -> None:
    import shutil

    from ingest.config import load_config
    from ingest.pipeline import plan_run

    inputs = tmp_path / "inputs"
    shutil.copytree(seeds, inputs)
    plan = plan_run([str(inputs)], tmp_path / "out", load_config(None), 2)
    assert len(plan.batches) > 1
    with local_workers(2):
        read_ahead(plan, lanes=1)
        widen_read_ahead(2)
        ahead = runners._ahead
        while ahead._waiting or not all(f.done() for f in ahead._started.values()):
            time.sleep(0.01)
        shutil.rmtree(inputs)  # prepared again, the batches would find no input
        collected = run_batches("prepare", plan.prepare_args())
    assert [s.batch for s in collected] == list(range(len(plan.batches)))
    assert sum(s.inputs for s in collected) == len(list(seeds.iterdir())) and not any(s.rejected for s in collected)


def test_read_ahead_keeps_to_its_lanes_and_leaves_unstarted_batches_to_the_tasks(seeds, tmp_path) -> None:
    from ingest.config import load_config
    from ingest.pipeline import plan_run

    plan = plan_run([str(seeds)], tmp_path / "out", load_config(None), 2)
    with local_workers(2):
        busy = [runners._pool.submit(time.sleep, 1.0) for _ in range(2)]  # the lane's batch waits behind these
        read_ahead(plan, lanes=1)
        first, *rest = plan.prepare_args()
        assert runners._ahead.claim(first) is not None  # started at once
        assert all(runners._ahead.claim(args) is None for args in rest)  # one lane: still waiting
        for future in busy:
            future.result()
        collected = run_batches("prepare", plan.prepare_args())  # the waiting ones run here
    assert [s.batch for s in collected] == list(range(len(plan.batches)))
