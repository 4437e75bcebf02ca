"""Build the deterministic corpus for the throughput and duplicate-quality benchmark.

    python bench/throughput_corpus.py --docs 20000 --seed 1 --out bench/results/corpus-20000-s1

Base documents ("originals") are read in place from the shared corpora (`--corpora`,
else $INGEST_CORPORA, else ../shared/corpora next to the repository):

- Reuters-21578 (`reuters21578/reut2-*.sgm`, read as Latin-1): the `<BODY>` of each
  `<REUTERS>` record, with SGML entities decoded (`&lt;` -> `<`, `&#3;` -> U+0003, the
  control code that ends each body, kept as SGML defines it). 19,043 bodies.
- BBC News (`bbc-news/<topic>/NNN.txt`): the whole file, title line, blank line,
  paragraphs; UTF-8, with Latin-1 as the fallback for the one file that is not UTF-8.
  2,225 files.

Derived documents, each recording the corpus id of its `origin`:

- `exact`: the origin verbatim, or re-wrapped (every line break and indent turned into
  single spaces between paragraphs kept as blank lines): the same words.
- `near`: light to heavy edits (new headline, dropped last paragraph, a share of words
  replaced / inserted / deleted, sentences reordered, truncation, and combinations).
- `nondup` (`origin` null, sources named in `edit`): a collage of 6-12 sentences of at
  least 6 words (two per paragraph) from at least 3 originals, drawn without replacement
  from a shuffled pool of all their sentences.  Every collage is measured against each
  of its sources and re-drawn until all are below NONDUP_MAX_JACCARD (0.2), so it is not
  a near-duplicate of any of them; the largest value is in the manifest.

Up to 80 % of the documents are originals (a seeded sample of all 21,268); the rest
are 10 % exact copies, 60 % near copies (origins drawn uniformly from the sampled
originals, so one origin may get several copies) and 30 % collages.  At 20,000
documents that is 16,000 originals; at 100,000 all 21,268 originals and 78,732 derived
documents.

True Jaccard (`true_jaccard`, also used by bench/compare.py to judge reported pairs):
the text is lowercased with `str.lower()`, tokens are the matches of the Unicode
regex `\\w+` (so "don't" is "don", "t"; digits are tokens), shingles are the set of
runs of 5 consecutive tokens (a text of 1-4 tokens has its whole token sequence as its
one shingle, a text without tokens has none), and the Jaccard of two texts is
|A & B| / |A | B| of their shingle sets (1.0 when both are empty).  Stored rounded to
6 decimals; null for originals and collages.

Output, in the folder `--out`: `shards/shard-00000.jsonl` ... (1,000 documents per file,
in a seeded random order; the folder to give to the tools),
each line `{"text", "id", "origin", "kind", "edit", "true_jaccard"}`, written with
sorted keys and `ensure_ascii=False`; and `manifest.json` with counts, sizes, the
true-Jaccard histogram of near copies and the collage check.  Same --docs and --seed
give byte-identical shards.

The build streams: each document goes to a spill file in `--out` as it is made, and the
shards are then written in the shuffled order, so memory is the originals and their
shingle sets (made once; 0.73 GB of RSS in all at a million) plus 8 bytes a document,
whatever the size (a million documents: about 1.2 GB of spill on disk for the time of
the build).
"""

from __future__ import annotations

import argparse
import functools
import glob
import hashlib
import json
import mmap
import os
import random
import re
import tempfile
from array import array
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARD_DOCS = 1000
NONDUP_MAX_JACCARD = 0.2
SHINGLE = 5
ORIGINAL_SHARE = 0.8
DERIVED_SHARES = {"exact": 0.1, "near": 0.6, "nondup": 0.3}
BANDS = [(0.0, 0.5), (0.5, 0.6), (0.6, 0.7), (0.7, 0.8), (0.8, 0.9), (0.9, 1.0)]

_TOKEN = re.compile(r"\w+")
_RECORD = re.compile(r"<REUTERS\b[^>]*\bNEWID=\"(\d+)\"[^>]*>(.*?)</REUTERS>", re.S)
_BODY = re.compile(r"<BODY>(.*?)</BODY>", re.S)
_TITLE = re.compile(r"<TITLE>(.*?)</TITLE>", re.S)
_ENTITY = re.compile(r"&(#\d+|lt|gt|amp|quot|apos);")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"', "apos": "'"}
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'A-Z0-9])")
_WORD = re.compile(r"\S+")
_BLANK_LINE = re.compile(r"\n[ \t]*\n")
_PARAGRAPH = re.compile(r"\n[ \t]*\n\s*|\n(?=[ \t]{3,}\S)")


