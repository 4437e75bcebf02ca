"""Where a flow's tasks run: on threads that hand their batches to the local workers."""

from __future__ import annotations

from prefect.task_runners import ThreadPoolTaskRunner

from flows.runners import task_runner


def test_local_tasks_run_on_threads_that_hand_batches_to_the_workers() -> None:
    runner, parallelism = task_runner("process", 2, None, "http://127.0.0.1:1/api")
    assert isinstance(runner, ThreadPoolTaskRunner)
    assert parallelism == 2
