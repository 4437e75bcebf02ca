"""Parquet against JSON lines, and loading an output into DuckDB and Iceberg.

    python bench/loaders.py --corpus /work/bench-corpus/corpus-100000-s1 --pairs 2 --loads 3

On a corpus built by bench/throughput_corpus.py (its `shards/`), measures:

1. `ingest run CORPUS/shards --out DIR --no-progress` with `--format jsonl` and with
   `--format parquet`, in `--pairs` back-to-back pairs whose order alternates (ABBA), so
   that the machine's slow drifts cancel within a pair: each run's wall, the CPU of its
   process tree and its peak RSS (bench/compare.measure), and per pair parquet's wall
   and CPU minus jsonl's;
2. the bytes of the outputs each format wrote (documents, duplicates, rejects);
3. `ingest load OUT --into duckdb:FRESH.duckdb` on each format's output, `--loads`
   times alternating between the two, and once each into a fresh Iceberg catalog:
   wall, peak RSS, and rows per second (documents, duplicates, passage links and
   rejects loaded, over the load's whole wall, process start included).

Writes bench/results/<date>-loaders-<N>.md (the same table is printed). The machine
may be shared: the pairs' median is the figure to quote.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

import compare

FORMATS = ("jsonl", "parquet")
KINDS = ("documents", "duplicates", "rejects")
_LOADED = re.compile(r"\((.*)\)")


def run_once(ingest: str, corpus: Path, fmt: str, work: Path) -> tuple[compare.Measurement, Path]:
    out = work / f"out-{fmt}"
    if out.exists():
        shutil.rmtree(out)
    m = compare.measure([ingest, "run", str(corpus / "shards"), "--out", str(out), "--no-progress", "--format", fmt],
                        work)
    if m.returncode != 0:
        raise SystemExit(f"ingest run --format {fmt} failed: {(m.stderr.strip().splitlines() or [''])[-1]}")
    return m, out


def loaded_rows(stdout: str) -> int:
    """The rows a load reports: "... (20000 documents, 3 duplicates, ...)"."""
    found = _LOADED.search(stdout)
    return sum(int(part.split()[0]) for part in found.group(1).split(", ")) if found else 0


def load_once(ingest: str, out: Path, target: str, work: Path) -> tuple[compare.Measurement, int]:
    m = compare.measure([ingest, "load", str(out), "--into", target], work)
    if m.returncode != 0:
        raise SystemExit(f"ingest load {out} failed: {(m.stderr.strip().splitlines() or [''])[-1]}")
    return m, loaded_rows(m.stdout)


def mib(n: int) -> str:
    return f"{n / 2**20:,.1f} MiB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, required=True, help="a corpus of bench/throughput_corpus.py")
    parser.add_argument("--pairs", type=int, default=2, help="ABBA pairs of ingest run, jsonl against parquet")
    parser.add_argument("--loads", type=int, default=3, help="DuckDB loads of each format's output")
    parser.add_argument("--ingest", default=None, help="the ingest executable (default: this venv's)")
    args = parser.parse_args()
    ingest = compare.ingest_executable(args.ingest)
    manifest = json.loads((args.corpus / "manifest.json").read_text())
    docs = manifest.get("documents") or manifest.get("docs") or "?"
    revision = compare.ingest_revision()
    work = Path(tempfile.mkdtemp(prefix="loaders-", dir=compare.RESULTS if compare.RESULTS.exists() else None))
    lines = [f"# Loaders: Parquet against JSON lines, loads into DuckDB and Iceberg ({docs} documents)", "",
             f"`python bench/loaders.py --corpus {args.corpus} --pairs {args.pairs} --loads {args.loads}` at "
             f"{revision}, {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, on {compare.machine_description()} "
             "(shared with other jobs).", ""]

    walls: dict[str, list[float]] = {f: [] for f in FORMATS}
    cpus: dict[str, list[float]] = {f: [] for f in FORMATS}
    peaks: dict[str, list[int]] = {f: [] for f in FORMATS}
    differences, cpu_differences = [], []
    outputs: dict[str, Path] = {}
    for pair in range(args.pairs):
        order = FORMATS if pair % 2 == 0 else FORMATS[::-1]
        got = {}
        for fmt in order:
            m, outputs[fmt] = run_once(ingest, args.corpus, fmt, work)
            got[fmt] = m
            walls[fmt].append(m.wall)
            cpus[fmt].append(m.cpu)
            peaks[fmt].append(m.peak_rss)
            print(f"pair {pair + 1} {fmt}: {m.wall:.1f} s, CPU {m.cpu:.1f} s, peak {mib(m.peak_rss)}", flush=True)
        differences.append(got["parquet"].wall - got["jsonl"].wall)
        cpu_differences.append(got["parquet"].cpu - got["jsonl"].cpu)
    lines += ["## ingest run, by format (ABBA pairs)", "",
              "| format | walls (s) | median wall | CPU of the process tree (s) | median CPU | median peak RSS |",
              "|---|---|---|---|---|---|"]
    for fmt in FORMATS:
        lines.append(f"| {fmt} | {', '.join(f'{w:.1f}' for w in walls[fmt])} | {statistics.median(walls[fmt]):.1f} s | "
                     f"{', '.join(f'{c:.1f}' for c in cpus[fmt])} | {statistics.median(cpus[fmt]):.1f} s | "
                     f"{mib(int(statistics.median(peaks[fmt])))} |")
    lines += ["", f"Parquet minus JSON lines, per pair: wall {', '.join(f'{d:+.1f}' for d in differences)} s "
              f"(median {statistics.median(differences):+.1f} s); CPU {', '.join(f'{d:+.1f}' for d in cpu_differences)} s "
              f"(median {statistics.median(cpu_differences):+.1f} s).", ""]

    sizes = {fmt: {k: (outputs[fmt] / f"{k}.{fmt}").stat().st_size for k in KINDS} for fmt in FORMATS}
    lines += ["## Output bytes", "", "| file | jsonl | parquet | parquet / jsonl |", "|---|---|---|---|"]
    for k in (*KINDS, "all"):
        j = sum(sizes["jsonl"].values()) if k == "all" else sizes["jsonl"][k]
        p = sum(sizes["parquet"].values()) if k == "all" else sizes["parquet"][k]
        lines.append(f"| {k} | {j:,} | {p:,} | {p / j:.3f} |" if j else f"| {k} | {j:,} | {p:,} | - |")
    lines.append("")

    load_walls: dict[str, list[float]] = {f: [] for f in FORMATS}
    load_cpus: dict[str, list[float]] = {f: [] for f in FORMATS}
    load_peaks: dict[str, list[int]] = {f: [] for f in FORMATS}
    rows: dict[str, int] = {}
    for n in range(args.loads):
        for fmt in (FORMATS if n % 2 == 0 else FORMATS[::-1]):
            store = work / f"store-{fmt}-{n}.duckdb"
            m, rows[fmt] = load_once(ingest, outputs[fmt], f"duckdb:{store}", work)
            store.unlink()
            load_walls[fmt].append(m.wall)
            load_cpus[fmt].append(m.cpu)
            load_peaks[fmt].append(m.peak_rss)
            print(f"load {n + 1} {fmt} into DuckDB: {m.wall:.2f} s, {rows[fmt]:,} rows", flush=True)
    lines += ["## ingest load into DuckDB (a fresh file each time)", "",
              "| output | rows | walls (s) | median wall | rows/s | median CPU | median peak RSS |",
              "|---|---|---|---|---|---|---|"]
    for fmt in FORMATS:
        median = statistics.median(load_walls[fmt])
        lines.append(f"| {fmt} | {rows[fmt]:,} | {', '.join(f'{w:.2f}' for w in load_walls[fmt])} | {median:.2f} s | "
                     f"{rows[fmt] / median:,.0f} | {statistics.median(load_cpus[fmt]):.2f} s | "
                     f"{mib(int(statistics.median(load_peaks[fmt])))} |")
    lines.append("")

    lines += ["## ingest load into Iceberg (a fresh SQLite catalog, once)", "",
              "| output | rows | wall | rows/s | CPU | peak RSS |", "|---|---|---|---|---|---|"]
    for fmt in FORMATS:
        lake = work / f"lake-{fmt}"
        m, n = load_once(ingest, outputs[fmt], f"iceberg:{lake}", work)
        shutil.rmtree(lake)
        lines.append(f"| {fmt} | {n:,} | {m.wall:.2f} s | {n / m.wall:,.0f} | {m.cpu:.2f} s | {mib(m.peak_rss)} |")
        print(f"load {fmt} into Iceberg: {m.wall:.2f} s, {n:,} rows", flush=True)
    lines.append("")

    text = "\n".join(lines)
    print(text)
    compare.RESULTS.mkdir(exist_ok=True)
    (compare.RESULTS / f"{dt.date.today()}-loaders-{docs}.md").write_text(text + "\n", encoding="utf-8")
    shutil.rmtree(work)


if __name__ == "__main__":
    sys.exit(main())
