"""Prefect's overhead: `ingest run` against the same pipeline without Prefect, in pairs.

    python bench/prefect_overhead.py --size 100000 --pairs 10

On the corpus of bench/compare.py (built or reused the same way), runs `ingest run
CORPUS --out DIR --no-progress` and bench/plain_pipeline.py (the same pipeline on
`ingest run`'s worker pool, without Prefect) back to back, `--pairs` times, and writes
bench/results/<date>-prefect-overhead-<N>.md (the same table is printed).

Why pairs, and in this order.  Prefect's overhead is a few seconds out of forty at
100,000 documents, while on a shared machine a run's wall varies by about as much from
one run to the next.  The difference within a pair of back-to-back runs cancels the
slow drifts of the machine; the pairs alternate which of the two runs first (ABBA), so
that a drift during a pair does not always favour the same one; and the median of the
pairs resists the odd run that another job slowed.  Its 95 % interval comes from
resampling the pairs (bootstrap, seeded).

Measured for each run, as bench/compare.py measures (`compare.measure`): wall, the CPU
of the process tree, and the CPU of each kind of process in it (each process's last
CPU time seen by the poller, every POLL_SECONDS).  Then, for each pair:

- overhead: `ingest run`'s wall minus the plain pipeline's, and its share of
  `ingest run`'s wall;
- Prefect's CPU: the temporary API's process, plus what `ingest run`'s main process
  used above the plain pipeline's (Prefect's import, the flow and task engines); and
  that CPU spread over the machine's cores, as a share of the wall: what the overhead
  would be if the cores were never idle;
- the workers' CPU, `ingest run`'s minus the plain pipeline's: both do the same
  batches, so this is zero but for noise, unless Prefect slows the workers down.

Each run's outputs are deleted once its counts are read: the two runs of a pair must
count the same documents, duplicates and rejects.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import compare
import throughput_corpus as tc

TARGET_SHARE = 0.10  # the speed issue's target: Prefect's overhead under 10 % of the wall
API_ROLE = "Prefect API server"
BOOTSTRAP_SAMPLES = 10_000


@dataclass
class PairedRun:
    """One tool's run within a pair."""

    wall: float
    cpu: float
    main_cpu: float
    api_cpu: float
    workers_cpu: float
    other_cores: float
    counts: dict[str, int]


@dataclass
class Pair:
    ingest_first: bool
    ingest: PairedRun
    plain: PairedRun

    @property
    def overhead(self) -> float:
        return self.ingest.wall - self.plain.wall

    @property
    def share(self) -> float:
        return self.overhead / self.ingest.wall

    @property
    def prefect_cpu(self) -> float:
        return self.ingest.api_cpu + self.ingest.main_cpu - self.plain.main_cpu


def run_one(command: Callable[[Path], list[str]], run_dir: Path) -> PairedRun:
    """`command(out)`, run in `run_dir` with its outputs in `run_dir`/out."""
    run_dir.mkdir(parents=True)
    out = run_dir / "out"
    m, counts = compare.measure_counts(command(out), out, run_dir)
    roles = m.cpu_by_role
    return PairedRun(m.wall, m.cpu, roles.get("main", 0.0), roles.get(API_ROLE, 0.0), roles.get("workers", 0.0),
                     m.other_cores, {k: counts[k] for k in ("inputs", "documents", "duplicates", "rejected")})


def run_pairs(corpus: Path, pairs: int, ingest: str, runs: Path) -> list[Pair]:
    commands = {
        "ingest": lambda out: [ingest, "run", str(corpus / "shards"), "--out", str(out), "--no-progress"],
        "plain": lambda out: [sys.executable, str(compare.BENCH / "plain_pipeline.py"), str(corpus / "shards"),
                              "--out", str(out), "--workers", str(compare.TASKS)],
    }
    result = []
    for i in range(pairs):
        order = ("ingest", "plain") if i % 2 == 0 else ("plain", "ingest")
        done = {}
        for tool in order:
            print(f"pair {i + 1}/{pairs}: {tool} ...", flush=True)
            done[tool] = run_one(commands[tool], runs / f"{i + 1}-{tool}")
        if done["ingest"].counts != done["plain"].counts:
            raise SystemExit(f"pair {i + 1}: the two runs counted differently: "
                             f"ingest {done['ingest'].counts}, plain {done['plain'].counts}")
        result.append(Pair(order[0] == "ingest", done["ingest"], done["plain"]))
    return result


