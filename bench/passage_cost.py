"""CPU seconds of the passage search over a run's kept stories, in one process.

    python bench/passage_cost.py OUT/documents.jsonl [--config FILE]

The kept texts of a run (`ingest run ... --out OUT`) are split into the library's words
and anchors (untimed: the workers do that while cleaning); then timed with
`time.process_time()`: `candidate_pairs` with the run's stock limit and the config's
options, and `match_pairs` over every candidate pair, as the run's passage phase calls
them. Whichever `ingest` is first on sys.path is measured, so an older commit's copy
can be put first (PYTHONPATH) and measured in alternation with this one; options an
older commit does not know are not passed to it.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parent.parent))  # after PYTHONPATH and the installed copy

from ingest.config import load_config  # noqa: E402
from ingest.dedup import passages  # noqa: E402
from ingest.dedup.shingles import token_hashes  # noqa: E402
from ingest.dedup.stock_phrases import stock_limit  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("documents", help="a run's documents.jsonl")
    parser.add_argument("--config", help="a TOML file merged over config/default.toml")
    args = parser.parse_args()
    config = load_config(args.config).dedup.passages
    with open(args.documents, encoding="utf-8") as f:
        tokens = [token_hashes(json.loads(line)["text"]) for line in f]
    anchor_sets = [passages.anchors(t, config) for t in tokens]
    grams = [passages.grams(t, config) for t in tokens]
    rare = (config.rare_anchor_documents,) if "rare_anchor_documents" in type(config).model_fields else ()
    started = time.process_time()
    first, second, stock = passages.candidate_pairs(anchor_sets, passages.min_shared_anchors(config),
                                                    stock_limit(len(anchor_sets), config), *rare)
    paired = time.process_time()
    found = passages.match_pairs(zip(first.tolist(), second.tolist()), grams.__getitem__, config, stock)
    matched = time.process_time()
    print(f"{passages.__file__}: stories {len(tokens)}, candidate pairs {len(first)} ({paired - started:.2f} s), "
          f"passages {len(found)} ({matched - paired:.2f} s), passage search {matched - started:.2f} s CPU")


if __name__ == "__main__":
    main()
