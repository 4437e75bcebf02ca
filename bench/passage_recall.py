"""Reused passages, span by span: recall of inserted spans, and no link on stock phrases.

    python bench/passage_recall.py --pairs 250 --stock-pairs 300 --seed 7

Originals are drawn (seeded, each used once) from Reuters-21578 and BBC News, read in
place by bench/throughput_corpus.py's loaders and laid out as the run lays them out
(`normalise_layout`). Two kinds of pairs, all in one set of documents:

- spans: a pair (A, B) of originals sharing no word 5-gram. A span of k words (the
  library's words, k drawn in a band: 10-14, 15-24, 25-49, 50-80) is cut from A from
  the start of one of its sentences (a quote-like run of sentences, cut at a word) and
  inserted into B as a sentence at a random sentence boundary. A holds at least 2k
  words, so the span is a quote, not the story. Half the spans go in verbatim; the
  other half with one light change of what the matcher says it tolerates (words are
  case folded, punctuation dropped, typographic apostrophes unified:
  ingest/dedup/shingles.py; runs are joined across an inserted attribution:
  ingest/dedup/passages.py), in turn: put in typographic quotes with an attribution
  after it; split in two by an attribution ('"...," he said. "..."'); commas, colons
  and semicolons before a space dropped (one inside a figure would join two words)
  and straight apostrophes made typographic; the case of about one word in five
  flipped.
- stock: a pair (C, D) of originals sharing no word 5-gram, each given the same 4
  stock phrases (each under 10 words), each at its own random sentence boundary, as a
  sentence of its own or as the tail of the sentence before: wire phrases ("the
  company said in a statement", "told reporters on Monday"), sign-offs, short
  boilerplate, and the corpus's own 8-word n-grams found in the most documents.

Every document goes through the library as a run decides: `Deduplicator` (one kept
document per cluster), then `find_passages` (the anchors, candidate pairs and
matching that the run's passage phase calls) with config/default.toml's [dedup]
options.

A span is found when B's reported passages that link to A (or to the document A's
duplicate cluster keeps: the corpus holds re-sent copies) cover at least 90 % of the
span's characters in B, counted from its first word's first character to its last
word's last character (the library's word spans; quotes and the full stop around it
are not words, so no passage can cover them), for a span split by an attribution in
each of its two parts (the attribution is not the span's). A reported passage (counted once for its two
sides) is on a span when it links B and A of one span pair and overlaps the inserted
span in B; every other one is a false link, by where it is: between a span pair
outside its span, between a stock pair, or between documents of different pairs,
holding one of the stock phrases or only other text the corpus itself shares
(Reuters re-sends, wire formulas). A span pair whose B is itself a copy of another
document of the set is left out of recall: a duplicate's passages are its kept
document's, which holds no span. Each stock link is counted by how many of the stock
phrases its passage holds."""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from edit_classes import CREDITS, deduplicate  # noqa: E402
from throughput_corpus import default_corpora, load_originals, split_sentences  # noqa: E402

from ingest.clean.layout import normalise_layout  # noqa: E402
from ingest.config import Config, PassageConfig, load_config  # noqa: E402
from ingest.dedup.passages import find_passages, grams  # noqa: E402
from ingest.dedup.shingles import hashes_and_spans, ngram_hashes  # noqa: E402
from ingest.run.pipeline import run  # noqa: E402

BANDS = {"10-14": (10, 14), "15-24": (15, 24), "25-49": (25, 49), "50+": (50, 80)}
COVERED = 0.9
STOCK_PER_PAIR = 4
FREQUENT_NGRAMS = 20
WIRE_PHRASES = [
    "the company said in a statement", "said in a statement on Tuesday", "the company said",
    "a spokesman told reporters on Monday", "told reporters on Thursday", "officials said",
    "Reuters could not immediately reach the company for comment", "a company spokesman said",
    "sources close to the talks said", "analysts said", "the spokeswoman declined to comment",
]
# Every Reuters body ends in the "Reuter" sign-off already.
BOILERPLATE = ["Editor's note: this story was updated.", "Click here for the latest news.",
               "All rights reserved.", "Follow us on Twitter for more."]
