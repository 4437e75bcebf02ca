"""Throughput and duplicate quality of `ingest run` against datatrove, on one machine.

    python bench/compare.py --sizes 20000 100000

For each size, in one invocation and on the same corpus:

1. builds (or reuses, when its manifest matches) the corpus of bench/throughput_corpus.py
   in bench/results/corpus-<N>-s<seed>/;
2. runs `ingest run CORPUS --out DIR --no-progress` with the `ingest` next to this
   Python (`--ingest` to choose another), and bench/plain_pipeline.py, the same
   pipeline on as many worker processes without Prefect (same outputs);
3. runs bench/datatrove_pipeline.py (ftfy, datatrove's 4-stage MinHash dedup, 2 tasks
   on 2 workers) in its own virtualenv, bench/.venv-datatrove, created on first use
   with DATATROVE_REQUIREMENTS;
4. scores both against the corpus ground truth and writes bench/results/<date>-<N>.md
   (the same table is printed), and at the end the chart (`--chart`).

With `--repeat K` each tool runs K times and the fastest run is reported, with every
run's wall time.  Within a repeat `ingest run` and the plain pipeline run back to back,
and every other repeat runs the three in the reverse order, so that their differences
are pairs in ABBA order (as in bench/prefect_overhead.py).  On a shared machine the
fastest run is the one least slowed by other jobs.  Both tools are deterministic, so
their duplicate decisions do not depend on which run is kept.

What is measured, for each tool's whole command:

- wall: seconds from start to exit; docs/s = documents in the corpus / wall;
  MB/s = UTF-8 bytes of the corpus's `text` fields / wall (10^6 bytes).
- CPU: user + system seconds of the process tree: the larger of getrusage(
  RUSAGE_CHILDREN) over the run (every descendant that was waited for) and the sum
  of each process's last cpu_times seen by the poller.
- peak memory: every POLL_SECONDS the RSS of the command's process and all its
  descendants (datatrove's and Prefect's workers are child processes) is summed; the
  peak of that sum.  Shared pages of forked workers count once per process, as with
  `ps`, so this is an upper bound of what the tree needs.
- other load: CPU seconds the whole machine spent outside the measured tree during
  the run, divided by wall: how many cores other jobs took (2 = the whole machine).
- ingest's overhead: wall minus the phase timings of its report.json
  (`timings_seconds`): the time no phase covers (interpreter and CLI start, flow and
  task scheduling, process-pool start and shutdown); the prepare phase counts from the
  run's plan, and reads ahead while the temporary Prefect API starts; so does the
  clean phase once every batch is prepared, and it counts from its first batch.
- Prefect's overhead: `ingest run`'s wall minus the wall of the same pipeline without
  Prefect (bench/plain_pipeline.py, on the same worker pool), each the fastest of its
  repeats: everything Prefect adds, whether or not work overlaps it.  With repeats,
  also the difference within each repeat (two runs back to back) and their median;
  bench/prefect_overhead.py measures the overhead alone, over more pairs.

Duplicate quality.  Each tool's output is turned into reported pairs, in corpus ids:

- ingest: (the document, `dedup.duplicate_of`) for each line of duplicates.jsonl, both
  mapped to corpus ids through `metadata.id` (ingest keeps the JSONL fields in metadata):
  the document each copy was verified against, which is the cluster's kept document
  when the two are similar, else the nearest copy on a path towards it.
- datatrove: MinhashDedupFilter loads the cluster ids (`metadata.minhash_cluster_id`)
  onto every document of a cluster; the one document of a cluster in its output is the
  kept one and each document in its exclusion output is reported as (the removed
  document, the kept document of its cluster).  `id` is the corpus id (JsonlReader).

Both are one pair per removed document.  datatrove's pairs are "removed copy -> kept
document"; so that the two can also be compared on the same footing, ingest's
(the document, `dedup.cluster_id`) pairs are scored as well ("precision against the
kept document").

- precision: a reported pair is correct when the true word-5-gram Jaccard of the two
  corpus texts (bench/throughput_corpus.py's `shingles`, computed here for every
  reported pair) is >= CORRECT_JACCARD.  "natural" counts the correct pairs that
  are not a derived copy and its origin or two copies of one origin: duplicates
  already in Reuters/BBC (or chance overlaps of collages), with "natural exact" the
  ones whose whitespace-normalised texts are equal.  "Differ only in figures" counts
  the wrong pairs whose Jaccard reaches the rule once every run of digits is replaced
  by 0 (earnings and dividend notices that share their wording); "both derived from
  one original" the wrong pairs within one original's family (the original, originals
  exact-equal to it, and their copies): they belong in one cluster, but the document
  kept and the one reported against it are too far apart.
- recall per band: the derived copies (kind `near` by `true_jaccard` band, kind
  `exact` in its own row) whose origin, or an original exact-equal to it after
  whitespace normalisation, is in the same cluster (connected component of the
  reported pairs).  "near copies with J < 0.5 linked" is the share of the more
  distant copies linked all the same (the rule above counts such pairs as wrong).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
import tomllib
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import psutil
import throughput_corpus as tc

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"
RESULTS = BENCH / "results"
DATATROVE_VENV = BENCH / ".venv-datatrove"
# datatrove pinned.  Its `processing` extra brings ftfy; the English word tokenizer of
# its MinHash signatures is spaCy's blank "en" pipeline (spaCy is otherwise only in the
# heavy `multilingual` extra), and JsonlReader/JsonlWriter need orjson (`io` extra).
DATATROVE_REQUIREMENTS = ["datatrove[processing]==0.10.1", "spacy==3.8.18", "orjson==3.13.0"]
POLL_SECONDS = 0.05
LEFTOVER_GRACE = 3.0
CORRECT_JACCARD = 0.5
TASKS = 2
PLAIN = "pipeline (ingest without Prefect)"
CHART = REPO / "docs" / "benchmarks-throughput.png"
_DIGITS = re.compile(r"\d+")
RECALL_ROWS = ["[0.5,0.6)", "[0.6,0.7)", "[0.7,0.8)", "[0.8,0.9)", "[0.9,1.0]", "exact"]


# ------------------------------------------------------------------ measuring


@dataclass
class Measurement:
    command: list[str]
    returncode: int
    wall: float
    cpu: float
    peak_rss: int  # bytes
    peak_by_role: dict[str, tuple[int, int]]  # at the peak: role -> (processes, RSS bytes)
    other_cores: float  # cores busy outside the measured tree, on average
    load_before: float  # 1-minute load average at the start
    stdout: str
    stderr: str
    leftovers: list[str] = field(default_factory=list)  # descendants still running after the grace time (killed)
    cpu_by_role: dict[str, float] = field(default_factory=dict)  # role -> CPU seconds, each process's last seen


def _busy_seconds() -> float:
    t = psutil.cpu_times()
    return sum(t) - t.idle - getattr(t, "iowait", 0.0)


def _tree(root: psutil.Process) -> list[psutil.Process]:
    try:
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _role(p: psutil.Process, root: psutil.Process) -> str:
    """What a process of the tree is, for the memory breakdown."""
    if p.pid == root.pid:
        return "main"
    cmdline = " ".join(p.cmdline())
    if cmdline == " ".join(root.cmdline()):
        return "workers"  # forked by the main process (ingest's local workers)
    for marker, role in (("flows.api_server", "Prefect API server"), ("resource_tracker", "resource tracker"),
                         ("forkserver", "forkserver/workers"), ("spawn_main", "workers")):
        if marker in cmdline:
            return role
    return p.name()


def _cpu(p: psutil.Process) -> float | None:
    """User + system seconds of one process (its own, not its children's); None once it is gone."""
    try:
        t = p.cpu_times()
    except psutil.NoSuchProcess:
        return None
    return t.user + t.system


def _still_running(p: psutil.Process) -> bool:
    """Alive and not a zombie (orphans that exited linger as zombies until init reaps them)."""
    try:
        return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _poll(root: psutil.Process, seen: dict[int, psutil.Process], cpu_seen: dict[int, float],
          roles: dict[int, str]) -> dict[str, list[int]]:
    """One look at the tree: RSS per role ([processes, bytes]); records each process, its role and CPU time."""
    by_role: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for p in _tree(root):
        seen.setdefault(p.pid, p)
        try:
            with p.oneshot():
                rss = p.memory_info().rss
                times = p.cpu_times()
                role = _role(p, root)
                # Only a process's name is left to go by once it (or the main process) has
                # exited and waits to be reaped: it keeps the role it had.
                if role == p.name() and p.pid in roles:
                    role = roles[p.pid]
        except psutil.NoSuchProcess:
            continue
        cpu_seen[p.pid] = times.user + times.system
        roles[p.pid] = role
        by_role[role][0] += 1
        by_role[role][1] += rss
    return by_role


def measure(command: list[str], cwd: Path) -> Measurement:
    """Run `command`, polling its process tree; see the module docstring for the figures."""
    load_before = os.getloadavg()[0]
    usage_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy_before = _busy_seconds()
    started = time.perf_counter()
    with open(cwd / "stdout.log", "w+") as out, open(cwd / "stderr.log", "w+") as err:
        proc = subprocess.Popen(command, cwd=cwd, stdout=out, stderr=err)
        root = psutil.Process(proc.pid)
        seen: dict[int, psutil.Process] = {}
        cpu_seen: dict[int, float] = {}
        roles: dict[int, str] = {}
        peak, peak_by_role = 0, {}
        while proc.poll() is None:
            by_role = _poll(root, seen, cpu_seen, roles)
            total = sum(rss for _, rss in by_role.values())
            if total > peak:
                peak, peak_by_role = total, {role: (n, rss) for role, (n, rss) in by_role.items()}
            time.sleep(POLL_SECONDS)
        wall = time.perf_counter() - started
        busy = _busy_seconds() - busy_before
        leftovers = _wait_for_descendants(list(seen.values()))
        for pid, p in seen.items():  # processes not reaped yet (zombies) still tell their final CPU time
            final = _cpu(p)
            if final is not None:
                cpu_seen[pid] = final
        for p in leftovers:
            p.kill()
        usage_after = resource.getrusage(resource.RUSAGE_CHILDREN)
        waited_cpu = (usage_after.ru_utime - usage_before.ru_utime) + (usage_after.ru_stime - usage_before.ru_stime)
        cpu = max(waited_cpu, sum(cpu_seen.values()))
        cpu_by_role: dict[str, float] = defaultdict(float)
        for pid, seconds in cpu_seen.items():
            cpu_by_role[roles.get(pid, "unclassified")] += seconds  # seen only once exited
        out.seek(0)
        err.seek(0)
        return Measurement(command, proc.returncode, wall, cpu, peak, peak_by_role, max(0.0, busy - cpu) / wall,
                           load_before, out.read(), err.read(), [f"{p.pid} {p.name()}" for p in leftovers],
                           dict(cpu_by_role))


def _wait_for_descendants(processes: list[psutil.Process]) -> list[psutil.Process]:
    """Descendants still running LEFTOVER_GRACE seconds after the command exited (pool helpers wind down)."""
    deadline = time.monotonic() + LEFTOVER_GRACE
    running = [p for p in processes if _still_running(p)]
    while running and time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
        running = [p for p in running if _still_running(p)]
    return running


# ------------------------------------------------------------------ the tools


def ingest_executable(option: str | None) -> str:
    candidate = Path(option) if option else Path(sys.executable).parent / "ingest"
    if not candidate.exists():
        raise SystemExit(f"no ingest executable at {candidate} (install the project, or pass --ingest)")
    return str(candidate)


def datatrove_python() -> Path:
    """The venv's Python, creating the venv or installing the pinned requirements as needed."""
    python = DATATROVE_VENV / "bin" / "python"
    marker = DATATROVE_VENV / "requirements.txt"
    wanted = "\n".join(DATATROVE_REQUIREMENTS) + "\n"
    if python.exists() and marker.exists() and marker.read_text() == wanted:
        return python
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(DATATROVE_VENV)], check=True)
    print(f"installing {' '.join(DATATROVE_REQUIREMENTS)} into {DATATROVE_VENV} ...", flush=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", *DATATROVE_REQUIREMENTS], check=True)
    marker.write_text(wanted)
    return python


def ingest_revision() -> str:
    """The repository's commit, flagged when ingest/, flows/ or config/ have uncommitted changes."""
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True).stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--", "ingest", "flows", "config")
    return head + (" with uncommitted changes" if dirty else "")


