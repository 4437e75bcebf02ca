"""The state folder's lock (`STATE/ingest.lock`): runs on one state folder take turns.

An exclusive flock held for a whole run: dedup must see every earlier run's documents
in the index, so runs on one state folder are serialised, not merely kept apart on
their inputs.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

LOCK_NAME = "ingest.lock"


class StateLock:
    """An exclusive flock on STATE/ingest.lock for the length of a run.

    The kernel drops it when the holder exits, even by SIGKILL, so a crash never
    leaves a stale lock.  The holder writes its pid into the file for the message of a
    run that finds it held.
    """

    def __init__(self, folder: Path, name: str = LOCK_NAME) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / name
        # O_CLOEXEC: worker processes started by exec must not inherit (and hold) it.
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)

    def acquire(self) -> bool:
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, f"{os.getpid()}\n".encode(), 0)
        return True

    def wait(self) -> None:
        """Block until the lock is free, then hold it."""
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, f"{os.getpid()}\n".encode(), 0)

    def holder(self) -> str:
        return os.pread(self._fd, 32, 0).decode(errors="replace").strip() or "?"

    def close(self) -> None:
        os.close(self._fd)  # releases the lock if held
