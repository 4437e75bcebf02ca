"""Score HTML extraction on the article-extraction benchmark (181 news and blog pages).

The metric is the benchmark's own, reimplemented from its description in
../shared/corpora/README.md: texts are tokenised with the regex \\w+, each becomes a
multiset of 4-token shingles (a text of 1-3 tokens is one shorter shingle), and per
page TP is the multiset overlap with the ground truth, FP what only the prediction
has, FN what only the truth has.  Precision is the mean of per-page TP/(TP+FP) over the
pages whose prediction has a shingle, recall the mean of TP/(TP+FN) over the pages whose
truth has one, F1 their harmonic mean; accuracy is the share of pages whose token lists
are equal.  Error bars: standard deviation over 1000 bootstrap resamples of the pages.

    python bench/extraction_f1.py                 # ingest.clean.html.extract_html
    python bench/extraction_f1.py --reference     # stored trafilatura 2.0.0 output
    python bench/extraction_f1.py --compare       # trafilatura settings, one row each
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import logging
import os
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
BENCHMARK = "article-extraction-benchmark"
SHINGLE = 4
RESAMPLES = 1000
SEED = 12345

_TOKEN = re.compile(r"\w+")
# Scripts written without spaces between words (Han, kana, Thai, Lao, Myanmar, Khmer):
# `\w+` makes a whole run of them, often a sentence, one token. The CJK-aware measure
# takes each of their characters as a token, as CJK-aware text metrics do (BERT's
# tokenizer for Han, sacreBLEU's "zh" tokenizer); other scripts' tokens stay `\w+`.
_UNSEGMENTED = (
    "\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf"
    "\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f\U00020000-\U0003134f"
)
_CHARACTER_TOKEN = re.compile(f"[{_UNSEGMENTED}]|(?:(?![{_UNSEGMENTED}])\\w)+")


def tokenize(text: str, per_character: bool = False) -> list[str]:
    """`\\w+` tokens; with `per_character`, each character of an unsegmented script one token."""
    return (_CHARACTER_TOKEN if per_character else _TOKEN).findall(text or "")


def shingles(text: str, n: int = SHINGLE, per_character: bool = False) -> Counter[tuple[str, ...]]:
    """The multiset of n-token shingles; a shorter (non-empty) text is one shingle."""
    tokens = tokenize(text, per_character)
    return Counter(tuple(tokens[i : i + n]) for i in range(max(1, len(tokens) - n + 1)) if tokens)


def match_counts(truth: str, prediction: str, per_character: bool = False) -> tuple[int, int, int]:
    """(TP, FP, FN) shingle counts of one page (`tokenize` for `per_character`)."""
    true, pred = shingles(truth, per_character=per_character), shingles(prediction, per_character=per_character)
    tp = sum((true & pred).values())
    return tp, sum(pred.values()) - tp, sum(true.values()) - tp


@dataclass(frozen=True)
class PageScore:
    precision: float | None  # None: the prediction has no shingle
    recall: float | None  # None: the truth has no shingle
    exact: bool  # token lists equal


def score_page(truth: str, prediction: str) -> PageScore:
    # The benchmark normalises TP/FP/FN by their sum so that every page weighs the
    # same; the ratios below do not change under that normalisation.
    tp, fp, fn = match_counts(truth, prediction)
    return PageScore(
        precision=tp / (tp + fp) if tp + fp else None,
        recall=tp / (tp + fn) if tp + fn else None,
        exact=tokenize(truth) == tokenize(prediction),
    )


def summarize(pages: list[PageScore]) -> dict[str, float]:
    """precision, recall, f1, accuracy of a set of pages, each with a `_std` bootstrap error."""
    precision = np.array([np.nan if p.precision is None else p.precision for p in pages])
    recall = np.array([np.nan if p.recall is None else p.recall for p in pages])
    exact = np.array([p.exact for p in pages], dtype=float)
    point = _metrics(precision[None, :], recall[None, :], exact[None, :])
    rows = np.random.default_rng(SEED).integers(0, len(pages), size=(RESAMPLES, len(pages)))
    spread = _metrics(precision[rows], recall[rows], exact[rows])
    result = {name: float(values[0]) for name, values in point.items()}
    result.update({f"{name}_std": float(np.nanstd(values)) for name, values in spread.items()})
    return result


def _metrics(precision: np.ndarray, recall: np.ndarray, exact: np.ndarray) -> dict[str, np.ndarray]:
    """Per row (one sample of pages): the means and their harmonic mean."""
    p = _nanmean(precision)
    r = _nanmean(recall)
    f1 = np.where(p + r > 0, 2 * p * r / np.where(p + r > 0, p + r, 1), 0.0)
    return {"precision": p, "recall": r, "f1": f1, "accuracy": exact.mean(axis=1)}


def _nanmean(values: np.ndarray) -> np.ndarray:
    # A resample may hold no page with a defined value: its mean is NaN, not a warning.
    counts = (~np.isnan(values)).sum(axis=1)
    return np.where(counts > 0, np.nansum(values, axis=1) / np.maximum(counts, 1), np.nan)


# ----------------------------------------------------------------------------- corpus


def default_corpora() -> Path:
    return Path(os.environ.get("INGEST_CORPORA") or REPO.parent / "shared" / "corpora")


def load_ground_truth(benchmark: Path) -> tuple[dict[str, str], dict[str, str]]:
    """(page id -> article text, page id -> url)."""
    with (benchmark / "ground-truth.json").open(encoding="utf-8") as fh:
        items = json.load(fh)
    return (
        {page_id: item.get("articleBody") or "" for page_id, item in items.items()},
        {page_id: item.get("url") for page_id, item in items.items()},
    )


def load_reference(benchmark: Path) -> tuple[str, dict[str, str]]:
    """(trafilatura version, page id -> text) of the stored reference output."""
    with (benchmark / "reference-output" / "trafilatura.json").open(encoding="utf-8") as fh:
        data = json.load(fh)
    return data["version"], {k: v.get("articleBody") or "" for k, v in data["output"].items()}


def load_page(benchmark: Path, page_id: str) -> str:
    with gzip.open(benchmark / "html" / f"{page_id}.html.gz", "rt", encoding="utf-8") as fh:
        return fh.read()


def score_outputs(
    truth: dict[str, str], predictions: dict[str, str]
) -> tuple[dict[str, float], dict[str, PageScore]]:
    """Summary and per-page scores; a page without a prediction scores as empty."""
    per_page = {page_id: score_page(text, predictions.get(page_id, "")) for page_id, text in truth.items()}
    return summarize(list(per_page.values())), per_page


def run_extractor(
    benchmark: Path, page_ids: Iterable[str], urls: dict[str, str], extract: Callable[[str, str], str]
) -> dict[str, str]:
    return {page_id: extract(load_page(benchmark, page_id), urls[page_id]) for page_id in page_ids}


# ------------------------------------------------------------------------ extractors


# Ablations of the two rules extract_html adds to trafilatura: (module attribute, stand-in).
ABLATIONS: dict[str, tuple[str, object]] = {
    "headline": ("_drop_repeated_title", lambda paragraphs, title: paragraphs),
    "precision-fallback": ("PRECISION_MIN_SHARE", 0.0),
}


def pipeline_extractor(without: str | None = None, **overrides: bool) -> Callable[[str, str], str]:
    """ingest.clean.html.extract_html with the default [html] config (plus overrides),
    optionally with one of its rules switched off (see ABLATIONS).

    A page it rejects (ExtractError) scores as an empty prediction, which is what the
    pipeline outputs for it.
    """
    from unittest import mock

    from ingest.clean import html as module
    from ingest.config import load_config

    config = load_config().html.model_copy(update=overrides)
    # Patched per page, not for the whole run, so that later rows see the real module.
    ablation = mock.patch.object(module, *ABLATIONS[without]) if without else contextlib.nullcontext()

    def extract(html: str, url: str) -> str:
        with ablation:
            try:
                return module.extract_html(html, config, url=url).text
            except module.ExtractError:
                return ""

    return extract


def trafilatura_extractor(**options: bool) -> Callable[[str, str], str]:
    """Plain trafilatura.extract (text output) with the given options."""
    import trafilatura

    def extract(html: str, url: str) -> str:
        return trafilatura.extract(html, url=url, **options) or ""

    return extract


# Rows of --compare: (label, extractor factory, its options).  "trafilatura" rows are the
# library alone; "pipeline" rows are extract_html (headline rule, precision fallback).
_OFF = {"include_comments": False}
_PRECISE = {**_OFF, "favor_precision": True}
COMPARED: list[tuple[str, Callable[..., Callable[[str, str], str]], dict[str, object]]] = [
    ("trafilatura defaults (comments on)", trafilatura_extractor, {}),
    ("trafilatura, comments off", trafilatura_extractor, _OFF),
    ("trafilatura, comments off, favor_recall", trafilatura_extractor, {**_OFF, "favor_recall": True}),
    ("trafilatura, comments off, fast (no fallbacks)", trafilatura_extractor, {**_OFF, "fast": True}),
    ("trafilatura, comments off, deduplicate", trafilatura_extractor, {**_OFF, "deduplicate": True}),
    ("trafilatura, comments off, favor_precision", trafilatura_extractor, _PRECISE),
    ("trafilatura, comments off, favor_precision, fast", trafilatura_extractor, {**_PRECISE, "fast": True}),
    ("trafilatura, comments off, favor_precision, no tables", trafilatura_extractor,
     {**_PRECISE, "include_tables": False}),
    ("trafilatura, comments off, favor_precision, deduplicate", trafilatura_extractor,
     {**_PRECISE, "deduplicate": True}),
    ("pipeline without the headline rule", pipeline_extractor, {"without": "headline"}),
    ("pipeline without the precision fallback", pipeline_extractor, {"without": "precision-fallback"}),
    ("pipeline, favor_precision = false", pipeline_extractor, {"favor_precision": False}),
    ("pipeline, include_comments = true", pipeline_extractor, {"include_comments": True}),
    ("pipeline, include_tables = false", pipeline_extractor, {"include_tables": False}),
    ("pipeline, default config (extract_html)", pipeline_extractor, {}),
]


# --------------------------------------------------------------------------- output


def table_header() -> str:
    return "| extractor | F1 | precision | recall | accuracy |\n|---|---|---|---|---|"


def table_row(label: str, summary: dict[str, float]) -> str:
    metrics = ("f1", "precision", "recall", "accuracy")
    return f"| {label} | " + " | ".join(f"{summary[m]:.3f} ± {summary[m + '_std']:.3f}" for m in metrics) + " |"


def worst_pages(per_page: dict[str, PageScore], urls: dict[str, str], count: int) -> list[str]:
    def f1(page: PageScore) -> float:
        p, r = page.precision or 0.0, page.recall or 0.0
        return 2 * p * r / (p + r) if p + r else 0.0

    def shown(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.3f}"

    ranked = sorted(per_page.items(), key=lambda item: f1(item[1]))[:count]
    return [
        f"{f1(s):.3f}  P={shown(s.precision)}  R={shown(s.recall)}  {page_id[:12]}  {urls[page_id]}"
        for page_id, s in ranked
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--corpora", type=Path, default=default_corpora(),
        help="folder holding article-extraction-benchmark/ (default: $INGEST_CORPORA or ../shared/corpora)",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--reference", action="store_true",
                      help="score the stored trafilatura 2.0.0 output (metric check)")
    mode.add_argument("--compare", action="store_true", help="score every setting in COMPARED, one row each")
    parser.add_argument("--worst", type=int, default=0, metavar="N", help="also list the N worst pages by F1")
    args = parser.parse_args(argv)
    # trafilatura warns about every page it finds nothing in; the table says enough.
    logging.getLogger("trafilatura").setLevel(logging.CRITICAL)

    benchmark = args.corpora / BENCHMARK
    if not (benchmark / "ground-truth.json").is_file():
        parser.error(f"{benchmark}: no ground-truth.json (set --corpora or INGEST_CORPORA)")
    truth, urls = load_ground_truth(benchmark)

    if args.reference:
        version, predictions = load_reference(benchmark)
        runs = [(f"trafilatura {version} (stored reference output)", lambda: predictions)]
    else:
        rows = COMPARED if args.compare else COMPARED[-1:]
        runs = [
            (label, lambda f=factory, o=options: run_extractor(benchmark, truth, urls, f(**o)))
            for label, factory, options in rows
        ]

    print(f"{len(truth)} pages, {SHINGLE}-token shingles, ± = std over {RESAMPLES} bootstrap resamples\n")
    print(table_header())
    for label, produce in runs:
        started = time.perf_counter()
        summary, per_page = score_outputs(truth, produce())
        print(table_row(label, summary), flush=True)
        print(f"  ({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    if args.worst:
        print(f"\nworst {args.worst} pages of the last row (F1, precision, recall, id, url):")
        print("\n".join(worst_pages(per_page, urls, args.worst)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
