"""Near-duplicates as an editor sees them: recall by kind of edit, hard negatives, candidates.

    python bench/edit_classes.py --originals 1500 --seed 7            # decisions
    python bench/edit_classes.py --originals 1500 --seed 7 --schemes  # candidate recall

Originals are drawn (seeded) from Reuters-21578 and BBC News, read in place by
bench/throughput_corpus.py's loaders (at least 40 words and 2 sentences, so that a
trimmed copy is a cut). Each gets one copy of each class:

- `edits 0-5%`, `edits 5-10%`, `edits 10-15%`: that share of the words replaced,
  inserted or deleted (throughput_corpus.word_edits, the share drawn in the band);
- `trimmed 30%` ... `trimmed 90%`: the first share of the sentences (a paper's cut);
- `extended`: a paragraph of another story's sentences and an editor's note appended;
- `lines added/dropped`: the last paragraph dropped, or a credit line appended;
- `reordered`: sentences shuffled in each paragraph, two paragraphs swapped;
- `headline changed`: another story's headline put over it.

Hard negatives, which must never be merged with their counterpart:

- `notice, other figures`: a Reuters text of at least 3 figures with every figure
  replaced by another of as many digits (another company's, or another quarter's,
  earnings or dividend notice in the same words);
- `real notices of one template`: pairs of distinct Reuters bodies whose words agree
  once every figure is masked (aligned similarity >= 0.8), of as many words (within
  10 %) and figures, most of their figures different (not a re-sent correction):
  earnings, dividend, money-market and commodity reports of the corpus itself;
- `sport result, other teams`: a BBC sport story with its scores changed and its names
  (capitalised words inside sentences) replaced by another sport story's names;
- `follow-up`: a story of new sentences (two from each of four other stories of the
  same topic) that quotes two sentences (12 words or more) of the first one: must stay apart and come
  out as a passage link.

Everything goes through the library's `Deduplicator` in one process (originals,
copies and negatives together), then `find_passages` for the follow-ups. A copy is
found when it ends in its origin's cluster; a negative is merged when it ends in its
counterpart's.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from throughput_corpus import (  # noqa: E402
    Donors,
    drop_last_paragraph,
    join_paragraphs,
    load_originals,
    new_headline,
    reorder_sentences,
    split_paragraphs,
    split_sentences,
    truncate,
    word_edits,
    default_corpora,
)

from ingest.clean.layout import normalise_layout  # noqa: E402
from ingest.config import DedupConfig, load_config  # noqa: E402
from ingest.dedup.clusters import Deduplicator  # noqa: E402
from ingest.dedup.lsh import lsh_pairs  # noqa: E402
from ingest.dedup.minhash import MinHasher, sketch  # noqa: E402
from ingest.dedup.passages import find_passages  # noqa: E402
from ingest.dedup.shingles import hashes_and_spans, shingle_set  # noqa: E402
from ingest.dedup.verify import compare  # noqa: E402

_FIGURE = re.compile(r"\d+")
_NAME = re.compile(r"(?<=[a-z,;] )[A-Z][a-z]+")
EDIT_BANDS = {"edits 0-5%": (0.01, 0.05), "edits 5-10%": (0.05, 0.10), "edits 10-15%": (0.10, 0.15)}
TRIMS = {"trimmed 30%": 0.3, "trimmed 50%": 0.5, "trimmed 70%": 0.7, "trimmed 90%": 0.9}
CREDITS = ["(Reporting by Anna Lee; Editing by Mark Potter)", "Copyright 1987 Reuters.",
           "Additional reporting by the newsroom."]


def extended(text: str, rng: random.Random, donors: Donors) -> str:
    added = " ".join(donors.words(rng, 25))
    return join_paragraphs([*split_paragraphs(text), added, "Editor's note: this story was updated."], text)


def lines_changed(text: str, rng: random.Random, donors: Donors) -> str:
    if rng.random() < 0.5 and len(split_paragraphs(text)) > 1:
        return drop_last_paragraph(text, rng, donors)
    return text.rstrip("\n") + "\n" + rng.choice(CREDITS) + "\n"


def other_figures(text: str, rng: random.Random) -> str:
    def replace(m: re.Match) -> str:
        while True:
            new = str(rng.randrange(10 ** (len(m.group()) - 1) if len(m.group()) > 1 else 0, 10 ** len(m.group())))
            if new != m.group():
                return new
    return _FIGURE.sub(replace, text)


def other_names(text: str, names: list[str], rng: random.Random) -> str:
    return other_figures(_NAME.sub(lambda m: rng.choice(names), text), rng)


def follow_up(first: str, others: list[str], rng: random.Random) -> str | None:
    """New sentences, two from each of `others`, with two sentences of `first` quoted among them."""
    quotes = [s for p in split_paragraphs(first) for s in split_sentences(p) if len(s.split()) >= 12]
    fresh = [s for other in others
             for s in rng.sample([s for p in split_paragraphs(other) for s in split_sentences(p)
                                  if len(s.split()) >= 6] or [""], 2) if s] if all(others) else []
    if len(quotes) < 2 or len(fresh) < 6:
        return None
    quoted = rng.sample(quotes, 2)
    fresh.insert(2, quoted[0])
    fresh.insert(5, quoted[1])
    return "\n\n".join(fresh) + "\n"


def words(text: str) -> int:
    return len(text.split())


def build(seed: int, count: int) -> tuple[dict[str, str], list[tuple[str, str, str]], list[tuple[str, str, str]]]:
    """texts by id; copies (class, copy id, origin id); negatives (kind, id, counterpart id)."""
    rng = random.Random(seed)
    originals = load_originals(default_corpora())
    donors = Donors(originals)
    usable = [o for o in originals if words(o.text) >= 40 and len(split_sentences(" ".join(o.text.split()))) >= 2]
    chosen = rng.sample(usable, count)
    texts = {o.id: o.text for o in chosen}
    copies, negatives = [], []
    for o in chosen:
        classes = {name: word_edits(rng.uniform(lo, hi)) for name, (lo, hi) in EDIT_BANDS.items()}
        classes |= {name: truncate(share) for name, share in TRIMS.items()}
        classes |= {"extended": extended, "lines added/dropped": lines_changed, "reordered": reorder_sentences,
                    "headline changed": new_headline}
        for name, edit in classes.items():
            copy_id = f"{o.id}~{name}"
            texts[copy_id] = edit(o.text, rng, donors)
            copies.append((name, copy_id, o.id))
    # Hard negatives.
    reuters = [o for o in originals if o.id.startswith("reuters") and len(_FIGURE.findall(o.text)) >= 3]
    for o in rng.sample(reuters, min(count // 3, len(reuters))):
        texts.setdefault(o.id, o.text)
        negatives.append(("notice, other figures", f"{o.id}~figures", o.id))
        texts[f"{o.id}~figures"] = other_figures(o.text, rng)
    for a, b in template_pairs(reuters, rng, count // 3):
        texts.setdefault(a.id, a.text)
        texts.setdefault(b.id, b.text)
        negatives.append(("real notices of one template", a.id, b.id))
    sport = [o for o in originals if o.id.startswith("bbc-sport")]
    for o in rng.sample(sport, min(count // 5, len(sport))):
        names = _NAME.findall(rng.choice(sport).text) or ["Smith"]
        texts.setdefault(o.id, o.text)
        texts[f"{o.id}~teams"] = other_names(o.text, names, rng)
        negatives.append(("sport result, other teams", f"{o.id}~teams", o.id))
    bbc = defaultdict(list)
    for o in originals:
        if o.id.startswith("bbc"):
            bbc[o.id.split("-")[1]].append(o)
    for topic, docs in sorted(bbc.items()):
        for o in rng.sample(docs, min(count // 20, len(docs))):
            others = [d.text for d in rng.sample(docs, 4) if d.id != o.id]
            made = follow_up(o.text, others, rng) if len(others) == 4 else None
            if made is None:
                continue
            texts.setdefault(o.id, o.text)
            texts[f"{o.id}~follow-up"] = made
            negatives.append(("follow-up", f"{o.id}~follow-up", o.id))
    return {k: normalise_layout(v) for k, v in texts.items()}, copies, negatives


def template_pairs(reuters, rng: random.Random, wanted: int):
    """Distinct Reuters bodies that read alike with their figures masked, figures differing."""
    masked = defaultdict(list)
    for o in reuters:
        masked[" ".join(_FIGURE.sub("0", o.text).split()[:6])].append(o)
    pairs = []
    config = DedupConfig()
    for group in masked.values():
        if len(group) < 2:
            continue
        a, b = rng.sample(group, 2)
        figures_a, figures_b = _FIGURE.findall(a.text), _FIGURE.findall(b.text)
        # Another notice, not a re-sent or extended one: as many figures, most of them other.
        if (len(figures_a) != len(figures_b) or 2 * sum(x != y for x, y in zip(figures_a, figures_b)) < len(figures_a)
                or abs(words(a.text) - words(b.text)) > 0.1 * words(a.text)):
            continue
        ta, sa = hashes_and_spans(_FIGURE.sub("0", a.text))
        tb, sb = hashes_and_spans(_FIGURE.sub("0", b.text))
        zero_a, zero_b = np.zeros(len(ta), np.uint8), np.zeros(len(tb), np.uint8)
        if compare(ta, zero_a, tb, zero_b, config).similarity >= 0.8:
            pairs.append((a, b))
    rng.shuffle(pairs)
    return pairs[:wanted]


def candidate_recall(texts: dict[str, str], copies, negatives) -> list[dict]:
    """Candidate recall per class of each candidate scheme, and candidates per document."""
    ids = sorted(texts)
    index = {doc_id: i for i, doc_id in enumerate(ids)}
    tokens = {doc_id: hashes_and_spans(texts[doc_id])[0] for doc_id in ids}
    hasher = MinHasher(128, 1)
    rows = []
    for label, n, bands, r in [("5-word shingles, 32 x 4 (before)", 5, 32, 4), ("5-word shingles, 42 x 3", 5, 42, 3),
                               ("5-word shingles, 64 x 2", 5, 64, 2), ("3-word shingles, 32 x 4", 3, 32, 4),
                               ("3-word shingles, 64 x 2", 3, 64, 2), ("word sets, 32 x 4", 1, 32, 4)]:
        signatures = np.stack([hasher.signature(shingle_set(tokens[d], n)) for d in ids])
        started = time.perf_counter()
        pairs = set(map(tuple, lsh_pairs(signatures, bands, r).tolist()))
        seconds = time.perf_counter() - started
        found = Counter()
        total = Counter()
        for name, copy_id, origin in copies:
            total[name] += 1
            found[name] += (min(index[copy_id], index[origin]), max(index[copy_id], index[origin])) in pairs
        negative = Counter(kind for kind, a, b in negatives if (min(index[a], index[b]), max(index[a], index[b])) in pairs)
        rows.append({"scheme": label, "candidates_per_document": round(len(pairs) / len(ids), 2),
                     "banding_seconds": round(seconds, 2),
                     "recall": {k: round(found[k] / total[k], 3) for k in total},
                     "negatives_proposed": dict(negative)})
    return rows


def deduplicate(texts: dict[str, str], config: DedupConfig):
    """Every text through the library's `Deduplicator` in one process, as a run decides:
    the sketches by id, the result, and the seconds `run` took."""
    hasher = MinHasher(config.num_perm, config.seed)
    dedup = Deduplicator(config)
    sketches = {}
    for doc_id in sorted(texts):
        sketches[doc_id] = s = sketch(doc_id, texts[doc_id], None, "2026-01-01", "bench", config, hasher)
        dedup.add(s)
    started = time.perf_counter()
    result = dedup.run()
    return sketches, result, time.perf_counter() - started


def decisions(texts: dict[str, str], copies, negatives, config: DedupConfig) -> dict:
    sketches, result, seconds = deduplicate(texts, config)
    cluster = {doc_id: d.cluster_id or doc_id for doc_id, d in result.decisions.items()}
    found, total, kinds = Counter(), Counter(), defaultdict(Counter)
    for name, copy_id, origin in copies:
        total[name] += 1
        found[name] += cluster[copy_id] == cluster[origin]
        kinds[name][result.decisions[copy_id].kind or result.decisions[origin].kind or "apart"] += 1
    merged, negative_total = Counter(), Counter()
    for kind, a, b in negatives:
        negative_total[kind] += 1
        merged[kind] += cluster[a] == cluster[b]
    # Precision: every reported pair must join a copy to its origin (or two copies of one).
    family = {copy_id: origin for _, copy_id, origin in copies}
    reported = [(doc_id, d.duplicate_of) for doc_id, d in result.decisions.items() if d.duplicate_of]
    wrong = [(a, b) for a, b in reported if family.get(a, a) != family.get(b, b)]
    passages = find_passages(sketches, result.cluster_of, config.passages)
    follow_ups = [(a, b) for kind, a, b in negatives if kind == "follow-up"]
    linked = sum(any(p.other_id == cluster[b] for p in passages.get(cluster[a], [])) for a, b in follow_ups)
    return {
        "documents": len(texts), "dedup_seconds": round(seconds, 2), "stats": result.stats,
        "recall": {k: f"{found[k]}/{total[k]} = {found[k] / total[k]:.3f}" for k in total},
        "kinds": {k: dict(v) for k, v in kinds.items()},
        "negatives_merged": {k: f"{merged[k]}/{negative_total[k]}" for k in negative_total},
        "follow_ups_as_passages": f"{linked}/{len(follow_ups)}",
        "reported_pairs": len(reported),
        "pairs_outside_a_family": len(wrong),
        "precision": round(1 - len(wrong) / len(reported), 5) if reported else None,
        "wrong_examples": wrong[:10],
        "wrong_origin_pairs": sorted({tuple(sorted((family.get(a, a).split("~")[0], family.get(b, b).split("~")[0]))) for a, b in wrong}),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--originals", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--schemes", action="store_true", help="candidate recall of each LSH scheme")
    parser.add_argument("--config", default="{}", help="[dedup] options as JSON, over config/default.toml's")
    args = parser.parse_args()
    texts, copies, negatives = build(args.seed, args.originals)
    print(json.dumps({"documents": len(texts), "copies": len(copies), "negatives": Counter(k for k, _, _ in negatives)}))
    if args.schemes:
        for row in candidate_recall(texts, copies, negatives):
            print(json.dumps(row))
    else:
        print(json.dumps(decisions(texts, copies, negatives, DedupConfig.model_validate(load_config().dedup.model_dump() | json.loads(args.config))), indent=1))


if __name__ == "__main__":
    main()
