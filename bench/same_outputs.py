"""Do two revisions of ingest give the same outputs? And at what speed?

    python bench/same_outputs.py --before 28b0d21                 # against the working tree
    python bench/same_outputs.py --before 28b0d21 --after HEAD --repeat 3

Each revision is checked out as a git worktree (the working tree itself for `--after .`,
the default) and run as a user runs it, `python -m ingest.cli run INPUT --out DIR`, with
this Python, on three inputs:

- the seeds (`seeds/`);
- the hostile dump of `tests/ingest/run/test_conservation.py` (every kind of bad input),
  read without the capabilities that let root read a chmod 000 file, as that test does;
- the bench corpus (`--corpus`, default `bench/results/corpus-20000-s1/shards`, built
  by `bench/throughput_corpus.py` when absent).

`documents.jsonl`, `duplicates.jsonl` and `rejects.jsonl` must hold the same records in
the same order, every field equal but `added` (the ingestion time). The first difference
is printed and the exit status is 1. On the bench corpus the two revisions run
`--repeat` times each in alternating pairs (ABBA: the order flips every pair), and the
median whole-process time of each is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.samples import build_dump, unprivileged  # noqa: E402

OUTPUTS = ("documents.jsonl", "duplicates.jsonl", "rejects.jsonl")


def checkout(rev: str, into: Path) -> Path:
    """The tree of `rev` (the working tree for "."), as a folder."""
    if rev == ".":
        return REPO
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", "--force", str(into), rev],
                   check=True, capture_output=True)
    return into


def run(tree: Path, inputs: Path, out: Path, prefix: list[str]) -> float:
    """`ingest run` of the tree at `tree` on `inputs`; its whole-process seconds."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env["PYTHONPATH"] = str(tree)
    shutil.rmtree(out, ignore_errors=True)
    started = time.perf_counter()
    done = subprocess.run([*prefix, sys.executable, "-m", "ingest.cli", "run", str(inputs), "--out", str(out),
                           "--no-progress"], cwd=tree, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{tree}: ingest run {inputs} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    return seconds


def records(path: Path) -> list[dict]:
    rows = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            row.pop("added", None)
            rows.append(row)
    return rows


def differences(before: Path, after: Path) -> list[str]:
    found = []
    for name in OUTPUTS:
        a, b = records(before / name), records(after / name)
        if len(a) != len(b):
            found.append(f"{name}: {len(a)} records before, {len(b)} after")
            continue
        for n, (x, y) in enumerate(zip(a, b), 1):
            if x != y:
                keys = sorted(k for k in set(x) | set(y) if x.get(k) != y.get(k))
                found.append(f"{name} record {n} ({x.get('source')}): fields differ: {', '.join(keys)}")
                break
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", required=True, help="the revision to compare against")
    parser.add_argument("--after", default=".", help="the revision to check (default: the working tree)")
    parser.add_argument("--corpus", type=Path, default=REPO / "bench/results/corpus-20000-s1/shards",
                        help="the bench corpus's shards (default: bench/results/corpus-20000-s1/shards)")
    parser.add_argument("--repeat", type=int, default=1, help="timed runs of each revision on the corpus (default 1)")
    args = parser.parse_args()
    if not args.corpus.is_dir():
        subprocess.run([sys.executable, str(REPO / "bench/throughput_corpus.py"), "--docs", "20000", "--seed", "1",
                        "--out", str(args.corpus.parent)], check=True)
    work = Path(tempfile.mkdtemp(prefix="same-outputs-"))
    trees = {}
    try:
        trees = {"before": checkout(args.before, work / "before"), "after": checkout(args.after, work / "after")}
        dump = work / "hostile"
        build_dump(dump)
        (dump / "vanished.txt").unlink()  # only the library run can delete it between listing and reading
        inputs = {"seeds": (REPO / "seeds", []), "hostile dump": (dump, unprivileged()), "bench corpus": (args.corpus, [])}
        seconds: dict[str, list[float]] = {"before": [], "after": []}
        failed = False
        for label, (path, prefix) in inputs.items():
            order = ["before", "after"]
            for repeat in range(args.repeat if label == "bench corpus" else 1):
                for which in (order if repeat % 2 == 0 else order[::-1]):
                    taken = run(trees[which], path, work / f"{which}-{label}", prefix)
                    if label == "bench corpus":
                        seconds[which].append(taken)
            found = differences(work / f"before-{label}", work / f"after-{label}")
            counts = [sum(1 for _ in open(work / f"after-{label}" / name, encoding="utf-8")) for name in OUTPUTS]
            print(f"{label}: {'same' if not found else 'DIFFERENT'} "
                  f"({counts[0]} documents, {counts[1]} duplicates, {counts[2]} rejects)")
            for line in found:
                print(f"  {line}")
            failed = failed or bool(found)
        for which in ("before", "after"):
            runs = ", ".join(f"{s:.2f}" for s in seconds[which])
            print(f"bench corpus, {which} ({args.before if which == 'before' else args.after}): "
                  f"median {statistics.median(seconds[which]):.2f} s ({runs})")
        sys.exit(1 if failed else 0)
    finally:
        for which, tree in trees.items():
            if tree != REPO:
                subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(tree)], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
