"""What the batch phases cost per document: CPU by part, or instructions (callgrind).

    python bench/clean_cost.py                       # CPU seconds of each part, the 20,000 corpus
    python bench/clean_cost.py --callgrind --docs 1000

Runs the prepare and clean phases as the library runs them (`run_phase`, one process, no
Prefect) on the first `--docs` documents of the bench corpus's shards (copied to a
temporary folder as one JSONL file, so every revision reads the same input), then:

- by default, the clean phase's CPU (process time) split into its parts by timing the
  functions `clean_batch` calls: the rules and learned boilerplate (`clean_record`), the
  words, marks, n-grams, MinHash signatures and passage anchors for dedup (per document
  before 3e94de7, for many at once in `BatchWords.add` since), the spill files; the
  rest is reading the prepared rows and the summary's counts. CPU seconds move with
  the machine's load; the split less so.
- with `--callgrind`, the instructions of each phase per document, counted by valgrind's
  callgrind (repeatable on a loaded machine): the same run three times under valgrind,
  stopping after the imports, after prepare and after clean, differences divided by
  the documents. `PYTHONPATH=TREE` measures another checkout of the project.
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
STAGES = ("imports", "prepare", "clean")


def sample(shards: Path, docs: int, into: Path) -> Path:
    """The first `docs` lines of the shards, in name order, as one file in `into`."""
    into.mkdir(parents=True, exist_ok=True)
    lines = []
    for shard in sorted(shards.glob("*.jsonl")):
        with open(shard, encoding="utf-8") as fh:
            lines.extend(line for _, line in zip(range(docs - len(lines)), fh))
        if len(lines) >= docs:
            break
    (into / "sample.jsonl").write_text("".join(lines), encoding="utf-8")
    return into


def run_stages(inputs: Path, out: Path, last: str) -> float:
    """Prepare and clean `inputs` up to stage `last`; the clean phase's CPU seconds."""
    from ingest.clean.boilerplate import learn_boilerplate
    from ingest.config import load_config
    from ingest.run.pipeline import plan_run, run_phase

    if last == "imports":
        return 0.0
    config = load_config()
    plan = plan_run([str(inputs)], out, config, 2)
    prepared = [run_phase("prepare", args) for args in plan.prepare_args()]
    if last == "prepare":
        return 0.0
    started = time.process_time()
    [run_phase("clean", args) for args in plan.clean_args(learn_boilerplate(prepared, config))]
    return time.process_time() - started


def time_parts(parts: collections.Counter) -> None:
    """Wrap the functions `clean_batch` calls so that their CPU seconds add up in `parts`."""
    import ingest.run.clean as clean

    def timed(fn, label):
        def wrapper(*args, **kwargs):
            started = time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                parts[label] += time.process_time() - started
        return wrapper

    import ingest.run.spill as spill

    # The words and sketches for dedup, in `clean_batch` or in `BatchWords.add` (whichever
    # the measured checkout has: see the docstring).
    for module, name, label in ((clean, "clean_record", "rules and boilerplate (clean_record)"),
                                (clean, "write_jsonl", "spill: documents"),
                                (clean, "hashes_and_spans", "dedup: words"),
                                (spill, "texts_hashes_and_spans", "dedup: words"),
                                (clean, "word_marks", "dedup: figures and names"),
                                (spill, "texts_word_marks", "dedup: figures and names"),
                                (clean, "ngram_hashes", "dedup: n-grams"),
                                (spill, "texts_ngram_hashes", "dedup: n-grams"),
                                (clean, "sketch", "dedup: shingle set and MinHash"),
                                (spill, "texts_winnow", "dedup: passage anchors")):
        if hasattr(module, name):
            setattr(module, name, timed(getattr(module, name), label))
    if hasattr(spill, "MinHasher"):
        spill.MinHasher.signatures = timed(spill.MinHasher.signatures, "dedup: shingle set and MinHash")
    if "add" in vars(clean.BatchWords) and not hasattr(spill, "texts_winnow"):
        clean.BatchWords.add = timed(clean.BatchWords.add, "dedup: passage anchors")
    clean.BatchWords.save = timed(clean.BatchWords.save, "spill: words and sketches")


def callgrind(inputs: Path, docs: int) -> None:
    counts = {}
    for stage in STAGES:
        done = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
                               __file__, "--stage", stage, "--inputs", str(inputs)],
                              capture_output=True, text=True, check=True)
        counts[stage] = int(re.search(r"Collected : (\d+)", done.stderr).group(1))
    print(f"instructions per document ({docs} documents): "
          f"prepare {(counts['prepare'] - counts['imports']) // docs:,}, "
          f"clean {(counts['clean'] - counts['prepare']) // docs:,}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shards", type=Path, default=REPO / "bench/results/corpus-20000-s1/shards",
                        help="the bench corpus's shards (default: bench/results/corpus-20000-s1/shards)")
    parser.add_argument("--docs", type=int, default=20000, help="documents from the start of the shards")
    parser.add_argument("--callgrind", action="store_true", help="instructions per document, under valgrind")
    parser.add_argument("--stage", choices=STAGES, help=argparse.SUPPRESS)  # one run under valgrind
    parser.add_argument("--inputs", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if "PYTHONPATH" not in os.environ:  # else the checkout it names
        sys.path.insert(0, str(REPO))
    work = Path(tempfile.mkdtemp(prefix="clean-cost-"))
    try:
        if args.stage:
            run_stages(args.inputs, work / "out", args.stage)
            return
        inputs = sample(args.shards, args.docs, work / "inputs")
        if args.callgrind:
            callgrind(inputs, args.docs)
            return
        parts: collections.Counter = collections.Counter()
        time_parts(parts)
        total = run_stages(inputs, work / "out", "clean")
        print(f"clean phase CPU, {args.docs} documents: {total:.2f} s ({1e6 * total / args.docs:.0f} us a document)")
        for label, seconds in [*parts.most_common(), ("the rest (reading rows, counts)", total - sum(parts.values()))]:
            print(f"  {label:42s} {seconds:6.2f} s  {100 * seconds / total:4.1f} %")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
