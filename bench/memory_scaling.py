"""Does `ingest run`'s peak memory grow with the documents it indexes, or with the input?

    python bench/memory_scaling.py
    python bench/memory_scaling.py --docs 100000 1000000 --results /work/bench-corpus --no-long

Runs `ingest run CORPUS --out DIR --no-progress` on three inputs and measures the peak
of the summed RSS of its process tree as bench/compare.py does (`compare.measure`):

1. bench/compare.py's corpus of 20,000 documents;
2. its corpus of 100,000 documents: five times the documents and the text;
3. 20,000 long documents with all the text of the 100,000: document i joins the texts of
   documents i, i + 20,000, ..., i + 80,000 of the 100,000 corpus, a blank line between
   (built in bench/results/corpus-long-20000-s<seed>/ from the 100,000 corpus).

`--docs` chooses other corpus sizes (built by bench/throughput_corpus.py in `--results`
when absent; a million documents take about 1.5 GB of disk), `--no-long` leaves out
the third input.

A run's index is its documents' sketches (MinHash signatures, and the word hashes that
passage search reads back from the workers' spilled rows), one per document.  If the
peak follows the index, the third input peaks near the first; if it follows the input,
near the second.  Printed per input: documents, MB of text, the peak and its parts by
process, and the peak's growth per added document from the first to the second (the
marginal bytes per indexed document).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

import compare
import throughput_corpus as tc

LONG_DOCS = 20_000
MIB = 1 << 20


def build_long_corpus(source: Path, docs: int, folder: Path) -> int:
    """`docs` documents in `folder`/shards, each joining the texts of every `docs`-th
    document of `source` (a corpus folder with shards/): the same text in fewer, longer
    documents.  Returns the UTF-8 bytes of their texts."""
    texts = [json.loads(line)["text"] for shard in sorted((source / "shards").glob("shard-*.jsonl"))
             for line in shard.read_text(encoding="utf-8").splitlines()]
    if len(texts) % docs:
        raise SystemExit(f"{source} holds {len(texts):,} documents, not a multiple of {docs:,}")
    shards = folder / "shards"
    if shards.exists():
        shutil.rmtree(shards)
    shards.mkdir(parents=True)
    per_shard = 1_000
    text_bytes = 0
    for first in range(0, docs, per_shard):
        with open(shards / f"shard-{first // per_shard:05d}.jsonl", "w", encoding="utf-8") as f:
            for i in range(first, min(docs, first + per_shard)):
                joined = "\n\n".join(texts[i::docs])
                text_bytes += len(joined.encode("utf-8"))
                f.write(json.dumps({"id": f"long-{i}", "text": joined}, ensure_ascii=False) + "\n")
    return text_bytes


def measure_peak(ingest: str, corpus: Path, report_to: Path | None = None) -> tuple[compare.Measurement, int]:
    """The measurement of one `ingest run`, and how many documents it kept or linked;
    its report.json copied to `report_to` when given."""
    with tempfile.TemporaryDirectory() as work:
        out = Path(work) / "out"
        m, counts = compare.measure_counts([ingest, "run", str(corpus / "shards"), "--out", str(out), "--no-progress"],
                                           out, Path(work), report_to)
    return m, counts["documents"] + counts["duplicates"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=1, help="corpus seed (default 1)")
    parser.add_argument("--corpora", type=Path, default=None,
                        help="shared corpora folder (default: $INGEST_CORPORA, else ../shared/corpora)")
    parser.add_argument("--ingest", default=None, help="the ingest executable (default: next to this Python)")
    parser.add_argument("--docs", type=int, nargs="+", default=[20_000, 100_000],
                        help="corpus sizes, smallest first (default 20000 100000)")
    parser.add_argument("--results", type=Path, default=compare.RESULTS,
                        help="where the corpora are built (default bench/results)")
    parser.add_argument("--no-long", action="store_true", help="leave out the long documents")
    parser.add_argument("--reports", type=Path, default=None,
                        help="folder to keep each run's report.json in (its phases' seconds, the dedup counts)")
    args = parser.parse_args()
    ingest = compare.ingest_executable(args.ingest)
    revision = compare.ingest_revision()  # now: the checkout may move during a long run
    corpora = args.corpora or tc.default_corpora()
    inputs = []
    for docs in args.docs:
        corpus, manifest = compare.prepare_corpus(corpora, docs, args.seed, args.results)
        inputs.append((f"{docs:,} documents", corpus, manifest["text_bytes"]))
    if not args.no_long:
        long = args.results / f"corpus-long-{LONG_DOCS}-s{args.seed}"
        long_bytes = build_long_corpus(inputs[-1][1], LONG_DOCS, long)
        inputs.append((f"{LONG_DOCS:,} long documents, the text of the {args.docs[-1]:,}", long, long_bytes))
    rows = []
    for name, corpus, text_bytes in inputs:
        print(f"{name} ...", flush=True)
        report_to = None
        if args.reports is not None:
            args.reports.mkdir(parents=True, exist_ok=True)
            report_to = args.reports / f"report-{corpus.name}.json"
        m, indexed = measure_peak(ingest, corpus, report_to)
        rows.append((name, indexed, text_bytes / 1e6, m))
    argv = " ".join(sys.argv[1:])
    print(f"\n`python bench/memory_scaling.py {argv}` (ingest commit {revision})\n")
    print("| input | documents | text MB | peak MiB | at the peak, MiB | wall s | docs/s |")
    print("|---|---:|---:|---:|---|---:|---:|")
    for name, indexed, megabytes, m in rows:
        parts = ", ".join(f"{role} {rss / MIB:.0f}" for role, (_, rss) in sorted(m.peak_by_role.items()))
        print(f"| {name} | {indexed:,} | {megabytes:.1f} | {m.peak_rss / MIB:.0f} | {parts} | {m.wall:.1f} "
              f"| {indexed / m.wall:,.0f} |")
    (_, n_small, _, m_small), (_, n_large, _, m_large) = rows[0], rows[len(args.docs) - 1]
    if n_large > n_small:
        per_doc = (m_large.peak_rss - m_small.peak_rss) / (n_large - n_small)
        print(f"\nThe peak's growth per added document, {n_small:,} to {n_large:,}: {per_doc:,.0f} bytes.")


if __name__ == "__main__":
    main()
