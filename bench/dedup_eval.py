"""Precision and recall of the near-duplicate detector, and recall of its LSH stage.

    python bench/dedup_eval.py --docs 20000                # the configured defaults
    python bench/dedup_eval.py --docs 20000 --sweep        # the settings compared
    python bench/dedup_eval.py --corpus /work/bench-corpus/corpus-20000-s1   # a corpus built already

The corpus is bench/throughput_corpus.py's (Reuters-21578 and BBC News read in place,
plus derived copies of known origin with their true word-5-gram Jaccard). The detector
is the library's own `Deduplicator` on the layout-normalised text, without Prefect, so
the figures are about dedup alone.

Measured:
- recall per true-Jaccard band and per kind of edit (the truth's `edit`): derived
  copies (`exact`, `near`) found in the same cluster as their origin;
- precision: reported pairs (duplicate, duplicate_of) of one family (a copy and its
  origin, or two copies of one origin), or of two families whose originals are
  already one story in the source (Reuters sent many stories twice: re-sent,
  corrected, extended or rewritten, the same day or days later). That is judged on
  the two raw originals, by a measure independent of the detector's: Python's difflib
  matches at least `SOURCE_MATCHED` of the shorter one's words, in order, in the
  longer, and every figure of the shorter (a word with a digit, or a month) is in the
  longer. Every other reported pair is listed (`wrong_pairs`), with the day Reuters
  sent each original (Reuters-21578's <DATE>), to be read;
- LSH recall: of the known (copy, origin) pairs that the verification accepts, the
  share the LSH proposes as candidates;
- candidates per document and LSH false positives (candidates refused by the
  verification): the cost side of the bands/rows choice.
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from throughput_corpus import band_of, build_corpus, default_corpora  # noqa: E402

from ingest.clean.layout import normalise_layout
from ingest.config import DedupConfig, PassageConfig, load_config  # noqa: E402
from ingest.dedup.clusters import Deduplicator
from ingest.dedup.minhash import MinHasher, sketch  # noqa: E402
from ingest.dedup.verify import compare, kind_of

SOURCE_MATCHED = 0.8
_WORD = re.compile(r"\w+")
_SENT = re.compile(r'NEWID="(\d+)">\s*<DATE>\s*([^ <]+)')
_MONTHS = {"january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
           "november", "december"}

SWEEP = [
    # shingle size, bands, rows
    (5, 32, 4),
    (5, 42, 3),
    (5, 64, 2),
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
            lo, hi = band_of(d["true_jaccard"]) if d["true_jaccard"] < 1.0 else (1.0, 1.0)
            key = f"{lo:.1f}-{hi:.1f}" if (lo, hi) != (1.0, 1.0) else "exact"
            counts[key][1] += 1
            counts[key][0] += clusters[d["id"]] == clusters[d["origin"]]
    return {k: tuple(v) for k, v in sorted(counts.items())}


def recall_by_edit(docs: list[dict], clusters: dict[str, str]) -> dict[str, tuple[int, int]]:
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for d in docs:
        if d["kind"] in ("exact", "near") and d["origin"]:
            key = d["edit"] if d["kind"] == "near" else "exact copy"
            counts[key][1] += 1
            counts[key][0] += clusters[d["id"]] == clusters[d["origin"]]
    return {k: tuple(v) for k, v in sorted(counts.items())}


def reuters_days(corpora: Path) -> dict[str, str]:
    """The day each Reuters-21578 story was sent, by the corpus's document id."""
    return {f"reuters-{newid}": day for sgm in sorted((corpora / "reuters21578").glob("*.sgm"))
            for newid, day in _SENT.findall(sgm.read_text(encoding="latin-1"))}


def one_story_in_the_source(a: str, b: str) -> bool:
    """Whether two raw originals are one story already (module docstring, precision)."""
    words_a, words_b = sorted((_WORD.findall(a.lower()), _WORD.findall(b.lower())), key=len)
    blocks = difflib.SequenceMatcher(None, words_a, words_b, autojunk=False).get_matching_blocks()
    figures = [Counter(w for w in words if w in _MONTHS or any(c.isdigit() for c in w)) for words in (words_a, words_b)]
    return sum(m.size for m in blocks) >= SOURCE_MATCHED * len(words_a) and not figures[0] - figures[1]