def ingest_dedup_settings() -> str:
    """The dedup settings `ingest run` uses (no --config is given): those of config/default.toml."""
    dedup = tomllib.loads((REPO / "config" / "default.toml").read_text())["dedup"]
    return (f"{dedup['shingle_size']}-word shingles, LSH {dedup['bands']} bands x {dedup['rows']} rows, "
            f"pairs verified on aligned words: similarity {dedup['duplicate_similarity']}, "
            f"containment {dedup['contained_share']}")


def installed_version(python: Path | str, package: str) -> str:
    result = subprocess.run([str(python), "-c", f"import importlib.metadata as m; print(m.version('{package}'))"],
                            capture_output=True, text=True, check=True)
    return result.stdout.strip()


@dataclass
class Run:
    """One run of one tool: its measurement and what it reported."""

    measurement: Measurement
    detail: str  # where the time went, from the tool's own timings
    outcome: str  # documents kept / removed / rejected
    pairs: list[tuple[str, str]] | None  # reported (copy, link) pairs in corpus ids; None if it failed
    kept_pairs: list[tuple[str, str]] | None  # (copy, its cluster's kept document)
    version: str  # the code that ran

    @property
    def ok(self) -> bool:
        return self.measurement.returncode == 0


def run_ingest(ingest: str, corpus: Path, run_dir: Path, keep_outputs: bool) -> Run:
    out = run_dir / "out"
    return _ingest_output_run([ingest, "run", str(corpus / "shards"), "--out", str(out), "--no-progress"], out,
                              run_dir, keep_outputs)


