"""The flow's process's peak memory in each step of `ingest run`, measured, not sampled.

    python bench/flow_peak.py INPUT... --out DIR [--config FILE] [--timeline FILE] [-- RUN OPTIONS]

Runs `ingest run INPUT... --out DIR --no-progress` in this process, as the CLI
does (the flow on a temporary Prefect API, its batches in the local workers), with
the pipeline's steps wrapped: at each step's start and end the process's peak RSS
since the last mark is read (`VmHWM`) and reset (`/proc/self/clear_refs`), so each
step's peak is the kernel's, whatever happens between samples. A step's nested steps
(the verify phase inside dedup) count towards it; the stretches between steps are
named after the step before them ("after passage_tasks"). Printed, per step: when it
started (s since the first mark), how long it took, the RSS at its start and end, and
its peak, in MiB. `--timeline` also writes the RSS every 0.1 s (from the first mark
on: a thread started earlier would keep the CLI from forking its workers).
"""

from __future__ import annotations

import argparse
import functools
import sys
import threading
import time
from pathlib import Path

KIB = 1024
MIB = 1 << 20
# The pipeline's steps in the flow's process, by the module that `_run` and `deduplicate` call them from.
PIPELINE_STEPS = ("learn_boilerplate", "central_spill", "deduplicate", "settle", "passage_tasks",
                  "passages_by_batch", "spill_sides", "write_documents", "write_rejects", "build_report")
DEDUP_STEPS = ("run", "_verified_pairs", "_cluster", "_kept_verified")


def status(field: str) -> int:
    """A field of /proc/self/status, in bytes."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * KIB
    return 0


class Marks:
    """Each stretch between two marks: its name, start, end, RSS at its end and peak RSS."""

    def __init__(self) -> None:
        self.started: float | None = None
        self.stack: list[str] = []
        self.stretches: list[tuple[tuple[str, ...], float, float, int, int]] = []
        self.after: str = "start"
        self.timeline: list[tuple[float, int]] = []
        self.items: dict[str, list[int]] = {}  # how many batches or chunks each call of a phase ran
        self._lock = threading.Lock()
        self._last = 0.0

    def mark(self) -> None:
        with self._lock:
            now = time.perf_counter()
            if self.started is None:
                self.started = self._last = now
                threading.Thread(target=self._sample, daemon=True).start()
            name = tuple(self.stack) if self.stack else (f"after {self.after}",)
            self.stretches.append((name, self._last - self.started, now - self.started, status("VmRSS"),
                                   status("VmHWM")))
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")  # resets VmHWM to the RSS now
            self._last = now

    def _sample(self) -> None:
        while True:
            self.timeline.append((time.perf_counter() - self.started, status("VmRSS")))
            time.sleep(0.1)

    def wrap(self, name: str, fn):
        @functools.wraps(fn)
        def step(*args, **kwargs):
            self.mark()
            self.stack.append(name)
            try:
                return fn(*args, **kwargs)
            finally:
                self.mark()
                self.stack.pop()
                if not self.stack:
                    self.after = name
        return step

    def table(self) -> list[tuple[str, float, float, float, float, float]]:
        """(step, start s, seconds, RSS at start, end, peak MiB), steps in order of their start."""
        rows: dict[str, list] = {}
        rss_before = 0
        for name, start, end, rss, peak in self.stretches:
            for depth in range(len(name)):
                step = " > ".join(name[: depth + 1])
                row = rows.setdefault(step, [start, end, rss_before, rss, peak])
                row[1], row[3], row[4] = end, rss, max(row[4], peak)
            rss_before = rss
        return [(step, s, e - s, a / MIB, b / MIB, p / MIB) for step, (s, e, a, b, p) in rows.items()]


def install(marks: Marks) -> None:
    """Wrap the steps, and each phase the run's mapper runs. Prefect is not imported
    here: the CLI forks its workers only from a process without it."""
    from ingest.dedup.clusters import Deduplicator
    from ingest.run import pipeline

    for name in PIPELINE_STEPS:
        setattr(pipeline, name, marks.wrap(name, getattr(pipeline, name)))
    for name in DEDUP_STEPS:
        setattr(Deduplicator, name, marks.wrap(name, getattr(Deduplicator, name)))
    run = pipeline._run

    def marked(mapper):
        def phase_marked(phase, args):
            marks.items.setdefault(phase, []).append(len(args))
            return marks.wrap(f"phase {phase}", mapper)(phase, args)
        return phase_marked

    def run_marked(plan, mapper, state):
        return run(plan, marked(mapper), state)

    pipeline._run = run_marked


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("inputs", nargs="+", type=Path, help="files and folders")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--config", type=Path, default=None)
    parser.add_argument("--timeline", type=Path, default=None, help="where to write (s, RSS MiB) every 0.1 s")
    parser.add_argument("run_options", nargs="*", help="more options of `ingest run` (after --)")
    args = parser.parse_args()
    marks = Marks()
    install(marks)
    from ingest.cli.main import main as cli

    command = ["run", *map(str, args.inputs), "--out", str(args.out), "--no-progress", *args.run_options]
    if args.config is not None:
        command += ["--config", str(args.config)]
    try:
        cli(command, standalone_mode=False)
    finally:
        marks.mark()  # the report written, the workspace removed, the flow's end
        print(f"peak RSS of the flow's process over the run: {max(p for *_, p in marks.stretches) / MIB:.0f} MiB")
        print("batches or chunks a phase ran:", ", ".join(f"{k} {'+'.join(map(str, v))}" for k, v in marks.items.items()))
        print("| step | start s | s | RSS at start MiB | at end MiB | peak MiB |")
        print("|---|---:|---:|---:|---:|---:|")
        for step, start, seconds, before, after, peak in marks.table():
            print(f"| {step} | {start:.1f} | {seconds:.1f} | {before:.0f} | {after:.0f} | {peak:.0f} |")
        if args.timeline is not None:
            args.timeline.write_text("".join(f"{t:.2f}\t{r / MIB:.1f}\n" for t, r in marks.timeline))


if __name__ == "__main__":
    sys.exit(main())
