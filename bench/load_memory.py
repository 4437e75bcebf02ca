"""Peak memory and speed of `ingest load`: two source trees, in alternating pairs.

    git -C /work/main archive main | tar -x -C /tmp/before
    python bench/load_memory.py --before /tmp/before --output OUT-20000 --output OUT-100000 --pairs 2

For each output folder (of `ingest run`, either format) and each store (`--store`,
duckdb and iceberg by default), runs `python -m ingest.cli load OUT --into STORE` with
the source tree at `--before` and with this one (`--after`) on `PYTHONPATH`, in pairs
whose order alternates (ABBA) so that the machine's drifts cancel within a pair, each
into a fresh store. `/usr/bin/time -v` gives each load's peak RSS (the kernel's
high-water mark of the one process, exact where polling could miss a peak), its CPU
seconds (user + system) and its wall; rows/s are the rows the load reports over its
CPU seconds (the steadier figure on a shared machine) and over its wall. The 1-minute
load average before each load is printed beside it.

Prints a Markdown table and writes it to bench/results/<date>-load-memory.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"
_LOADED = re.compile(r"\((.*)\)")
_TIME_FIELDS = {"Maximum resident set size (kbytes)": "peak_kib", "User time (seconds)": "user",
                "System time (seconds)": "system", "Elapsed (wall clock) time (h:mm:ss or m:ss)": "wall"}


@dataclass
class Load:
    peak_mib: float
    cpu: float
    wall: float
    rows: int
    load_average: float


def _seconds(clock: str) -> float:
    seconds = 0.0
    for part in clock.split(":"):
        seconds = seconds * 60 + float(part)
    return seconds


def load_once(tree: Path, output: Path, store: str, work: Path) -> Load:
    """One `ingest load` of `output` into a fresh `store` with the source tree `tree`."""
    place = work / ("store.duckdb" if store == "duckdb" else "lake")
    timing = work / "time.txt"
    load_average = os.getloadavg()[0]
    result = subprocess.run(["/usr/bin/time", "-v", "-o", str(timing), sys.executable, "-m", "ingest.cli", "load",
                             str(output), "--into", f"{store}:{place}"], capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(tree)}, cwd=work)
    if place.is_dir():
        shutil.rmtree(place)
    else:
        place.unlink(missing_ok=True)
    if result.returncode != 0:
        raise SystemExit(f"load of {output} into {store} with {tree} failed: {result.stderr.strip()}")
    found = {}
    for line in timing.read_text().splitlines():
        key, _, value = line.strip().rpartition(": ")
        if key in _TIME_FIELDS:
            found[_TIME_FIELDS[key]] = value
    loaded = _LOADED.search(result.stdout)
    rows = sum(int(part.split()[0]) for part in loaded.group(1).split(", ")) if loaded else 0
    return Load(int(found["peak_kib"]) / 1024, float(found["user"]) + float(found["system"]),
                _seconds(found["wall"]), rows, load_average)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", type=Path, required=True, help="the source tree to compare with")
    parser.add_argument("--after", type=Path, default=REPO, help="the source tree measured (default: this one)")
    parser.add_argument("--output", type=Path, action="append", required=True, help="an `ingest run` output folder")
    parser.add_argument("--store", action="append", choices=("duckdb", "iceberg"), help="default: both")
    parser.add_argument("--pairs", type=int, default=2, help="ABBA pairs of loads, before against after")
    args = parser.parse_args()
    stores = args.store or ["duckdb", "iceberg"]
    trees = {"before": args.before.resolve(), "after": args.after.resolve()}
    lines = [f"# ingest load: peak RSS and rows/s, {trees['before']} against {trees['after']}", "",
             f"`python bench/load_memory.py --before {args.before} "
             + " ".join(f"--output {o}" for o in args.output)
             + f" --pairs {args.pairs}` on {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores.", "",
             "| output | store | tree | rows | peak RSS (MiB) | CPU (s) | wall (s) | rows/CPU s (median) "
             "| rows/s wall (median) | load average |", "|---|---|---|---|---|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory(prefix="load-memory-") as tmp:
        work = Path(tmp)
        for output in args.output:
            for store in stores:
                got: dict[str, list[Load]] = {"before": [], "after": []}
                for pair in range(args.pairs):
                    for name in (("before", "after") if pair % 2 == 0 else ("after", "before")):
                        m = load_once(trees[name], output.resolve(), store, work)
                        got[name].append(m)
                        print(f"{output.name} {store} {name}: peak {m.peak_mib:.1f} MiB, CPU {m.cpu:.2f} s, "
                              f"wall {m.wall:.2f} s, {m.rows:,} rows, load {m.load_average:.1f}", flush=True)
                for name, loads in got.items():
                    lines.append(
                        f"| {output.name} | {store} | {name} | {loads[0].rows:,} | "
                        f"{', '.join(f'{m.peak_mib:,.1f}' for m in loads)} | {', '.join(f'{m.cpu:.2f}' for m in loads)} | "
                        f"{', '.join(f'{m.wall:.2f}' for m in loads)} | "
                        f"{statistics.median(m.rows / m.cpu for m in loads):,.0f} | "
                        f"{statistics.median(m.rows / m.wall for m in loads):,.0f} | "
                        f"{', '.join(f'{m.load_average:.1f}' for m in loads)} |")
    text = "\n".join(lines)
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{dt.date.today()}-load-memory.md").write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