def _ingest_output_run(command: list[str], out: Path, run_dir: Path, keep_outputs: bool) -> Run:
    """Run `command`, which writes ingest's outputs to `out`, and read them."""
    version = f"commit {ingest_revision()}"  # the project is installed editable: the tree at run start
    m = measure(command, run_dir)
    if m.returncode != 0:
        return Run(m, "", "failed", None, None, version)
    report = json.loads((out / "report.json").read_text())
    counts = report["counts"]
    outcome = f"{counts['documents']:,} / {counts['duplicates']:,} / {counts['rejected']:,}"
    run = Run(m, ingest_detail(m, report), outcome, *ingest_pairs(out), version)
    if not keep_outputs:
        shutil.rmtree(out)
    return run


def measure_counts(command: list[str], out: Path, cwd: Path,
                   report_to: Path | None = None) -> tuple[Measurement, dict[str, int]]:
    """Run `command`, which writes ingest's outputs to `out`: its measurement and the
    counts of its report.json (copied to `report_to` when given); the outputs are
    deleted.  A failed run ends the benchmark."""
    m = measure(command, cwd)
    if m.returncode != 0:
        last = (m.stderr.strip().splitlines() or [""])[-1]
        raise SystemExit(f"{' '.join(command)} failed with status {m.returncode}: {last}")
    counts = json.loads((out / "report.json").read_text())["counts"]
    if report_to is not None:
        shutil.copyfile(out / "report.json", report_to)
    shutil.rmtree(out)
    return m, counts