# ------------------------------------------------------------------ ground truth


def shingles(text: str, n: int = SHINGLE) -> frozenset[str]:
    """Word n-gram shingles of lowercased `\\w+` tokens (see the module docstring)."""
    tokens = _TOKEN.findall(text.lower())
    if 0 < len(tokens) < n:
        return frozenset([" ".join(tokens)])
    return frozenset(" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a and not b:
        return 1.0
    inter = len(a & b)
    return inter / (len(a) + len(b) - inter)


def shingle_keys(text: str, n: int = SHINGLE) -> frozenset[tuple[str, ...]]:
    """`shingles` as tuples of their tokens: one key per shingle both ways (tokens hold no
    space), so Jaccard values are the same, made in C instead of one join per shingle
    (which was two thirds of building a corpus)."""
    tokens = _TOKEN.findall(text.lower())
    if 0 < len(tokens) < n:
        return frozenset([tuple(tokens)])
    return frozenset(zip(*(tokens[i:] for i in range(n))))


def text_jaccard(x: str, y: str) -> float:
    return round(jaccard(shingle_keys(x), shingle_keys(y)), 6)


@functools.cache
def original_keys(text: str) -> frozenset[tuple[str, ...]]:
    """`shingle_keys` of an original, made once: every derived document is measured
    against its originals (about 0.6 GB for all 21,268)."""
    return shingle_keys(text)


def copy_jaccard(origin: Original, text: str) -> float:
    return round(jaccard(original_keys(origin.text), shingle_keys(text)), 6)


def band_of(j: float) -> tuple[float, float]:
    """The half-open band [lo, hi) holding j; 1.0 falls in the top band."""
    for lo, hi in BANDS:
        if lo <= j < hi:
            return lo, hi
    return BANDS[-1]


def normalized(text: str) -> str:
    """Whitespace-normalised text: what "exact-equal originals" are compared on."""
    return " ".join(text.split())


# ------------------------------------------------------------------ originals


@dataclass(frozen=True)
class Original:
    id: str
    text: str
    title: str


def default_corpora() -> Path:
    return Path(os.environ.get("INGEST_CORPORA") or REPO.parent / "shared" / "corpora")


def decode_sgml(text: str) -> str:
    """Decode the SGML entities Reuters-21578 uses (numeric and the five XML ones)."""
    return _ENTITY.sub(lambda m: chr(int(m.group(1)[1:])) if m.group(1)[0] == "#" else _NAMED[m.group(1)], text)


def load_reuters(corpora: Path) -> list[Original]:
    """Every `<BODY>` of reuters21578/*.sgm, in file and record order."""
    docs = []
    for path in sorted(glob.glob(str(corpora / "reuters21578" / "reut2-*.sgm"))):
        raw = Path(path).read_text(encoding="latin-1")
        for record in _RECORD.finditer(raw):
            body = _BODY.search(record.group(2))
            if body is None:
                continue
            title = _TITLE.search(record.group(2))
            docs.append(Original(f"reuters-{record.group(1)}", decode_sgml(body.group(1)),
                                 decode_sgml(title.group(1)).strip() if title else ""))
    return docs


def read_bbc_file(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def load_bbc(corpora: Path) -> list[Original]:
    """Every bbc-news/<topic>/NNN.txt, in topic and file order; the title is line 1."""
    docs = []
    for path in sorted(glob.glob(str(corpora / "bbc-news" / "*" / "*.txt"))):
        p = Path(path)
        text = read_bbc_file(p)
        docs.append(Original(f"bbc-{p.parent.name}-{p.stem}", text, text.split("\n", 1)[0].strip()))
    return docs


def load_originals(corpora: Path) -> list[Original]:
    docs = load_reuters(corpora) + load_bbc(corpora)
    if not docs:
        raise SystemExit(f"no Reuters or BBC documents under {corpora} (set --corpora or INGEST_CORPORA)")
    return docs


# ------------------------------------------------------------------ text structure


def split_paragraphs(text: str) -> list[str]:
    """Paragraphs: blocks separated by blank lines (BBC) or starting with an indented line (Reuters)."""
    return [p.strip() for p in _PARAGRAPH.split(text) if p.strip()]


def join_paragraphs(paragraphs: list[str], like: str) -> str:
    """Paragraphs laid out as in `like`: blank lines between them, else indented first lines."""
    sep = "\n\n" if _BLANK_LINE.search(like) else "\n    "
    return sep.join(paragraphs) + "\n"


def split_sentences(paragraph: str) -> list[str]:
    return [s for s in _SENTENCE_END.split(paragraph.strip()) if s]


def rewrap(text: str) -> str:
    """The same words with the layout changed: each paragraph on one line, blank lines between."""
    return "\n\n".join(" ".join(p.split()) for p in split_paragraphs(text)) + "\n"


# ------------------------------------------------------------------ edits


@dataclass(frozen=True)
class Edit:
    name: str
    weight: float
    apply: Callable[[str, random.Random, "Donors"], str]


class Donors:
    """Other originals that edits borrow headlines and words from."""

    def __init__(self, originals: list[Original]) -> None:
        self._originals = originals

    def title(self, rng: random.Random) -> str:
        while True:
            title = rng.choice(self._originals).title
            if title:
                return title

    def words(self, rng: random.Random, k: int) -> list[str]:
        words = _WORD.findall(rng.choice(self._originals).text) or ["the"]
        return [rng.choice(words) for _ in range(k)]


def new_headline(text: str, rng: random.Random, donors: Donors) -> str:
    """Replace a BBC title line, or put a headline over a Reuters body."""
    headline = donors.title(rng)
    first, sep, rest = text.partition("\n\n")
    if sep and "\n" not in first.strip():
        return f"{headline}\n\n{rest}"
    return f"{headline}\n\n{text}"


def drop_last_paragraph(text: str, rng: random.Random, donors: Donors) -> str:
    """Drop the last paragraph; a one-paragraph text loses its last sentence instead."""
    paragraphs = split_paragraphs(text)
    if len(paragraphs) > 1:
        return join_paragraphs(paragraphs[:-1], text)
    sentences = split_sentences(text)
    return " ".join(sentences[:-1] or sentences) + "\n"


def word_edits(share: float) -> Callable[[str, random.Random, Donors], str]:
    """Replace, insert or delete (equally likely) `share` of the words, layout kept."""

    def apply(text: str, rng: random.Random, donors: Donors) -> str:
        spans = [m.span() for m in _WORD.finditer(text)]
        if not spans:
            return text
        chosen = sorted(rng.sample(range(len(spans)), max(1, round(share * len(spans)))))
        fillers = iter(donors.words(rng, len(chosen)))
        out, pos = [], 0
        for i in chosen:
            start, end = spans[i]
            out.append(text[pos:start])
            op = rng.randrange(3)
            if op == 0:  # replace
                out.append(next(fillers))
            elif op == 1:  # insert before
                out.append(next(fillers) + " " + text[start:end])
            else:  # delete (with the space after it)
                next(fillers)
                end = spans[i + 1][0] if i + 1 < len(spans) else end
            pos = end
        out.append(text[pos:])
        return "".join(out)

    return apply


def reorder_sentences(text: str, rng: random.Random, donors: Donors) -> str:
    """Shuffle the sentences inside each paragraph and swap two paragraphs."""
    shuffled = []
    for p in split_paragraphs(text):
        sentences = split_sentences(p)
        rng.shuffle(sentences)
        shuffled.append(" ".join(sentences))
    if len(shuffled) > 1:
        i, j = rng.sample(range(len(shuffled)), 2)
        shuffled[i], shuffled[j] = shuffled[j], shuffled[i]
    return join_paragraphs(shuffled, text)


def truncate(share: float) -> Callable[[str, random.Random, Donors], str]:
    """Keep the first `share` of the sentences (a wire story cut for length)."""

    def apply(text: str, rng: random.Random, donors: Donors) -> str:
        paragraphs = split_paragraphs(text)
        sentences = [(i, s) for i, p in enumerate(paragraphs) for s in split_sentences(p)]
        keep = sentences[: max(1, round(share * len(sentences)))]
        kept = [" ".join(s for i, s in keep if i == k) for k in range(len(paragraphs))]
        return join_paragraphs([p for p in kept if p], text)

    return apply


def combined(*steps: Callable[[str, random.Random, Donors], str]) -> Callable[[str, random.Random, Donors], str]:
    def apply(text: str, rng: random.Random, donors: Donors) -> str:
        for step in steps:
            text = step(text, rng, donors)
        return text

    return apply


NEAR_EDITS = [
    Edit("new headline", 1.0, new_headline),
    Edit("dropped last paragraph", 1.0, drop_last_paragraph),
    Edit("1% words replaced/inserted/deleted", 1.0, word_edits(0.01)),
    Edit("2% words replaced/inserted/deleted", 1.0, word_edits(0.02)),
    Edit("3% words replaced/inserted/deleted", 1.0, word_edits(0.03)),
    Edit("5% words replaced/inserted/deleted", 1.0, word_edits(0.05)),
    Edit("7% words replaced/inserted/deleted", 1.0, word_edits(0.07)),
    Edit("sentences and paragraphs reordered", 1.0, reorder_sentences),
    Edit("new headline, dropped last paragraph", 1.0, combined(new_headline, drop_last_paragraph)),
    Edit("new headline, sentences reordered, 2% word edits",
         1.0, combined(new_headline, reorder_sentences, word_edits(0.02))),
    Edit("cut to the first 70% of sentences, 2% word edits", 1.0, combined(truncate(0.7), word_edits(0.02))),
    Edit("new headline, dropped last paragraph, 4% word edits",
         1.0, combined(new_headline, drop_last_paragraph, word_edits(0.04))),
    Edit("cut to the first 55% of sentences, 3% word edits", 1.0, combined(truncate(0.55), word_edits(0.03))),
    Edit("10% words replaced/inserted/deleted", 0.6, word_edits(0.10)),
]


# ------------------------------------------------------------------ documents


@dataclass(frozen=True)
class CorpusDoc:
    text: str
    id: str
    origin: str | None
    kind: str  # original | exact | near | nondup
    edit: str | None
    true_jaccard: float | None


def plan_counts(docs: int, available: int) -> dict[str, int]:
    """How many documents of each kind (see the module docstring)."""
    originals = min(available, round(ORIGINAL_SHARE * docs))
    rest = docs - originals
    exact = round(DERIVED_SHARES["exact"] * rest)
    near = round(DERIVED_SHARES["near"] * rest)
    return {"original": originals, "exact": exact, "near": near, "nondup": rest - exact - near}


def exact_copy(origin: Original, rng: random.Random, seq: int) -> CorpusDoc:
    if rng.random() < 0.5:
        return CorpusDoc(origin.text, f"exact-{seq:06d}", origin.id, "exact", "verbatim copy", 1.0)
    text = rewrap(origin.text)
    return CorpusDoc(text, f"exact-{seq:06d}", origin.id, "exact", "re-wrapped (layout only)",
                     copy_jaccard(origin, text))


def near_copy(origin: Original, rng: random.Random, donors: Donors, seq: int) -> CorpusDoc:
    edit = rng.choices(NEAR_EDITS, weights=[e.weight for e in NEAR_EDITS])[0]
    text = edit.apply(origin.text, rng, donors)
    return CorpusDoc(text, f"near-{seq:06d}", origin.id, "near", edit.name, copy_jaccard(origin, text))


class SentencePool:
    """Sentences of the originals, handed out without replacement; reshuffled when used up."""

    def __init__(self, originals: list[Original], rng: random.Random) -> None:
        self._rng = rng
        self._sentences = [(o.id, s) for o in originals for p in split_paragraphs(o.text)
                           for s in split_sentences(p) if len(s.split()) >= 6]
        self._next = len(self._sentences)

    def take(self) -> tuple[str, str]:
        if self._next >= len(self._sentences):
            self._rng.shuffle(self._sentences)
            self._next = 0
        self._next += 1
        return self._sentences[self._next - 1]


def collage(pool: SentencePool, rng: random.Random, by_id: dict[str, Original], seq: int) -> tuple[CorpusDoc, float]:
    """6-12 sentences from at least 3 originals, re-drawn until it is no near-duplicate of any source.

    Returns the document and its largest true Jaccard to one of its sources.
    """
    while True:
        parts = [pool.take() for _ in range(rng.randint(3, 6) * 2)]
        sources = sorted({source for source, _ in parts})
        if len(sources) < 3:
            continue
        text = "\n\n".join(" ".join(s for _, s in parts[i : i + 2]) for i in range(0, len(parts), 2)) + "\n"
        keys = shingle_keys(text)
        worst = 0.0
        for source in sources:  # the first source too near re-draws: the rest need not be measured
            worst = max(worst, round(jaccard(original_keys(by_id[source].text), keys), 6))
            if worst >= NONDUP_MAX_JACCARD:
                break
        if worst < NONDUP_MAX_JACCARD:
            doc = CorpusDoc(text, f"nondup-{seq:06d}", None, "nondup", "collage of " + ", ".join(sources), None)
            return doc, worst


# Earlier versions of this file whose shards this one writes byte for byte (checked with
# sha256sum at 20,000 and 100,000 documents): their corpora are not rebuilt.
SAME_SHARDS_AS = frozenset({"e7720804d5a84bb42eb3be5444b5797102b3ba4cffd4fb9af9ec44a17ef1ecba"})


def builder_digest() -> str:
    """sha256 of this file: a corpus built by another version of the builder is rebuilt,
    unless that version is one of SAME_SHARDS_AS."""
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()


def generate(originals: list[Original], counts: dict[str, int], rng: random.Random,
             stats: Counter) -> Iterator[CorpusDoc]:
    """The corpus documents in construction order (originals, exact, near, collages),
    drawn from `rng`; adds the collages' largest Jaccard to a source to `stats`."""
    chosen = rng.sample(originals, counts["original"])
    donors = Donors(chosen)
    for o in chosen:
        yield CorpusDoc(o.text, o.id, None, "original", None, None)
    for i in range(counts["exact"]):
        yield exact_copy(rng.choice(chosen), rng, i)
    for i in range(counts["near"]):
        yield near_copy(rng.choice(chosen), rng, donors, i)
    pool = SentencePool(chosen, rng)
    by_id = {o.id: o for o in chosen}
    for i in range(counts["nondup"]):
        doc, worst = collage(pool, rng, by_id, i)
        stats["nondup_max_jaccard_to_sources"] = max(stats["nondup_max_jaccard_to_sources"], worst)
        yield doc


def shard_paths(out: Path, docs: int) -> list[Path]:
    return [out / f"shard-{start // SHARD_DOCS:05d}.jsonl" for start in range(0, docs, SHARD_DOCS)]


def build_corpus(corpora: Path, docs: int, seed: int, out: Path) -> dict:
    """Build and write the corpus; returns (and writes) its manifest.

    Streams: each document's line goes to a spill file as it is made (only its offset is
    kept), then the seeded shuffle of the construction order picks the lines into the
    shards.  Memory is the originals plus 8 bytes a document."""
    originals = load_originals(corpora)
    rng = random.Random(f"ingest-bench-corpus/{seed}/{docs}")
    counts = plan_counts(docs, len(originals))
    shards = out / "shards"
    shards.mkdir(parents=True, exist_ok=True)
    for old in shards.glob("shard-*.jsonl"):
        old.unlink()
    stats: Counter = Counter(nondup_max_jaccard_to_sources=0.0)
    near_bands: Counter = Counter()
    offsets = array("q", [0])
    with tempfile.TemporaryFile(dir=out) as spill:
        for doc in generate(originals, counts, rng, stats):
            line = (json.dumps(asdict(doc), ensure_ascii=False, sort_keys=True) + "\n").encode()
            offsets.append(offsets[-1] + spill.write(line))
            stats["text_bytes"] += len(doc.text.encode())
            stats["exact_copies_rewrapped"] += doc.kind == "exact" and doc.edit != "verbatim copy"
            if doc.kind == "near":
                near_bands[band_of(doc.true_jaccard)] += 1
        spill.flush()
        # random.shuffle draws by length only: shuffling positions permutes as the documents would
        order = list(range(docs))
        rng.shuffle(order)
        digest = hashlib.sha256()
        paths = shard_paths(shards, docs)
        with mmap.mmap(spill.fileno(), 0, access=mmap.ACCESS_READ) as lines:
            for n, path in enumerate(paths):
                data = b"".join(lines[offsets[i]:offsets[i + 1]] for i in order[n * SHARD_DOCS:(n + 1) * SHARD_DOCS])
                path.write_bytes(data)
                digest.update(data)
    manifest = {
        "docs": docs,
        "seed": seed,
        "builder_sha256": builder_digest(),
        "counts": counts,
        "nondup_max_jaccard_to_sources": round(stats["nondup_max_jaccard_to_sources"], 6),
        "originals_available": len(originals),
        "text_bytes": stats["text_bytes"],
        "jsonl_bytes": offsets[-1],
        "shards": len(paths),
        "sha256": digest.hexdigest(),
        "near_true_jaccard_histogram": {f"[{lo:.1f},{hi:.1f})": near_bands[(lo, hi)] for lo, hi in BANDS},
        "exact_copies_rewrapped": stats["exact_copies_rewrapped"],
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=20000, help="number of documents (default 20000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--corpora", type=Path, default=None,
                        help="shared corpora folder (default: $INGEST_CORPORA, else ../shared/corpora)")
    parser.add_argument("--out", type=Path, default=None,
                        help="output folder (default: bench/results/corpus-<docs>-s<seed>)")
    args = parser.parse_args()
    out = args.out or REPO / "bench" / "results" / f"corpus-{args.docs}-s{args.seed}"
    manifest = build_corpus(args.corpora or default_corpora(), args.docs, args.seed, out)
    print(json.dumps(manifest, indent=2))


if __name__ == "__main__":
    main()
