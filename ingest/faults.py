"""Fault injection for the tests: a run that fails at a named point, on purpose.

`INGEST_FAULT=POINT:ACTION[:FILE]` in the environment of a run (and so of its worker
processes) makes the first process that reaches POINT do ACTION there. Unset, as in
every real run, `fault_point` only reads the environment. The points:

- `prepare`, `clean`, `passages`, `write`: a batch of that phase starts (in a worker);
- `claimed`: an inbox run has claimed its inputs and created its staging folder;
- `written`: the output files are in place, the index not yet updated;
- `indexed`: the index is updated and report.json written, the ledger not yet committed;
- `committed`: the ledger is committed, the staging folder not yet renamed.

The actions:

- `kill`: SIGKILL to the process group: the command and its workers at once, as a crash;
- `stop`: SIGSTOP to this process alone, until the test sends SIGCONT (the run waits
  for it meanwhile, as for a batch that hangs);
- `eio`: raise `OSError(EIO)`, a transient I/O error.

With FILE, only the process that creates FILE does ACTION (it writes its pid there), so
a fault fires once in a run and in its retries.
"""

from __future__ import annotations

import errno
import os
import signal

ENV = "INGEST_FAULT"
ACTIONS = ("kill", "stop", "eio")


def fault_point(point: str) -> None:
    """Do what INGEST_FAULT says for `point`, if it names it."""
    spec = os.environ.get(ENV)
    if not spec:
        return
    name, action, *once = spec.split(":", 2)
    if name != point:
        return
    if action not in ACTIONS:
        raise ValueError(f"{ENV}={spec}: the action must be one of {', '.join(ACTIONS)}")
    if once:
        try:
            fd = os.open(once[0], os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return  # fired already, in this run or an earlier attempt
        os.write(fd, f"{os.getpid()}\n".encode())
        os.close(fd)
    if action == "kill":
        os.killpg(os.getpgrp(), signal.SIGKILL)
    elif action == "stop":
        os.kill(os.getpid(), signal.SIGSTOP)
    else:
        raise OSError(errno.EIO, f"Input/output error (injected by {ENV} at {point})")