def precision(result, by_id: dict[str, dict]) -> dict:
    """Reported pairs: of one family, of two originals one story in the source, and the others."""
    pairs = sorted((doc_id, d.duplicate_of) for doc_id, d in result.decisions.items() if d.duplicate_of)

    def family(doc_id: str) -> str:
        return by_id[doc_id]["origin"] or doc_id

    def originals(a: str, b: str) -> bool:
        return all(by_id[family(x)]["kind"] == "original" for x in (a, b))

    other = [(a, b) for a, b in pairs if family(a) != family(b)]
    in_source = [(a, b) for a, b in other
                 if originals(a, b) and one_story_in_the_source(by_id[family(a)]["text"], by_id[family(b)]["text"])]
    wrong = [(a, b) for a, b in other if (a, b) not in set(in_source)]
    return {"reported": len(pairs), "one_family": len(pairs) - len(other), "one_story_in_the_source": len(in_source),
            "right": len(pairs) - len(wrong), "wrong": wrong}


def lsh_recall(dedup: Deduplicator, sketches: dict, docs: list[dict], config: DedupConfig) -> tuple[int, int]:
    truth = set()
    for d in docs:
        if d["origin"] and d["origin"] in sketches:
            a, b = sorted((d["id"], d["origin"]))
            (tokens_a, marks_a), (tokens_b, marks_b) = dedup.words(a), dedup.words(b)
            if kind_of(compare(tokens_a, marks_a, tokens_b, marks_b, config), config) is not None:
                truth.add((a, b))
    proposed = set(dedup.candidate_pairs(sorted(sketches)))  # what the run's LSH proposes
    return len(truth & proposed), len(truth)


def evaluate(docs: list[dict], config: DedupConfig, days: dict[str, str]) -> dict:
    by_id = {d["id"]: d for d in docs}
    dedup, result, sketches, seconds = detect(docs, config)
    hit, total = lsh_recall(dedup, sketches, docs, config)
    reported = precision(result, by_id)
    clusters = cluster_of(result)
    return {
        "setting": f"n={config.shingle_size} b={config.bands} r={config.rows}",
        "recall": recall_by_band(docs, clusters),
        "recall_by_edit": recall_by_edit(docs, clusters),
        "precision": (reported["right"], reported["reported"]),
        "reported_pairs": {k: v for k, v in reported.items() if k != "wrong"},
        "wrong_pairs": [{"pair": [a, b], "kind": result.decisions[a].kind, "similarity": result.decisions[a].similarity,
                         "containment": result.decisions[a].containment,
                         "families": [by_id[x]["origin"] or x for x in (a, b)],
                         "sent": [days.get(by_id[x]["origin"] or x, "") for x in (a, b)]} for a, b in reported["wrong"]],
        "lsh_recall": (hit, total),
        "candidates_per_doc": round(result.stats["lsh_candidates"] / len(docs), 3),
        "lsh_false_positives": result.stats["lsh_false_positives"],
        "stats": result.stats,
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
    parser.add_argument("--corpus", type=Path, help="a corpus built already (else built under bench/results)")
    parser.add_argument("--config", default="{}", help="[dedup] options as JSON, over config/default.toml's")
    parser.add_argument("--sweep", action="store_true", help="compare the settings in SWEEP")
    args = parser.parse_args()
    corpus = args.corpus or REPO / "bench" / "results" / f"corpus-{args.docs}-s{args.seed}"
    if not (corpus / "manifest.json").exists():
        build_corpus(args.corpora, args.docs, args.seed, corpus)
    docs = load_corpus(corpus)
    days = reuters_days(args.corpora)
    passages_off = PassageConfig(enabled=False)
    defaults = DedupConfig.model_validate(load_config().dedup.model_dump() | json.loads(args.config)
                                          | {"passages": passages_off.model_dump()})
    if args.sweep:
        configs = [defaults.model_copy(update={"shingle_size": n, "bands": b, "rows": r}) for n, b, r in SWEEP]
    else:
        configs = [defaults]
    rows = []
    for config in configs:
        rows.append(evaluate(docs, config, days))
        print(json.dumps(rows[-1]), file=sys.stderr)
    print(f"corpus: {corpus} ({len(docs)} documents)\n")
    print(table(rows))
    for r in rows:
        print(f"\n{r['setting']}, recall by kind of edit:\n")
        print("| edit | found |\n|---|---|")
        for edit, pair in r["recall_by_edit"].items():
            print(f"| {edit} | {fraction(pair)} |")
        counts = r["reported_pairs"]
        print(f"\n{r['setting']}, reported pairs: {counts['reported']}; of one family {counts['one_family']}, of two "
              f"originals one story in the source {counts['one_story_in_the_source']}; the {len(r['wrong_pairs'])} others:\n")
        print("| pair | kind | similarity | containment | families | sent |\n|---|---|---|---|---|---|")
        for w in r["wrong_pairs"]:
            print(f"| {' / '.join(w['pair'])} | {w['kind']} | {w['similarity']} | {w['containment']} | "
                  f"{' / '.join(w['families'])} | {' / '.join(w['sent'])} |")


if __name__ == "__main__":
    main()
