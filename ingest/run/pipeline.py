"""A whole run: the stages over batches of input files, usable without Prefect.

Four phases run over batches (in the workers), with central steps between them (in
this process):

1. `prepare` (`ingest/run/prepare.py`): read, decode, extract and repair; each batch
   counts its lines per source group. Central: `learn_boilerplate`.
2. `clean` (`ingest/run/clean.py`): artefact rules and learned boilerplate with the
   audit trail; words, their marks, MinHash signatures and passage anchors spilled.
   Central: `deduplicate` (`ingest/run/decide.py`), whose candidate pairs are
   verified in the workers by chunks (the `verify` phase, in rounds:
   `ingest/dedup/pair_rounds.py`), the claim in a shared index, and the candidate
   story pairs for passage search.
3. `passages` (`ingest/run/passages.py`): the reused passages of those pairs.
4. `write` (`ingest/write/outputs.py`): each batch's share of documents and duplicates.
   Central: the output files and `report.json`, each written atomically, then the new
   documents into the index.

`run` strings them together; its `mapper` decides where batches run: in this process
by default, as Prefect tasks in `flows/`.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ingest.clean.boilerplate import learn_boilerplate
from ingest.config import Config
from ingest.dedup.decisions import NO_CLUSTER
from ingest.faults import fault_point
from ingest.index.claim import new_entries, settle
from ingest.index.location import open_index
from ingest.index.sqlite_index import StateIndex
from ingest.read.files import InputFile, discover
from ingest.run.batches import plan_batches
from ingest.run.clean import clean_batch
from ingest.run.decide import central_spill, deduplicate, verify_pair_chunk
from ingest.run.memory import collection_paused, release_freed_memory
from ingest.run.passages import (
    PASSAGE_SIDE,
    batch_sides,
    passage_batch,
    passage_tasks,
    passages_by_batch,
    spill_sides,
)
from ingest.run.prepare import prepare_batch
from ingest.run.report import build_report
from ingest.run.spill import SpilledWords
from ingest.workspace import Workspace
from ingest.write.jsonl import read_jsonl, write_json
from ingest.write.outputs import write_batch, write_documents
from ingest.write.rejects import write_rejects


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


# The phases that run over batches, by name; the mapper runs one phase over its
# batches: mapper(phase, [args, ...]) -> [result, ...] in order.
def write_phase_batch(batch: int, config: Config, workspace: Workspace, decisions: dict, added_before: dict,
                      passages: np.ndarray | None) -> dict[str, int]:
    """`write_batch`, with its sides of passages read from the workspace when None."""
    return write_batch(batch, config, workspace, decisions, added_before,
                       batch_sides(workspace, batch) if passages is None else passages)


PHASES: dict[str, Callable] = {"prepare": prepare_batch, "clean": clean_batch, "verify": verify_pair_chunk,
                               "passages": passage_batch, "write": write_phase_batch}
Mapper = Callable[[str, list[tuple]], list]


def run_phase(phase: str, args: tuple) -> Any:
    """One batch of a phase, by the phase's name."""
    fault_point(phase)
    try:
        # A batch's documents stay alive to its end: collections during it free almost
        # nothing (clean: 3 % of its CPU, in-process alternation over 16 batches; 317
        # cyclic objects were left after a first batch, none after later ones).
        with collection_paused():
            return PHASES[phase](*args)
    finally:
        release_freed_memory()


def serial_mapper(phase: str, args: list[tuple]) -> list:
    return [run_phase(phase, a) for a in args]


@dataclass(frozen=True)
class RunPlan:
    """A run's batches of inputs and its workspace, made before any batch runs, so that
    a caller can start the first batches before the rest of the run is ready (the
    flow's reads and cleaning go ahead while the Prefect API starts:
    `flows/workers.read_ahead`)."""

    config: Config
    out: Path
    workspace: Workspace
    batches: list[list[InputFile]]
    workers: int  # how many batches run at once: sized the batches, sizes the passage tasks
    started: str
    clock: float  # time.perf_counter() when planned: the prepare phase's time counts from here
    # Phases whose batches started before the flow's mapper ran them: time.perf_counter()
    # when they started, by phase ("clean"), set by the caller that started them.
    started_ahead: dict[str, float] = field(default_factory=dict, compare=False)

    def prepare_args(self) -> list[tuple]:
        return [(i, batch, self.config, self.workspace) for i, batch in enumerate(self.batches)]

    def clean_args(self, boilerplate: set[tuple[str, int]]) -> list[tuple]:
        """The clean batches' arguments, once `boilerplate` is learned from the prepare summaries."""
        return [(i, self.config, self.workspace, boilerplate, self.started) for i in range(len(self.batches))]