def run_datatrove(python: Path, corpus: Path, run_dir: Path, keep_outputs: bool) -> Run:
    work = run_dir / "work"
    m = measure([str(python), str(BENCH / "datatrove_pipeline.py"), "--input", str(corpus / "shards"),
                 "--work", str(work), "--tasks", str(TASKS), "--workers", str(TASKS)], run_dir)
    version = f"{installed_version(python, 'datatrove')} (pinned)"
    if m.returncode != 0:
        return Run(m, "", "failed", None, None, version)
    stages = json.loads([line for line in m.stdout.splitlines() if line.startswith("{")][-1])["stage_seconds"]
    kept = sum(1 for _ in read_jsonl(sorted((work / "output").glob("*.jsonl"))))
    pairs = datatrove_pairs(work)
    run = Run(m, ", ".join(f"{k} {v:.1f}" for k, v in stages.items()), f"{kept:,} / {len(pairs):,} / 0", pairs,
              pairs, version)
    if not keep_outputs:
        shutil.rmtree(work)
    return run


def run_plain_pipeline(corpus: Path, run_dir: Path, keep_outputs: bool) -> Run:
    """bench/plain_pipeline.py: the pipeline on TASKS worker processes, without Prefect."""
    out = run_dir / "out"
    return _ingest_output_run([sys.executable, str(BENCH / "plain_pipeline.py"), str(corpus / "shards"),
                               "--out", str(out), "--workers", str(TASKS)], out, run_dir, keep_outputs)


def ingest_detail(m: Measurement, report: dict) -> str:
    """ingest's phase timings, and the rest of the wall time as overhead."""
    phases = report.get("timings_seconds", {})
    overhead = m.wall - sum(phases.values())
    return ", ".join([*(f"{k} {v:.1f}" for k, v in phases.items()), f"overhead {overhead:.1f}"])


# ------------------------------------------------------------------ reported pairs


