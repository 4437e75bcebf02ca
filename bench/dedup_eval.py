"""Precision and recall of the near-duplicate detector, and recall of its LSH stage.

    python bench/dedup_eval.py --docs 20000                # the configured defaults
    python bench/dedup_eval.py --docs 20000 --sweep        # the settings compared

The corpus is bench/throughput_corpus.py's (Reuters-21578 and BBC News read in place,
plus derived copies of known origin with their true word-5-gram Jaccard). The detector
is the library's own `Deduplicator` on the layout-normalised text, without Prefect, so
the figures are about dedup alone.

Measured:
- recall per true-Jaccard band: derived copies (`exact`, `near`) found in the same
  cluster as their origin;
- precision: reported pairs (duplicate, kept) whose true Jaccard (the corpus's own
  measure) is at least 0.5;
- LSH recall: of the pairs whose exact shingle Jaccard reaches the threshold, the share
  the LSH proposes as candidates. The pairs come from the known (copy, origin) pairs and
  from a brute-force search over a random sample of the corpus (`--sample`), so pairs
  nobody labelled count too;
- candidates per document and LSH false positives (candidates refused by the exact
  check): the cost side of the bands/rows choice.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from throughput_corpus import band_of, build_corpus, default_corpora, text_jaccard  # noqa: E402

from ingest.clean.layout import normalise_layout
from ingest.config import DedupConfig, PassageConfig  # noqa: E402
from ingest.dedup.clusters import Deduplicator
from ingest.dedup.minhash import MinHasher, sketch
from ingest.dedup.shingles import jaccard

BANDS = [(0.5, 0.6), (0.6, 0.7), (0.7, 0.8), (0.8, 0.9), (0.9, 1.0), (1.0, 1.0)]
SWEEP = [
    # shingle size, threshold, bands, rows
    (5, 0.7, 16, 8),
    (5, 0.7, 32, 4),
    (5, 0.6, 20, 6),
    (5, 0.6, 32, 4),
    (4, 0.6, 32, 4),
    (3, 0.6, 32, 4),
    (5, 0.5, 32, 4),
]


def load_corpus(corpus: Path) -> list[dict]:
    docs = []
    for shard in sorted((corpus / "shards").glob("*.jsonl")):
        with shard.open(encoding="utf-8") as fh:
            docs.extend(json.loads(line) for line in fh if line.strip())
    return docs


def detect(docs: list[dict], config: DedupConfig):
    hasher = MinHasher(config.num_perm, config.seed)
    dedup = Deduplicator(config)
    sketches = {}
    for d in docs:
        s = sketch(d["id"], normalise_layout(d["text"]), None, "2026-01-01", d["id"], config, hasher)
        dedup.add(s)
        sketches[d["id"]] = s
    started = time.perf_counter()
    result = dedup.run()
    return dedup, result, sketches, time.perf_counter() - started


def cluster_of(result) -> dict[str, str]:
    return {doc_id: d.cluster_id or doc_id for doc_id, d in result.decisions.items()}


def recall_by_band(docs: list[dict], clusters: dict[str, str]) -> dict[str, tuple[int, int]]:
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for d in docs:
        if d["kind"] in ("exact", "near") and d["origin"] and d["true_jaccard"] is not None:
            if d["true_jaccard"] < 0.5:
                continue
            lo, hi = band_of(d["true_jaccard"]) if d["true_jaccard"] < 1.0 else (1.0, 1.0)
            key = f"{lo:.1f}-{hi:.1f}" if (lo, hi) != (1.0, 1.0) else "exact"
            counts[key][1] += 1
            counts[key][0] += clusters[d["id"]] == clusters[d["origin"]]
    return {k: tuple(v) for k, v in sorted(counts.items())}


def precision(result, by_id: dict[str, dict]) -> tuple[int, int]:
    pairs = [(doc_id, d.duplicate_of) for doc_id, d in result.decisions.items() if d.duplicate_of]
    correct = sum(text_jaccard(by_id[a]["text"], by_id[b]["text"]) >= 0.5 for a, b in pairs)
    return correct, len(pairs)


def brute_force_pairs(dedup: Deduplicator, ids: list[str], threshold: float) -> set[tuple[str, str]]:
    """All pairs of `ids` with exact shingle Jaccard >= threshold (via shared shingles)."""
    shingles_of = {doc_id: dedup.shingles(doc_id) for doc_id in ids}
    postings: dict[int, list[str]] = defaultdict(list)
    for doc_id in ids:
        for h in shingles_of[doc_id].tolist():
            postings[h].append(doc_id)
    shared: dict[tuple[str, str], int] = defaultdict(int)
    for docs in postings.values():
        if 1 < len(docs) <= 200:
            for i, a in enumerate(docs):
                for b in docs[i + 1 :]:
                    shared[(min(a, b), max(a, b))] += 1
    found = set()
    for (a, b), n in shared.items():
        sa, sb = shingles_of[a], shingles_of[b]
        if n >= threshold * max(len(sa), len(sb)) and jaccard(sa, sb) >= threshold:
            found.add((a, b))
    return found


def lsh_recall(dedup: Deduplicator, sketches: dict, docs: list[dict], config: DedupConfig,
               sample: int, seed: int) -> tuple[int, int]:
    truth = set()
    for d in docs:
        if d["origin"] and d["origin"] in sketches:
            a, b = sorted((d["id"], d["origin"]))
            if jaccard(dedup.shingles(a), dedup.shingles(b)) >= config.threshold:
                truth.add((a, b))
    ids = random.Random(seed).sample(sorted(sketches), min(sample, len(sketches)))
    truth |= brute_force_pairs(dedup, ids, config.threshold)
    proposed = set(dedup.candidate_pairs(sorted(sketches)))  # what the run's LSH proposes
    return len(truth & proposed), len(truth)


def evaluate(docs: list[dict], config: DedupConfig, sample: int, seed: int) -> dict:
    by_id = {d["id"]: d for d in docs}
    dedup, result, sketches, seconds = detect(docs, config)
    hit, total = lsh_recall(dedup, sketches, docs, config, sample, seed)
    correct, reported = precision(result, by_id)
    return {
        "setting": f"n={config.shingle_size} t={config.threshold} b={config.bands} r={config.rows}",
        "recall": recall_by_band(docs, cluster_of(result)),
        "precision": (correct, reported),
        "lsh_recall": (hit, total),
        "candidates_per_doc": round(result.stats["lsh_candidates"] / len(docs), 3),
        "lsh_false_positives": result.stats["lsh_false_positives"],
        "dedup_seconds": round(seconds, 2),
    }


def fraction(pair: tuple[int, int]) -> str:
    hit, total = pair
    return f"{hit / total:.3f} ({hit}/{total})" if total else "-"


def table(rows: list[dict]) -> str:
    bands = sorted({b for r in rows for b in r["recall"]})
    head = ["setting", *[f"recall {b}" for b in bands], "precision", "LSH recall", "cand./doc", "LSH FP"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [r["setting"], *[fraction(r["recall"].get(b, (0, 0))) for b in bands], fraction(r["precision"]),
                 fraction(r["lsh_recall"]), str(r["candidates_per_doc"]), str(r["lsh_false_positives"])]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--corpora", type=Path, default=default_corpora())
    parser.add_argument("--sample", type=int, default=3000, help="documents searched by brute force")
    parser.add_argument("--sweep", action="store_true", help="compare the settings in SWEEP")
    args = parser.parse_args()
    corpus = REPO / "bench" / "results" / f"corpus-{args.docs}-s{args.seed}"
    if not (corpus / "manifest.json").exists():
        build_corpus(args.corpora, args.docs, args.seed, corpus)
    docs = load_corpus(corpus)
    passages_off = PassageConfig(enabled=False)
    if args.sweep:
        configs = [DedupConfig(shingle_size=n, threshold=t, bands=b, rows=r, passages=passages_off)
                   for n, t, b, r in SWEEP]
    else:
        from ingest.config import load_config

        configs = [load_config().dedup.model_copy(update={"passages": passages_off})]
    rows = []
    for config in configs:
        rows.append(evaluate(docs, config, args.sample, args.seed))
        print(json.dumps(rows[-1]), file=sys.stderr)
    print(f"corpus: {corpus} ({len(docs)} documents)\n")
    print(table(rows))


if __name__ == "__main__":
    main()