CHANGES = ["quoted", "attributed", "punctuation", "case"]
_WORDS = re.compile(r"\w+")


@dataclass
class SpanPair:
    band: str
    change: str
    a: str
    b: str
    parts: list[tuple[int, int]]  # characters of the span in B, first word to last word of each part

    @property
    def start(self) -> int:
        return self.parts[0][0]

    @property
    def end(self) -> int:
        return self.parts[-1][1]


def sentence_starts(text: str) -> list[int]:
    """Character offsets where a sentence of a normalised text starts."""
    starts, at = [], 0
    for paragraph in text.split("\n\n"):
        for sentence in split_sentences(paragraph):
            starts.append(text.index(sentence, at))
            at = starts[-1] + len(sentence)
        at += 2
    return starts


def insert_sentence(text: str, sentence: str, at: int, as_tail: bool = False) -> str:
    """`sentence` put at the sentence boundary `at` of a normalised text, as a sentence of
    its own, or (`as_tail`) as ", <sentence>." replacing the full stop before it."""
    before, after = text[:at].rstrip(" "), text[at:]
    if as_tail and before.endswith("."):
        return f"{before[:-1]}, {sentence[0].lower()}{sentence[1:]}" + (" " if after else "") + after
    joiner_before = "" if not before or before.endswith("\n") else " "
    joiner_after = "" if not after else " "
    return f"{before}{joiner_before}{sentence}{joiner_after}{after}"


def boundaries(text: str, count: int, rng: random.Random) -> list[int]:
    """`count` distinct sentence boundaries of a normalised text (its end too), last first."""
    return sorted(rng.sample(sentence_starts(text) + [len(text)], count), reverse=True)


def change(span: str, how: str, rng: random.Random) -> list[tuple[str, bool]]:
    """The span as inserted, changed `how`: pieces of text, each marked whether it is the span's."""
    stop = "" if span[-1] in ".!?" else "."
    said = rng.choice(["he said", "she told reporters", "an official said on Tuesday"])
    if how == "quoted":
        return [("\u201c", False), (span, True), (f",\u201d {said}.", False)]
    if how == "attributed":  # an attribution inside the quote, which the matcher joins across
        words = span.split(" ")
        cut = len(words) // 2
        return [("\u201c", False), (" ".join(words[:cut]), True), (f",\u201d {said}. \u201c", False),
                (" ".join(words[cut:]), True), (f"{stop}\u201d", False)]
    if how == "punctuation":
        return [(re.sub(r"[,;:](?= )", "", span).replace("'", "\u2019"), True), (stop, False)]
    if how == "case":
        return [(" ".join(w.swapcase() if rng.random() < 0.2 else w for w in span.split(" ")), True), (stop, False)]
    return [(span, True), (stop, False)]


def cut_span(text: str, k: int, rng: random.Random) -> str | None:
    """k words of `text` from the start of a random sentence, cut at a word's end."""
    spans = hashes_and_spans(text)[1]
    opening = set(sentence_starts(text))
    starts = [w for w, s in enumerate(spans[:, 0].tolist()) if s in opening and w + k <= len(spans)]
    if not starts:
        return None
    first = rng.choice(starts)
    return " ".join(text[spans[first, 0]:spans[first + k - 1, 1]].split())


def frequent_ngrams(texts: list[str], n: int, top: int) -> list[str]:
    """The word n-grams found in the most documents, as first written in the corpus."""
    words = [hashes_and_spans(text) for text in texts]
    per_doc = [np.unique(ngram_hashes(tokens, n)) for tokens, _ in words if len(tokens) >= n]
    hashes, counts = np.unique(np.concatenate(per_doc), return_counts=True)
    chosen = hashes[np.argsort(-counts, kind="stable")[:top]]
    found: dict[int, str] = {}
    for text, (tokens, spans) in zip(texts, words):
        if len(tokens) < n:
            continue
        ngrams = ngram_hashes(tokens, n)
        for at in np.flatnonzero(np.isin(ngrams, chosen)).tolist():
            found.setdefault(int(ngrams[at]), " ".join(text[spans[at, 0]:spans[at + n - 1, 1]].split()))
        if len(found) == len(chosen):
            break
    return sorted(found.values())