def plan_run(paths: Sequence[str], out_dir: str | Path, config: Config, workers: int) -> RunPlan:
    """Create the run's workspace in `out_dir` and split its inputs into batches for `workers`."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    workspace = Workspace(out / ".ingest-work")
    workspace.create()
    started, clock = now_iso(), time.perf_counter()
    batches = plan_batches(discover(paths, config.read), config.run, workers)
    return RunPlan(config, out, workspace, batches, workers, started, clock)


def run(paths: Sequence[str], out_dir: str | Path, config: Config, mapper: Mapper = serial_mapper,
        state_dir: str | Path | None = None, workers: int = 1) -> dict[str, Any]:
    """One whole run: inputs in `paths`, outputs and report.json in `out_dir`.

    With `state_dir`, dedup also compares with (and then indexes into) earlier runs:
    a folder (embedded index) or a `redis://` / `rediss://` URL (shared index).
    `workers` is how many batches the mapper runs at once (it sizes the batches).
    """
    return run_plan(plan_run(paths, out_dir, config, workers), mapper, state_dir)


def run_plan(plan: RunPlan, mapper: Mapper = serial_mapper, state_dir: str | Path | None = None) -> dict[str, Any]:
    """`run`, from a plan made by `plan_run`."""
    state = open_index(state_dir, plan.config.dedup) if state_dir is not None else None
    try:
        return _run(plan, mapper, state)
    finally:
        if state is not None:
            state.close()


def _run(plan: RunPlan, mapper: Mapper, state: StateIndex | None) -> dict[str, Any]:
    config, out, workspace, batches = plan.config, plan.out, plan.workspace, plan.batches
    started = added = plan.started
    timings: dict[str, float] = {}

    prepared = mapper("prepare", plan.prepare_args())
    boilerplate = learn_boilerplate(prepared, config)
    for summary in prepared:
        summary.line_docs.clear()  # learned from; no longer needed
    t = plan.started_ahead.get("clean") or time.perf_counter()
    timings["prepare"] = t - plan.clock

    cleaned = mapper("clean", plan.clean_args(boilerplate))
    timings["clean"] = time.perf_counter() - t

    t = time.perf_counter()
    words = SpilledWords(workspace)  # for the central steps; closed before the passage tasks run
    try:
        with collection_paused():  # the sketches and decisions stay alive to the end of the run
            spill_to = central_spill(cleaned, config, workspace)
            dedup, result = deduplicate(cleaned, config, words, added, state, spill_to, mapper, workspace)
            if state is not None:
                result = settle(state, dedup, result, lambda: _cleaned_rows(workspace, len(batches)))
            timings["dedup"] = time.perf_counter() - t
            t = time.perf_counter()
            chunks, stock = (passage_tasks(dedup, result, config, words, plan.workers,
                                           workspace if spill_to is not None else None)
                             if config.dedup.passages.enabled else ([], None))
    finally:
        words.close()
    release_freed_memory()

    # Each batch's sides of passages; None: in the workspace (`spill_sides`).
    sides: list[np.ndarray | None] = [np.empty(0, dtype=PASSAGE_SIDE)] * len(batches)
    result.stats["passage_links"] = 0
    if config.dedup.passages.enabled and spill_to is None:
        found = mapper("passages", [(chunk, stock, config, workspace) for chunk in chunks])
        result.stats["passage_links"] = 2 * sum(len(f) for f in found)
        sides = passages_by_batch(found, len(batches))
        del found
    elif config.dedup.passages.enabled:
        counts = mapper("passages", [(chunk, stock, config, workspace, i) for i, chunk in enumerate(chunks)])
        result.stats["passage_links"] = 2 * sum(counts)
        spill_sides(workspace, len(chunks), len(batches))
        sides = [None] * len(batches)
    del chunks
    timings["passages"] = time.perf_counter() - t

    t = time.perf_counter()
    changed = defaultdict(dict)
    for doc_id, decision in result.decisions.items():
        if decision != NO_CLUSTER:
            changed[dedup.batch_of(doc_id)][doc_id] = decision
    added_before = defaultdict(dict)
    for doc_id, when in result.added_before.items():
        added_before[dedup.batch_of(doc_id)][doc_id] = when
    parts = mapper("write", [(b, config, workspace, changed[b], added_before[b], sides[b]) for b in range(len(batches))])
    counts = {name: sum(p[name] for p in parts) for name in ("documents", "duplicates")}
    write_documents(out, workspace, len(batches), config.write.format)
    counts["rejected"] = write_rejects(out, workspace, len(batches), config.write.format)
    fault_point("written")
    if state is not None:
        # Only once all three files are in place, in one transaction: a crash before
        # leaves the index as it was.
        try:
            state.add(new_entries(dedup, result, _cleaned_rows(workspace, len(batches))))
        finally:
            words.close()  # reopened when the LSH spilled: the entries' band keys read the signatures
    timings["write"] = time.perf_counter() - t

    report = build_report(
        started=started, finished=now_iso(), inputs=sum(p.inputs for p in prepared), counts=counts,
        prepare=prepared, clean=cleaned, result=result, timings=timings, config=config,
        boilerplate_lines=len(boilerplate), state=state.stats() if state is not None else None,
    )
    write_json(out / "report.json", report)
    workspace.remove()
    return report


def _cleaned_rows(workspace: Workspace, batches: int) -> Iterator[dict]:
    for b in range(batches):
        yield from read_jsonl(workspace.cleaned(b))
