"""Throughput of the text repair stage, before (plain ftfy.fix_text) and after (repair_text).

Corpora, read in place from --corpora (default $INGEST_CORPORA or ../shared/corpora):

* bbc-news/*/*.txt (2,225 files, about 5 MB), decoded with `decode_bytes`;
* the same texts with mojibake in 10% of them: in each chosen text up to three
  sentences are made typographic (’ “ ” –; BBC text is ASCII apart from £, and ASCII
  survives a wrong decoding unchanged), encoded as UTF-8 and decoded as Windows-1252
  (ftfy's sloppy variant, as Windows software does) or Latin-1, alternately;
* ftfy-cases/*.json: the pass count of the correctness check in tests/test_decode.py.

"before" is `ftfy.fix_text` with the settings `repair_text` uses (quotes kept, no
ligature or width folding, entities decoded, NFC); "no checks" is `repair_text`'s own
steps run on every text and ftfy on every line; "after" is `repair_text`.  MB/s is
UTF-8 megabytes (10^6) of input text per second, the median of --repeat runs.
"restored" counts mojibake texts whose repair equals the repair of the text before
the mojibake was injected.

    python bench/encoding.py [--corpora PATH] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import sys
import time
import unicodedata
from collections.abc import Callable
from pathlib import Path

import ftfy
from ftfy.chardata import HTML_ENTITY_RE

from ingest.clean.decode import decode_bytes
from ingest.clean.repair import _repair, repair_text
from ingest.config import DecodeConfig

REPO = Path(__file__).resolve().parent.parent
SEED = 20240414
MOJIBAKE_SHARE = 0.10
SENTENCES_PER_TEXT = 3
CONFIG = DecodeConfig()
FTFY_CONFIG = ftfy.TextFixerConfig(
    unescape_html=True,
    uncurl_quotes=False,
    fix_latin_ligatures=False,
    fix_character_width=False,
    normalization="NFC",
    explain=False,
)
_SENTENCE = re.compile(r"[^.!?\n]*[.!?]+[\"']?")
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def default_corpora() -> Path:
    return Path(os.environ.get("INGEST_CORPORA") or REPO.parent / "shared" / "corpora")


def load_bbc(corpora: Path) -> list[str]:
    return [decode_bytes(path.read_bytes()).text for path in sorted(corpora.glob("bbc-news/*/*.txt"))]


def typographic(sentence: str) -> str:
    sentence = re.sub(r"(\w)'(\w)", "\\1\u2019\\2", sentence)
    sentence = re.sub(r'"([^"]*)"', "\u201c\\1\u201d", sentence)
    return sentence.replace(" - ", " \u2013 ")


def inject_mojibake(texts: list[str]) -> tuple[list[str], list[tuple[int, str]]]:
    """The texts with mojibake in 10% of them, and (index, clean typographic text) of those."""
    rng = random.Random(SEED)
    out = list(texts)
    chosen = []
    for i in sorted(rng.sample(range(len(texts)), round(MOJIBAKE_SHARE * len(texts)))):
        sentences = [m for m in _SENTENCE.finditer(texts[i]) if typographic(m.group()) != m.group() or "£" in m.group()]
        picked = sorted(rng.sample(sentences, min(SENTENCES_PER_TEXT, len(sentences))), key=lambda m: m.start())
        clean, broken, pos = [], [], 0
        for n, m in enumerate(picked):
            codec = "sloppy-windows-1252" if n % 2 == 0 else "latin-1"
            fixed = typographic(m.group())
            clean += [texts[i][pos : m.start()], fixed]
            broken += [texts[i][pos : m.start()], fixed.encode("utf-8").decode(codec)]
            pos = m.end()
        clean.append(texts[i][pos:])
        broken.append(texts[i][pos:])
        out[i] = "".join(broken)
        chosen.append((i, "".join(clean)))
    return out, chosen


def throughput(fn: Callable[[str], object], texts: list[str], repeat: int) -> float:
    megabytes = sum(len(t.encode("utf-8")) for t in texts) / 1e6
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        for text in texts:
            fn(text)
        times.append(time.perf_counter() - started)
    return megabytes / statistics.median(times)


def ftfy_case_expectation(case: dict) -> str:
    """What repair_text must give for a case; see tests/test_decode.py for why."""
    reference = case["fixed"] if HTML_ENTITY_RE.search(case["original"]) else case.get("fixed-encoding", case["fixed"])
    return unicodedata.normalize("NFC", _CONTROL.sub("", reference))


def ftfy_cases(corpora: Path) -> tuple[int, int, int, int]:
    """(passing, pass cases, known failures that now match, known failures)."""
    cases = [case for path in sorted(corpora.glob("ftfy-cases/*.json")) for case in json.loads(path.read_text("utf-8"))]
    must = [c for c in cases if c["expect"] == "pass"]
    known = [c for c in cases if c["expect"] == "fail"]
    passing = sum(repair_text(c["original"], CONFIG)[0] == ftfy_case_expectation(c) for c in must)
    known_match = sum(repair_text(c["original"], CONFIG)[0] == ftfy_case_expectation(c) for c in known)
    return passing, len(must), known_match, len(known)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpora", type=Path, default=default_corpora(),
                        help="folder holding bbc-news/ and ftfy-cases/ (default: $INGEST_CORPORA or ../shared/corpora)")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per cell; the median is shown (default 5)")
    args = parser.parse_args(argv)
    if not (args.corpora / "bbc-news").is_dir() or not (args.corpora / "ftfy-cases").is_dir():
        parser.error(f"{args.corpora}: needs bbc-news/ and ftfy-cases/ (set --corpora or INGEST_CORPORA)")

    clean = load_bbc(args.corpora)
    broken, injected = inject_mojibake(clean)
    runs = {
        "before: ftfy.fix_text": lambda t: ftfy.fix_text(t, FTFY_CONFIG),
        "repair_text, no checks": lambda t: _repair(t, CONFIG, precheck=False),
        "after: repair_text": lambda t: repair_text(t, CONFIG),
    }
    print(f"{len(clean)} BBC texts, {sum(len(t.encode()) for t in clean) / 1e6:.2f} MB; "
          f"mojibake in {len(injected)}; median of {args.repeat} runs\n")
    print("| corpus | " + " | ".join(f"{name} MB/s" for name in runs) + " | speed-up | restored before / after |")
    print("|---|" + "---:|" * (len(runs) + 2))
    for label, texts in (("BBC News", clean), ("BBC News, 10% mojibake", broken)):
        speeds = [throughput(fn, texts, args.repeat) for fn in runs.values()]
        for text in texts:  # the checks must not change a result
            assert repair_text(text, CONFIG) == _repair(text, CONFIG, precheck=False)
        restored = "-"
        if texts is broken:
            before = sum(ftfy.fix_text(texts[i], FTFY_CONFIG) == ftfy.fix_text(c, FTFY_CONFIG) for i, c in injected)
            after = sum(repair_text(texts[i], CONFIG)[0] == repair_text(c, CONFIG)[0] for i, c in injected)
            restored = f"{before}/{len(injected)} / {after}/{len(injected)}"
        cells = " | ".join(f"{s:.1f}" for s in speeds)
        print(f"| {label} | {cells} | {speeds[-1] / speeds[0]:.1f}x | {restored} |", flush=True)

    passing, total, known_match, known = ftfy_cases(args.corpora)
    print(f"\nftfy-cases: {passing}/{total} pass cases repaired as expected; "
          f"known failures matching the expected fix: {known_match}/{known}")
    return 0 if passing == total else 1


if __name__ == "__main__":
    sys.exit(main())