def read_jsonl(paths: Iterable[Path]) -> Iterator[dict]:
    for path in paths:
        with path.open(encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    yield json.loads(line)


def ingest_pairs(out: Path) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(copy, link) and (copy, kept) in corpus ids, from dedup.duplicate_of and dedup.cluster_id."""
    corpus_id = {}
    duplicates = []
    for doc in read_jsonl([out / "documents.jsonl", out / "duplicates.jsonl"]):
        corpus_id[doc["id"]] = doc["metadata"]["id"]
        if doc["dedup"]["duplicate_of"]:
            duplicates.append((doc["id"], doc["dedup"]["duplicate_of"], doc["dedup"]["cluster_id"]))
    return ([(corpus_id[a], corpus_id[b]) for a, b, _ in duplicates],
            [(corpus_id[a], corpus_id[kept]) for a, _, kept in duplicates])


def datatrove_pairs(work: Path) -> list[tuple[str, str]]:
    """(removed, kept) in corpus ids, joined on metadata.minhash_cluster_id."""
    kept_of = {}
    for doc in read_jsonl(sorted((work / "output").glob("*.jsonl"))):
        cluster = doc["metadata"].get("minhash_cluster_id", -1)
        if cluster != -1:
            kept_of[cluster] = doc["id"]
    return [(doc["id"], kept_of[doc["metadata"]["minhash_cluster_id"]])
            for doc in read_jsonl(sorted((work / "removed").glob("*.jsonl")))]


# ------------------------------------------------------------------ scoring


@dataclass(frozen=True)
class Truth:
    """The corpus as the evaluator sees it."""

    texts: dict[str, str]
    origin: dict[str, str | None]
    kind: dict[str, str]
    true_jaccard: dict[str, float | None]
    exact_group: dict[str, str]  # original id -> first original id with the same normalised text

    def root(self, doc_id: str) -> str:
        """The original a document is (or is derived from); a collage is its own root."""
        return self.origin[doc_id] or doc_id

    def family(self, doc_id: str) -> str:
        """The exact-equal group of the original a document is (or is derived from); collages are their own."""
        root = self.root(doc_id)
        return self.exact_group.get(root, root)


def load_truth(corpus: Path) -> Truth:
    texts, origin, kind, true_j = {}, {}, {}, {}
    first_with: dict[str, str] = {}
    exact_group = {}
    for doc in read_jsonl(sorted((corpus / "shards").glob("shard-*.jsonl"))):
        texts[doc["id"]] = doc["text"]
        origin[doc["id"]] = doc["origin"]
        kind[doc["id"]] = doc["kind"]
        true_j[doc["id"]] = doc["true_jaccard"]
    for doc_id in sorted(i for i, k in kind.items() if k == "original"):
        exact_group[doc_id] = first_with.setdefault(tc.normalized(texts[doc_id]), doc_id)
    return Truth(texts, origin, kind, true_j, exact_group)


class Components:
    """Connected components of reported pairs (union-find)."""

    def __init__(self, pairs: Iterable[tuple[str, str]]) -> None:
        self.parent: dict[str, str] = {}
        for a, b in pairs:
            ra, rb = self.find(a), self.find(b)
            if ra != rb:
                self.parent[ra] = rb

    def find(self, x: str) -> str:
        while self.parent.get(x, x) != x:
            self.parent[x] = self.parent.get(self.parent[x], self.parent[x])
            x = self.parent[x]
        return x


@dataclass
class Quality:
    pairs: int
    correct: int
    natural: int
    natural_exact: int
    wrong_figures_only: int  # wrong pairs that reach the rule once every digit run is masked
    wrong_same_family: int  # wrong pairs within one original's family (a cluster's far ends)
    recall: dict[str, tuple[int, int]]  # row -> (linked, total)
    linked_below: tuple[int, int]  # near copies with true Jaccard < 0.5: (linked, total)
    kept_correct: int  # correct (copy, kept document) pairs, of `pairs`

    @property
    def precision(self) -> float:
        return self.correct / self.pairs if self.pairs else 1.0


def recall_row(truth: Truth, doc_id: str) -> str | None:
    if truth.kind[doc_id] == "exact":
        return "exact"
    if truth.kind[doc_id] != "near":
        return None
    lo, hi = tc.band_of(truth.true_jaccard[doc_id])
    return "below" if lo < CORRECT_JACCARD else f"[{lo:.1f},{hi:.1f}{']' if hi == 1.0 else ')'}"


def score(truth: Truth, pairs: list[tuple[str, str]], kept_pairs: list[tuple[str, str]]) -> Quality:
    shingles = lru_cache(maxsize=None)(lambda doc_id: tc.shingles(truth.texts[doc_id]))
    kept_correct = sum(tc.jaccard(shingles(a), shingles(b)) >= CORRECT_JACCARD for a, b in kept_pairs)
    correct = natural = natural_exact = wrong_figures_only = wrong_same_family = 0
    for a, b in pairs:
        if tc.jaccard(shingles(a), shingles(b)) < CORRECT_JACCARD:
            wrong_same_family += truth.family(a) == truth.family(b)
            wrong_figures_only += tc.text_jaccard(_DIGITS.sub("0", truth.texts[a]),
                                                  _DIGITS.sub("0", truth.texts[b])) >= CORRECT_JACCARD
            continue
        correct += 1
        if truth.root(a) != truth.root(b):
            natural += 1
            natural_exact += tc.normalized(truth.texts[a]) == tc.normalized(truth.texts[b])
    components = Components(pairs)
    members_of = defaultdict(list)  # exact-equal group -> its originals
    for doc_id, group in truth.exact_group.items():
        members_of[group].append(doc_id)
    counts: dict[str, list[int]] = {row: [0, 0] for row in [*RECALL_ROWS, "below"]}
    for doc_id in truth.kind:
        row = recall_row(truth, doc_id)
        if row is None:
            continue
        mine = components.find(doc_id)
        linked = any(components.find(o) == mine for o in members_of[truth.family(doc_id)])
        counts[row][0] += linked
        counts[row][1] += 1
    return Quality(len(pairs), correct, natural, natural_exact, wrong_figures_only, wrong_same_family,
                   {row: tuple(counts[row]) for row in RECALL_ROWS}, tuple(counts["below"]), kept_correct)


# ------------------------------------------------------------------ reporting


@dataclass
class ToolResult:
    name: str
    run: Run  # the fastest of the repeats
    walls: list[float]  # wall seconds of every repeat
    quality: Quality | None


def machine_description() -> str:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor() or "unknown CPU")
    ram = psutil.virtual_memory().total / 2**30
    return f"{os.cpu_count()} cores ({model}), {ram:.0f} GiB RAM, {platform.system()} {platform.release()}, " \
           f"Python {platform.python_version()}"


def fmt_recall(linked_total: tuple[int, int]) -> str:
    linked, total = linked_total
    return f"{linked / total:.3f} ({linked}/{total})" if total else "-"


def results_table(manifest: dict, results: list[ToolResult]) -> str:
    mb = manifest["text_bytes"] / 1e6
    docs = manifest["docs"]
    rows: list[list[str]] = [["", *[r.name for r in results]]]

    def row(label: str, values: Iterable[str]) -> None:
        rows.append([label, *values])

    ms = [r.run.measurement for r in results]
    row("code", (r.run.version for r in results))
    row("exit status", (str(m.returncode) for m in ms))
    row("wall s", (f"{m.wall:.1f}" for m in ms))
    if any(len(r.walls) > 1 for r in results):
        row("wall s of each repeat", (", ".join(f"{w:.1f}" for w in r.walls) for r in results))
    row("docs/s", (f"{docs / m.wall:,.0f}" for m in ms))
    row("MB/s (text)", (f"{mb / m.wall:.2f}" for m in ms))
    row("CPU s (tree)", (f"{m.cpu:.1f}" for m in ms))
    row("peak RSS of tree, MiB", (f"{m.peak_rss / 2**20:,.0f}" for m in ms))
    row("other load, cores (1-min load avg before)", (f"{m.other_cores:.2f} ({m.load_before:.2f})" for m in ms))
    row("where the time went, s", (r.run.detail for r in results))
    row("documents kept / removed / rejected", (r.run.outcome for r in results))
    qs = [r.quality for r in results]
    row(f"precision of reported pairs (J >= {CORRECT_JACCARD})",
        (f"{q.precision:.3f} ({q.correct:,}/{q.pairs:,})" if q else "-" for q in qs))
    row(f"precision against the kept document (J >= {CORRECT_JACCARD})",
        (f"{q.kept_correct / q.pairs if q.pairs else 1:.3f} ({q.kept_correct:,}/{q.pairs:,})" if q else "-"
         for q in qs))
    row("correct pairs that are natural (of which exact)",
        (f"{q.natural:,} ({q.natural_exact:,})" if q else "-" for q in qs))
    row("wrong pairs: differ only in figures / both derived from one original",
        (f"{q.wrong_figures_only:,} / {q.wrong_same_family:,} of {q.pairs - q.correct:,}" if q else "-" for q in qs))
    for name in RECALL_ROWS:
        row(f"recall {name}", (fmt_recall(q.recall[name]) if q else "-" for q in qs))
    row("near copies with J < 0.5 linked", (fmt_recall(q.linked_below) if q else "-" for q in qs))
    lines = ["| " + " | ".join(rows[0]) + " |", "|---" + "|---:" * len(results) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows[1:]]
    return "\n".join(lines)


def results_markdown(manifest: dict, corpus: Path, results: list[ToolResult], versions: dict[str, str],
                     argv: list[str]) -> str:
    counts = manifest["counts"]
    lines = [
        f"# ingest vs datatrove, {manifest['docs']:,} documents ({dt.date.today().isoformat()})",
        "",
        f"Command: `{' '.join(argv)}`",
        "",
        f"Machine: {machine_description()}.",
        f"Versions: {', '.join(f'{k} {v}' for k, v in versions.items())}.",
        f"ingest dedup: {ingest_dedup_settings()}; datatrove: MinhashConfig defaults (5-grams, 14 buckets x 8 "
        f"hashes, digits normalised to 0).",
        f"Corpus: `{corpus.relative_to(REPO) if corpus.is_relative_to(REPO) else corpus}` "
        f"({counts['original']:,} originals, {counts['exact']:,} exact copies, "
        f"{counts['near']:,} near copies, {counts['nondup']:,} collages; "
        f"{manifest['text_bytes'] / 1e6:.1f} MB of text, {manifest['jsonl_bytes'] / 1e6:.1f} MB of JSONL; "
        f"sha256 of the shards {manifest['sha256'][:16]}).",
        "",
        results_table(manifest, results),
        "",
    ]
    for r in results:
        m = r.run.measurement
        at_peak = ", ".join(f"{role} {rss / 2**20:,.0f} MiB" + (f" ({n} processes)" if n > 1 else "")
                            for role, (n, rss) in sorted(m.peak_by_role.items(), key=lambda kv: -kv[1][1]))
        lines.append(f"- {r.name}: `{' '.join(m.command)}`; RSS at the peak: {at_peak}"
                     + (f"; still running {LEFTOVER_GRACE:.0f} s after exit (killed): {m.leftovers}"
                        if m.leftovers else ""))
        if m.returncode != 0:
            lines.append(f"  - failed; last line of stderr: `{(m.stderr.strip().splitlines() or [''])[-1]}`")
    return "\n".join(lines) + "\n"


def write_chart(summaries: list[dict], path: Path) -> None:
    """docs/s (left) and recall per band (right), for each tool and size."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), gridspec_kw={"width_ratios": [1, 2]})
    tools = list(dict.fromkeys(t for s in summaries for t in s["docs_per_s"]))
    width = 0.8 / len(tools)
    for i, tool in enumerate(tools):
        xs = [j + i * width for j in range(len(summaries))]
        bars = left.bar(xs, [s["docs_per_s"].get(tool, 0) for s in summaries], width, label=tool, color=f"C{i}")
        left.bar_label(bars, fmt="%.0f")
        for j, s in enumerate(summaries):
            recall = s["recall"].get(tool, {})
            right.plot(RECALL_ROWS, [recall.get(r, float("nan")) for r in RECALL_ROWS],
                       marker="o", linestyle="-" if j == 0 else "--", color=f"C{i}",
                       label=f"{tool}, {s['docs']:,} docs")
    left.set_xticks([j + width * (len(tools) - 1) / 2 for j in range(len(summaries))],
                    [f"{s['docs']:,} docs" for s in summaries])
    left.set_ylabel("documents per second (wall)")
    left.set_title("Throughput, 2 cores")
    left.set_ylim(0, 1.15 * max(v for s in summaries for v in s["docs_per_s"].values()))
    left.legend(loc="lower center")
    right.set_ylim(0, 1.05)
    right.set_ylabel("recall of derived copies")
    right.set_xlabel("true word-5-gram Jaccard of copy and origin")
    right.set_title("Duplicate recall per band")
    right.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ------------------------------------------------------------------ driver


def prepare_corpus(corpora: Path, docs: int, seed: int, results: Path = RESULTS) -> tuple[Path, dict]:
    """The corpus folder in `results` and its manifest; rebuilt unless a manifest for
    this size, seed and builder exists."""
    folder = results / f"corpus-{docs}-s{seed}"
    builder = tc.builder_digest()
    manifest_path = folder / "manifest.json"
    if manifest_path.exists():
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("builder_sha256") == builder or manifest.get("builder_sha256") in tc.SAME_SHARDS_AS:
            return folder, manifest
    print(f"building the {docs:,}-document corpus in {folder} ...", flush=True)
    return folder, tc.build_corpus(corpora, docs, seed, folder)


def compare_size(docs: int, args: argparse.Namespace, ingest: str, dt_python: Path, versions: dict[str, str],
                 argv: list[str]) -> dict:
    """Each tool `--repeat` times (ABBA order), on one corpus; the fastest run of each is reported."""
    corpus, manifest = prepare_corpus(args.corpora or tc.default_corpora(), docs, args.seed)
    truth = load_truth(corpus)
    runs = RESULTS / "runs" / f"{dt.datetime.now():%Y%m%dT%H%M%S}-{docs}"
    ingest_name, datatrove_name = f"ingest {versions['ingest']}", f"datatrove {versions['datatrove']}"
    tools = {  # in the tables' order
        ingest_name: lambda d: run_ingest(ingest, corpus, d, args.keep_outputs),
        datatrove_name: lambda d: run_datatrove(dt_python, corpus, d, args.keep_outputs),
        PLAIN: lambda d: run_plain_pipeline(corpus, d, args.keep_outputs),
    }
    run_order = [ingest_name, PLAIN, datatrove_name]  # ingest and the plain pipeline back to back
    best: dict[str, Run] = {}
    walls: dict[str, list[float]] = defaultdict(list)
    for repeat in range(1, args.repeat + 1):
        for name in run_order if repeat % 2 else run_order[::-1]:
            print(f"[{docs:,}] {name}, run {repeat}/{args.repeat} ...", flush=True)
            run_dir = runs / f"{name.split()[0]}-{repeat}"
            run_dir.mkdir(parents=True)
            run = tools[name](run_dir)
            walls[name].append(run.measurement.wall)
            if name not in best or (run.ok, -run.measurement.wall) > (best[name].ok, -best[name].measurement.wall):
                best[name] = run
    results = [ToolResult(name, best[name], walls[name],
                          score(truth, best[name].pairs, best[name].kept_pairs) if best[name].ok else None)
               for name in tools]
    markdown = results_markdown(manifest, corpus, results, versions, argv) + prefect_overhead(results)
    out = RESULTS / f"{dt.date.today().isoformat()}-{docs}.md"
    out.write_text(markdown)
    print(markdown)
    print(f"written: {out} (logs{' and outputs' if args.keep_outputs else ''} in {runs})", flush=True)
    return {
        "docs": docs,
        "docs_per_s": {r.name.split()[0]: docs / r.run.measurement.wall for r in results if r.run.ok},
        "recall": {r.name.split()[0]: {row: lt[0] / lt[1] for row, lt in r.quality.recall.items() if lt[1]}
                   for r in results if r.quality},
    }


def prefect_overhead(results: list[ToolResult]) -> str:
    """What `ingest run` takes above the same pipeline without Prefect: the fastest run
    of each, and with repeats the difference within each repeat (the two ran back to
    back, so a slower hour of the machine weighs on both)."""
    by_tool = {r.name.split()[0]: r for r in results if r.run.ok}
    if "ingest" not in by_tool or PLAIN.split()[0] not in by_tool:
        return ""
    with_prefect, without = by_tool["ingest"], by_tool[PLAIN.split()[0]]
    extra = with_prefect.run.measurement.wall - without.run.measurement.wall
    text = (f"\nPrefect's overhead: `ingest run` {with_prefect.run.measurement.wall:.1f} s - the same pipeline "
            f"without Prefect {without.run.measurement.wall:.1f} s = {extra:.1f} s, "
            f"{extra / with_prefect.run.measurement.wall:.1%} of the wall time "
            f"(CPU {with_prefect.run.measurement.cpu - without.run.measurement.cpu:+.1f} s).\n")
    pairs = [(a - b, (a - b) / a) for a, b in zip(with_prefect.walls, without.walls)]
    if len(pairs) > 1:
        text += (f"Repeat by repeat: {', '.join(f'{d:.1f} s ({share:.1%})' for d, share in pairs)}; median "
                 f"{statistics.median(d for d, _ in pairs):.1f} s ({statistics.median(s for _, s in pairs):.1%}).\n")
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[20000], help="corpus sizes (default 20000)")
    parser.add_argument("--seed", type=int, default=1, help="corpus seed (default 1)")
    parser.add_argument("--corpora", type=Path, default=None,
                        help="shared corpora folder (default: $INGEST_CORPORA, else ../shared/corpora)")
    parser.add_argument("--ingest", default=None, help="the ingest executable (default: next to this Python)")
    parser.add_argument("--chart", type=Path, default=CHART, help=f"chart PNG (default {CHART.relative_to(REPO)})")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs of each tool per size, alternating; the fastest is reported (default 1)")
    parser.add_argument("--keep-outputs", action="store_true",
                        help="keep both tools' outputs under bench/results/runs/ (default: delete after scoring)")
    args = parser.parse_args()
    argv = ["python", "bench/compare.py", *sys.argv[1:]]
    ingest = ingest_executable(args.ingest)
    dt_python = datatrove_python()
    versions = {
        "ingest": installed_version(sys.executable, "ingest"),
        "prefect": installed_version(sys.executable, "prefect"),
        "datatrove": installed_version(dt_python, "datatrove"),
        "spacy": installed_version(dt_python, "spacy"),
        "ftfy (datatrove venv)": installed_version(dt_python, "ftfy"),
    }
    summaries = [compare_size(docs, args, ingest, dt_python, versions, argv) for docs in args.sizes]
    write_chart(summaries, args.chart)
    print(f"chart: {args.chart}")


if __name__ == "__main__":
    main()