def bootstrap_median_interval(values: list[float], samples: int = BOOTSTRAP_SAMPLES,
                              seed: int = 0) -> tuple[float, float]:
    """The 2.5th and 97.5th percentiles of the median of `values` resampled with replacement."""
    rng = random.Random(seed)
    medians = sorted(statistics.median(rng.choices(values, k=len(values))) for _ in range(samples))
    return medians[int(0.025 * samples)], medians[int(0.975 * samples) - 1]


def report(pairs: list[Pair], docs: int, corpus: Path, argv: list[str], versions: dict[str, str]) -> str:
    cores = os.cpu_count() or 1
    lines = [
        f"# Prefect's overhead at {docs:,} documents, {dt.date.today().isoformat()}",
        "",
        f"Command: `{' '.join(argv)}` (corpus {corpus.relative_to(compare.REPO)}; ingest commit "
        f"{compare.ingest_revision()}; {', '.join(f'{k} {v}' for k, v in versions.items())}; "
        f"{cores} cores).",
        "",
        "| pair | first | `ingest run` s | plain pipeline s | overhead s | share | CPU difference s "
        "| Prefect's CPU s (API) | workers' CPU difference s | other load, cores |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for i, p in enumerate(pairs, 1):
        lines.append(
            f"| {i} | {'ingest' if p.ingest_first else 'plain'} | {p.ingest.wall:.2f} | {p.plain.wall:.2f} "
            f"| {p.overhead:.2f} | {p.share:.1%} | {p.ingest.cpu - p.plain.cpu:+.2f} "
            f"| {p.prefect_cpu:.2f} ({p.ingest.api_cpu:.2f}) | {p.ingest.workers_cpu - p.plain.workers_cpu:+.2f} "
            f"| {p.ingest.other_cores:.2f}, {p.plain.other_cores:.2f} |")
    shares = [p.share for p in pairs]
    overheads = [p.overhead for p in pairs]
    cpu_shares = [p.prefect_cpu / cores / p.ingest.wall for p in pairs]
    low, high = bootstrap_median_interval(shares)
    under = sum(share < TARGET_SHARE for share in shares)
    lines += [
        "",
        f"Overhead: median {statistics.median(overheads):.2f} s, {statistics.median(shares):.1%} of `ingest run`'s "
        f"wall (95 % interval of the median {low:.1%} to {high:.1%}); mean {statistics.mean(overheads):.2f} s; "
        f"{min(overheads):.2f} to {max(overheads):.2f} s; {under} of {len(pairs)} pairs under "
        f"{TARGET_SHARE:.0%}.",
        f"Prefect's CPU: median {statistics.median(p.prefect_cpu for p in pairs):.2f} s, of which the API's process "
        f"{statistics.median(p.ingest.api_cpu for p in pairs):.2f} s; spread over {cores} cores, "
        f"{statistics.median(cpu_shares):.1%} of the wall. Workers' CPU difference: median "
        f"{statistics.median(p.ingest.workers_cpu - p.plain.workers_cpu for p in pairs):+.2f} s.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=100_000, help="corpus size (default 100000)")
    parser.add_argument("--pairs", type=int, default=10, help="pairs of runs (default 10)")
    parser.add_argument("--seed", type=int, default=1, help="corpus seed (default 1)")
    parser.add_argument("--corpora", type=Path, default=None,
                        help="shared corpora folder (default: $INGEST_CORPORA, else ../shared/corpora)")
    parser.add_argument("--ingest", default=None, help="the ingest executable (default: next to this Python)")
    args = parser.parse_args()
    if args.pairs < 1:
        parser.error("--pairs must be at least 1")
    ingest = compare.ingest_executable(args.ingest)
    corpus, _ = compare.prepare_corpus(args.corpora or tc.default_corpora(), args.size, args.seed)
    runs = compare.RESULTS / "runs" / f"{dt.datetime.now():%Y%m%dT%H%M%S}-overhead-{args.size}"
    pairs = run_pairs(corpus, args.pairs, ingest, runs)
    versions = {name: compare.installed_version(sys.executable, name) for name in ("ingest", "prefect")}
    markdown = report(pairs, args.size, corpus, ["python", "bench/prefect_overhead.py", *sys.argv[1:]], versions)
    out = compare.RESULTS / f"{dt.date.today().isoformat()}-prefect-overhead-{args.size}.md"
    out.write_text(markdown)
    print(markdown)
    print(f"written: {out} (logs in {runs})")


if __name__ == "__main__":
    main()
