"""Which failed tasks Prefect runs again: transient I/O errors only.

A batch task reads inputs and writes spilled batches to the workspace; a network file
system that stalls, a disk that reports EIO once, a full disk that a clean-up frees, or
too many open files are worth another try after a pause.  Bad input never gets here
(the batch functions turn it into reject records), and any other exception is a bug
or a deterministic failure (no permission, a missing folder) that a retry would only
repeat.  Batch tasks are idempotent (each rewrites its own spill files atomically), so
running one again is safe.
"""

from __future__ import annotations

import errno
from typing import Any

TRANSIENT_ERRNOS = frozenset({
    errno.EIO, errno.EAGAIN, errno.EBUSY, errno.EINTR, errno.ETIMEDOUT, errno.ESTALE, errno.ENOSPC,
    errno.EDQUOT, errno.EMFILE, errno.ENFILE, errno.ENOLCK, errno.ECONNRESET, errno.ECONNABORTED,
    errno.ECONNREFUSED, errno.ENETDOWN, errno.ENETUNREACH, errno.EHOSTUNREACH,
})


def is_transient(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in TRANSIENT_ERRNOS


def retry_transient(task: Any, task_run: Any, state: Any) -> bool:
    """Prefect's retry_condition_fn: retry only when the task failed on transient I/O."""
    return is_transient(state.result(raise_on_failure=False))


# Task options: three more tries, after about 2, 10 and 30 seconds.
RETRY_TRANSIENT_IO: dict[str, Any] = {
    "retries": 3,
    "retry_delay_seconds": [2, 10, 30],
    "retry_jitter_factor": 0.5,
    "retry_condition_fn": retry_transient,
}
