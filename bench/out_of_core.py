"""Do the central steps decide the same out of core as in memory? At what peak and speed?

    python bench/out_of_core.py --corpus /work/bench-corpus/corpus-100000-s1 [--repeat 2]

Runs `ingest run CORPUS/shards --out DIR --no-progress --config FILE` with the central
steps in memory (`[run] central_memory_mib` large) and out of core (0), `--repeat`
times each in alternating pairs (ABBA: the order flips every pair), measured as
bench/compare.py measures (`compare.measure`: whole-tree peak RSS, wall time). The
outputs of the first pair are compared as bench/same_outputs.py compares two
revisions: `documents.jsonl`, `duplicates.jsonl` and `rejects.jsonl` record by record,
every field but `added`; with `--before OUT`, each mode's outputs are also compared with
OUT, the outputs of another revision's `ingest run` of the same corpus. Printed: each
mode's median wall time and documents a second, its largest peak and the parts of it by
process, and whether the outputs are the same.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
from pathlib import Path

import compare
import same_outputs

MIB = 1 << 20
MODES = {"in memory": 1 << 20, "out of core": 0}  # [run] central_memory_mib


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, required=True, help="a corpus folder with shards/")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each mode (default 1)")
    parser.add_argument("--ingest", default=None, help="the ingest executable (default: next to this Python)")
    parser.add_argument("--before", type=Path, default=None,
                        help="the outputs of another revision's run of the corpus, to compare each mode's with")
    args = parser.parse_args()
    ingest = compare.ingest_executable(args.ingest)
    runs: dict[str, list[compare.Measurement]] = {mode: [] for mode in MODES}
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        kept = {}
        for repeat in range(args.repeat):
            for mode in list(MODES) if repeat % 2 == 0 else list(MODES)[::-1]:
                config = work / f"{MODES[mode]}.toml"
                config.write_text(f"[run]\ncentral_memory_mib = {MODES[mode]}\n")
                out = work / f"out-{MODES[mode]}-{repeat}"
                print(f"{mode}, run {repeat + 1}/{args.repeat} ...", flush=True)
                m = compare.measure([ingest, "run", str(args.corpus / "shards"), "--out", str(out), "--no-progress",
                                     "--config", str(config)], work)
                if m.returncode != 0:
                    raise SystemExit(f"{mode} failed with status {m.returncode}: {m.stderr.strip()[-2000:]}")
                runs[mode].append(m)
                if mode in kept:
                    shutil.rmtree(out)
                else:
                    kept[mode] = out
        docs = json.loads((kept["in memory"] / "report.json").read_text())["counts"]["inputs"]
        found = same_outputs.differences(kept["in memory"], kept["out of core"])
        before = {mode: same_outputs.differences(args.before, out) for mode, out in kept.items()} if args.before else {}
    print(f"\n`python bench/out_of_core.py --corpus {args.corpus} --repeat {args.repeat}` "
          f"(ingest commit {compare.ingest_revision()}), {docs:,} documents\n")
    print("| central steps | runs | median wall s | docs/s | peak MiB | at the peak, MiB |")
    print("|---|---:|---:|---:|---:|---|")
    for mode, measured in runs.items():
        wall = statistics.median(m.wall for m in measured)
        top = max(measured, key=lambda m: m.peak_rss)
        parts = ", ".join(f"{role} {rss / MIB:.0f}" for role, (_, rss) in sorted(top.peak_by_role.items()))
        print(f"| {mode} | {len(measured)} | {wall:.1f} | {docs / wall:,.0f} | {top.peak_rss / MIB:.0f} | {parts} |")
    print("\nOutputs: " + ("the same (every field but `added`)." if not found else "DIFFERENT: " + "; ".join(found)))
    for mode, differ in before.items():
        print(f"{mode} against {args.before}: " + ("the same." if not differ else "DIFFERENT: " + "; ".join(differ)))


if __name__ == "__main__":
    main()
