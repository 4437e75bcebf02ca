"""What every store's loader shares: the one-line error, the summary, the kill points.

A kill point is a named moment of a load where, when `INGEST_LOAD_KILL_AT` names it, the
loader kills itself with SIGKILL: how the tests stop a load at a chosen moment, with
nothing cleaned up, as `kill -9` or a power cut would.
"""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass, field

KILL_AT_VARIABLE = "INGEST_LOAD_KILL_AT"


class LoadError(Exception):
    """A load that cannot go on: one line naming the output, partition or store."""


@dataclass
class LoadSummary:
    """What one load did: partitions loaded now, partitions loaded before, rows added by table."""

    store: str
    loaded: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)

    def add_rows(self, table: str, count: int) -> None:
        self.rows[table] = self.rows.get(table, 0) + count

    def message(self) -> str:
        rows = ", ".join(f"{n} {table}" for table, n in self.rows.items()) or "no rows"
        return (f"{len(self.loaded)} partitions loaded into {self.store} ({rows}); "
                f"{len(self.skipped)} loaded before")


def kill_point(name: str) -> None:
    """SIGKILL this process here when INGEST_LOAD_KILL_AT names this point."""
    if os.environ.get(KILL_AT_VARIABLE) == name:
        os.kill(os.getpid(), signal.SIGKILL)
