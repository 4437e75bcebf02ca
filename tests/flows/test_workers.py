"""Where a local run's batches run: worker processes that import the pipeline, not Prefect."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import threading

import pytest

from flows import workers
from flows.workers import local_workers, read_ahead, run_batches
from tests.processes import wait_for

WAIT_SECONDS = 120  # a few batches of the seeds, on a busy machine


def _in_workers(expression: str) -> set:
    """What `expression` evaluates to in the local workers (eval is picklable by name)."""
    pool = workers._pool
    assert pool is not None
    return {pool.submit(eval, expression).result(timeout=WAIT_SECONDS) for _ in range(8)}


def test_local_workers_are_other_processes_without_prefect() -> None:
    with local_workers(2):
        pids = _in_workers("__import__('os').getpid()")
        assert os.getpid() not in pids
        assert 1 <= len(pids) <= 2
        assert _in_workers("'ingest.run.pipeline' in __import__('sys').modules") == {True}
        assert _in_workers("'prefect' in __import__('sys').modules") == {False}
    assert workers._pool is None


def test_an_open_block_serves_the_blocks_inside_it() -> None:
    with local_workers(2):
        outer = workers._pool
        with local_workers(3):
            assert workers._pool is outer
        assert workers._pool is outer  # the inner block does not stop the outer's workers
    assert workers._pool is None


def test_batches_run_in_the_workers_and_come_back_in_order(seeds, tmp_path) -> None:
    from ingest.config import load_config
    from ingest.read.files import discover
    from ingest.workspace import Workspace

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


def _wait_until_idle(ahead) -> None:
    wait_for(lambda: not ahead._waiting and all(future.done() for _, future in ahead._started.values()),
             WAIT_SECONDS, "the read-ahead finishing its batches")


def test_batches_read_ahead_are_collected_not_run_again(seeds, tmp_path) -> None:
    import shutil

    from ingest.clean.boilerplate import learn_boilerplate
    from ingest.config import load_config
    from ingest.run.pipeline import plan_run

    inputs = tmp_path / "inputs"
    shutil.copytree(seeds, inputs)
    plan = plan_run([str(inputs)], tmp_path / "out", load_config(None), 2)
    assert len(plan.batches) > 1
    with local_workers(2):
        read_ahead(plan, lanes=1)
        ahead = workers._ahead
        _wait_until_idle(ahead)  # prepared, then cleaned, on one lane
        shutil.rmtree(inputs)  # prepared again, the batches would find no input
        for prepared in plan.workspace.root.glob("prepared-*.jsonl"):
            prepared.unlink()  # cleaned again, they would find no prepared rows
        summaries = run_batches("prepare", plan.prepare_args())
        cleaned = run_batches("clean", plan.clean_args(learn_boilerplate(summaries, plan.config)))
    assert [s.batch for s in summaries] == [s.batch for s in cleaned] == list(range(len(plan.batches)))
    assert sum(s.inputs for s in summaries) == len(list(seeds.iterdir())) and not any(s.rejected for s in summaries)
    assert sum(len(s.documents) for s in cleaned) == len(list(seeds.iterdir()))
    assert "clean" in plan.started_ahead


def test_a_batch_read_ahead_with_other_arguments_is_run_again(seeds, tmp_path) -> None:
    from ingest.clean.boilerplate import learn_boilerplate
    from ingest.config import load_config
    from ingest.run.pipeline import plan_run

    plan = plan_run([str(seeds)], tmp_path / "out", load_config(None), 2)
    with local_workers(2):
        read_ahead(plan, lanes=2)
        _wait_until_idle(workers._ahead)
        learned = learn_boilerplate(run_batches("prepare", plan.prepare_args()), plan.config)
        other = learned | {("no such group", 1)}
        first, *_ = plan.clean_args(other)
        assert workers._ahead.claim("clean", first) is None  # cleaned ahead, but with the boilerplate learned
        cleaned = run_batches("clean", plan.clean_args(other))
    assert sum(len(s.documents) for s in cleaned) == len(list(seeds.iterdir()))


def test_read_ahead_keeps_to_its_lanes_and_leaves_unstarted_batches_to_the_tasks(seeds, tmp_path) -> None:
    from ingest.config import load_config
    from ingest.run.pipeline import plan_run

    plan = plan_run([str(seeds)], tmp_path / "out", load_config(None), 2)
    with multiprocessing.Manager() as manager, local_workers(2):
        release = manager.Event()
        # Both workers wait for `release`: the lane's batch queues behind them, and stays
        # unfinished for as long as the test needs it to.
        busy = [workers._pool.submit(release.wait, WAIT_SECONDS) for _ in range(2)]
        read_ahead(plan, lanes=1)
        ahead = workers._ahead
        first, *rest = plan.prepare_args()
        assert ahead._running == 1 and ("prepare", first[0]) in ahead._started  # started at once, alone
        assert all(ahead.claim("prepare", args) is None for args in rest)  # still waiting: the tasks run them
        release.set()
        assert [future.result(timeout=WAIT_SECONDS) for future in busy] == [True, True]
        collected = run_batches("prepare", plan.prepare_args())
        _wait_until_idle(ahead)
        assert not any(phase == "clean" for phase, _ in ahead._started)  # the flow prepared some: it cleans
    assert [s.batch for s in collected] == list(range(len(plan.batches)))
    assert "clean" not in plan.started_ahead


def test_a_run_without_input_collects_nothing_and_does_not_wait(tmp_path) -> None:
    from ingest.config import load_config
    from ingest.run.pipeline import plan_run

    (tmp_path / "empty").mkdir()
    plan = plan_run([str(tmp_path / "empty")], tmp_path / "out", load_config(None), 2)
    collected: list = []
    with local_workers(2):
        read_ahead(plan, lanes=1)
        collecting = threading.Thread(target=lambda: collected.append(run_batches("prepare", plan.prepare_args())),
                                      daemon=True)
        collecting.start()
        collecting.join(timeout=WAIT_SECONDS)
        assert not collecting.is_alive(), "the prepare task waited for a read-ahead that had nothing to read"
    assert collected == [[]]


_START_METHOD = """
import sys, threading
import json.tool  # imported here only: a forked worker has it, a spawned one does not
if sys.argv[1] == "thread":  # alive until the process ends, however long the imports below take
    threading.Thread(target=threading.Event().wait, daemon=True).start()
if sys.argv[1] == "prefect":
    import prefect
from flows import workers
with workers.local_workers(2):
    pool = workers._pool
    print(pool._mp_context.get_start_method(), pool.submit(eval, "'json.tool' in __import__('sys').modules").result(timeout=120))
"""


@pytest.mark.parametrize(("before", "expected"), [("nothing", "fork True"), ("thread", "spawn False"),
                                                  ("prefect", "spawn False")])
def test_workers_are_forked_only_from_a_process_without_threads_or_prefect(before: str, expected: str) -> None:
    result = subprocess.run([sys.executable, "-c", _START_METHOD, before], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == expected.split()