def unrelated(x: str, y: str, config: PassageConfig) -> bool:
    """No word n-gram of the passage matcher in common."""
    gx, gy = (grams(hashes_and_spans(t)[0], config) for t in (x, y))
    return len(np.intersect1d(gx, gy)) == 0


def build(seed: int, pairs: int,
          stock_pairs: int) -> tuple[dict[str, str], list[SpanPair], list[tuple[str, str]], list[str]]:
    """Texts by id, the span pairs, the stock pairs (C, D) and the stock phrases."""
    rng = random.Random(seed)
    config = load_config().dedup.passages
    originals = [(o.id, normalise_layout(o.text)) for o in load_originals(default_corpora())]
    originals = [(i, t) for i, t in originals if len(t.split()) >= 40 and len(sentence_starts(t)) >= 2]
    rng.shuffle(originals)
    pool = iter(originals)
    stock = WIRE_PHRASES + CREDITS + BOILERPLATE + frequent_ngrams([t for _, t in originals], 8, FREQUENT_NGRAMS)
    texts: dict[str, str] = {}
    span_pairs: list[SpanPair] = []
    for band, (lo, hi) in BANDS.items():
        made = 0
        while made < pairs:
            k = rng.randint(lo, hi)
            (a, text_a), (b, text_b) = next(pool), next(pool)
            if len(hashes_and_spans(text_a)[0]) < 2 * k or not unrelated(text_a, text_b, config):
                continue
            span = cut_span(text_a, k, rng)
            if span is None:
                continue
            how = "verbatim" if made % 2 == 0 else CHANGES[(made // 2) % len(CHANGES)]
            pieces = change(span, how, rng)
            inserted = "".join(piece for piece, _ in pieces)
            new_b = insert_sentence(text_b, inserted, boundaries(text_b, 1, rng)[0])
            at, parts = new_b.index(inserted), []
            for piece, of_span in pieces:
                if of_span:
                    words = hashes_and_spans(piece)[1]
                    parts.append((at + int(words[0, 0]), at + int(words[-1, 1])))
                at += len(piece)
            texts[a], texts[f"{b}+span"] = text_a, new_b
            span_pairs.append(SpanPair(band, how, a, f"{b}+span", parts))
            made += 1
    stock_pair_ids = []
    while len(stock_pair_ids) < stock_pairs:
        (c, text_c), (d, text_d) = next(pool), next(pool)
        if not unrelated(text_c, text_d, config):
            continue
        if min(len(sentence_starts(t)) for t in (text_c, text_d)) < STOCK_PER_PAIR:
            continue
        phrases = [p[0].upper() + p[1:].rstrip(".") + "." for p in rng.sample(stock, STOCK_PER_PAIR)]
        tails = [rng.random() < 0.5 for _ in phrases]
        # Each phrase at its own boundary, the same phrase order in both.
        for at, phrase, tail in zip(boundaries(text_c, STOCK_PER_PAIR, rng), reversed(phrases), reversed(tails)):
            text_c = insert_sentence(text_c, phrase, at, tail)
        for at, phrase, tail in zip(boundaries(text_d, STOCK_PER_PAIR, rng), reversed(phrases), reversed(tails)):
            text_d = insert_sentence(text_d, phrase, at, tail)
        texts[f"{c}+stock"], texts[f"{d}+stock"] = text_c, text_d
        stock_pair_ids.append((f"{c}+stock", f"{d}+stock"))
    return texts, span_pairs, stock_pair_ids, stock


def word_string(text: str) -> str:
    """Lowercased words between spaces, to find a phrase's words in a text's."""
    return f" {' '.join(_WORDS.findall(text.lower()))} "


def measure(texts: dict[str, str], span_pairs: list[SpanPair], stock_pairs: list[tuple[str, str]],
            stock: list[str], options: Config) -> dict:
    config = options.dedup
    sketches, result, _ = deduplicate(texts, config)
    passages = find_passages(sketches, result.cluster_of, config.passages)
    kept = {doc_id: result.cluster_of.get(doc_id, doc_id) for doc_id in texts}
    chars = {doc_id: hashes_and_spans(texts[doc_id])[1] for doc_id in texts}

    def char_range(doc_id: str, start: int, end: int) -> tuple[int, int]:
        return int(chars[doc_id][start, 0]), int(chars[doc_id][end - 1, 1])

    found, total, left_out, misses = Counter(), Counter(), [], []
    on_span = set()
    for pair in span_pairs:
        if kept[pair.b] != pair.b:
            left_out.append((pair.b, kept[pair.b]))
            continue
        total[pair.band, pair.change] += 1
        covered = np.zeros(pair.end - pair.start, dtype=bool)
        for p in passages.get(pair.b, []):
            if p.other_id != kept[pair.a]:
                continue
            s, e = char_range(pair.b, p.start, p.end)
            if s < pair.end and e > pair.start:
                on_span.add((pair.b, p.start, p.end, p.other_id, p.other_start, p.other_end))
                covered[max(s, pair.start) - pair.start:min(e, pair.end) - pair.start] = True
        of_span = np.zeros(pair.end - pair.start, dtype=bool)
        for s, e in pair.parts:
            of_span[s - pair.start:e - pair.start] = True
        share = covered[of_span].mean()
        if share >= COVERED:
            found[pair.band, pair.change] += 1
        else:
            misses.append((pair, float(share)))
    phrases = [word_string(phrase) for phrase in stock]
    span_of = {(kept[p.a], p.b) for p in span_pairs} | {(p.b, kept[p.a]) for p in span_pairs}
    stock_of = {(kept[c], kept[d]) for c, d in stock_pairs} | {(kept[d], kept[c]) for c, d in stock_pairs}
    reported, false, examples = 0, Counter(), defaultdict(list)
    for doc_id, matches in passages.items():
        for p in matches:
            if doc_id > p.other_id:
                continue  # each passage once, from its first side
            reported += 1
            key = (doc_id, p.start, p.end, p.other_id, p.other_start, p.other_end)
            mirrored = (p.other_id, p.other_start, p.other_end, doc_id, p.start, p.end)
            if key in on_span or mirrored in on_span:
                continue
            if (doc_id, p.other_id) in span_of:
                where = "span pair, outside its span"
            elif (doc_id, p.other_id) in stock_of:
                where = "stock pair"
            elif any(phrase in word_string(texts[doc_id][slice(*char_range(doc_id, p.start, p.end))])
                     for phrase in phrases):
                where = "different pairs, holding a stock phrase"
            else:
                where = "different pairs, other shared text"
            false[where] += 1
            if len(examples[where]) < 3:
                examples[where].append((doc_id, p))
    stock_links = [(kept[c], kept[d], p) for c, d in stock_pairs for p in passages.get(kept[c], [])
                   if p.other_id == kept[d]]
    return {"found": found, "total": total, "left_out": left_out, "misses": misses, "reported": reported,
            "false": false, "examples": examples, "stock_links": stock_links, "passages": passages, "chars": chars,
            "kept": kept}


def report(texts, span_pairs, stock_pairs, stock, m, show_misses: int) -> None:
    def passage_text(doc_id: str, start: int, end: int) -> str:
        return texts[doc_id][int(m["chars"][doc_id][start, 0]):int(m["chars"][doc_id][end - 1, 1])]

    print(f"documents {len(texts)}, span pairs {len(span_pairs)}, stock pairs {len(stock_pairs)}, "
          f"stock phrases {len(stock)}")
    print(f"\n| span words | {' | '.join(['verbatim', *CHANGES])} | all | recall |\n|---|---|---|---|---|---|---|---|")
    for band in BANDS:
        cells = [f"{m['found'][band, how]}/{m['total'][band, how]}" for how in ["verbatim", *CHANGES]]
        found = sum(m["found"][band, how] for how in ["verbatim", *CHANGES])
        total = sum(m["total"][band, how] for how in ["verbatim", *CHANGES])
        print(f"| {band} | {' | '.join(cells)} | {found}/{total} | {found / total:.3f} |")
    false = sum(m["false"].values())
    print(f"\nspan pairs left out, B a copy of another document of the set: {m['left_out']}")
    linked = {(c, d) for c, d, _ in m["stock_links"]}
    phrases = [word_string(phrase) for phrase in stock]
    held = Counter(sum(phrase in word_string(passage_text(c, p.start, p.end)) for phrase in phrases)
                   for c, _, p in m["stock_links"])
    signed = sum(" reuter " in word_string(passage_text(c, p.start, p.end)) for c, _, p in m["stock_links"])
    print(f"stock pairs linked: {len(linked)}/{len(stock_pairs)}; their passages by stock phrases held: "
          f"{dict(held)}; holding the Reuter sign-off: {signed}/{len(m['stock_links'])}")
    print(f"reported passages: {m['reported']}, on no inserted span: {false} "
          f"({false / max(1, m['reported']):.4f}): {dict(m['false'])}")
    print("\nstock phrases:", "; ".join(stock))
    for where, found in m["examples"].items():
        for doc_id, p in found:
            shown = " | ".join(passage_text(doc_id, p.start, p.end).split("\n\n"))
            print(f"\n{where}: {doc_id} ~ {p.other_id}: {shown}")
    for c, d, p in m["stock_links"][:show_misses]:
        print(f"\nstock pair linked {c} ~ {d}:")
        print("  ", " | ".join(passage_text(c, p.start, p.end).split("\n\n")))
        print("  ", " | ".join(passage_text(d, p.other_start, p.other_end).split("\n\n")))
    for pair, share in m["misses"][:show_misses]:
        text = texts[pair.b]
        print(f"\nmissed {pair.band} {pair.change} {pair.b} <- {pair.a}: covered {share:.2f}")
        print("  span:", text[pair.start:pair.end])
        for p in m["passages"].get(pair.b, []):
            if p.other_id == m["kept"][pair.a]:
                s, e = int(m["chars"][pair.b][p.start, 0]), int(m["chars"][pair.b][p.end - 1, 1])
                print(f"  passage [{s}, {e}) of span [{pair.start}, {pair.end}): {text[s:e]}")


def through_run(texts: dict[str, str], span_pairs: list[SpanPair], stock_pairs: list[tuple[str, str]],
                config: Config) -> None:
    """The same texts as one JSONL file through a whole library run (reading, the clean
    stage's rules and learned boilerplate, dedup, passages): which pairs are linked by
    a passage. Spans are not located in the cleaned texts; a span pair counts when B
    links to A, of the pairs whose A and B are both kept documents."""
    ids = list(texts)
    with tempfile.TemporaryDirectory() as tmp:
        inputs, out = Path(tmp) / "texts.jsonl", Path(tmp) / "out"
        inputs.write_text("".join(json.dumps({"text": texts[i]}) + "\n" for i in ids), encoding="utf-8")
        run([str(inputs)], out, config)
        with open(out / "documents.jsonl", encoding="utf-8") as lines:
            docs = [json.loads(line) for line in lines]
    of = {d["id"]: ids[int(d["source"].rsplit("#", 1)[1]) - 1] for d in docs}
    links = {(of[d["id"]], of[o["id"]]) for d in docs for p in d["passages"] for o in p["duplicates"]}
    kept = set(of.values())
    spans = [(p.a, p.b) for p in span_pairs if p.a in kept and p.b in kept]
    stock = [(c, d) for c, d in stock_pairs if c in kept and d in kept]
    print(f"\nthrough a whole run: {len(docs)} documents kept; span pairs linked "
          f"{sum((b, a) in links for a, b in spans)}/{len(spans)}; stock pairs linked "
          f"{sum((c, d) in links for c, d in stock)}/{len(stock)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=250, help="span pairs per band")
    parser.add_argument("--stock-pairs", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--show-misses", type=int, default=10, help="missed spans to print")
    parser.add_argument("--config", help="a TOML file merged over config/default.toml for the library's decisions "
                                         "(the set is built with the defaults)")
    parser.add_argument("--through-run", action="store_true",
                        help="also run the texts through a whole run (the clean stage too) and count linked pairs")
    args = parser.parse_args()
    config = load_config(args.config)
    texts, span_pairs, stock_pairs, stock = build(args.seed, args.pairs, args.stock_pairs)
    report(texts, span_pairs, stock_pairs, stock, measure(texts, span_pairs, stock_pairs, stock, config),
           args.show_misses)
    if args.through_run:
        through_run(texts, span_pairs, stock_pairs, config)


if __name__ == "__main__":
    main()
