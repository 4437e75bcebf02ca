"""Title, date, url and author accuracy per source, against what each file itself says.

Each source is a folder of posts of one convention. The gold is read from every file
independently of ingest's convention sets: its front matter parsed with PyYAML, tomllib
or json (Pelican's header lines with Python-Markdown's `meta` extension, the reader
Pelican uses), the convention's own field for each value (`GOLD_FIELDS`), HTML entities
decoded and white space collapsed. ingest runs over the same files (`ingest.run.pipeline.run`,
dedup in label mode so that every document is in documents.jsonl) and each document's
`metadata.title`, `created`, `metadata.url` and `metadata.author` are compared with the
gold: titles, urls and authors equal; dates the same instant with the same offset (or
the same day, when the gold is a day). Accuracy is over the files that have a gold value
for the field ("-" when none has); a file that ingest rejects (a post with no body) is
counted apart and left out of the accuracy.

Content recall: the post's own body (template tags such as Liquid's `{% %}` and Hugo's
shortcodes taken out, Markdown rendered as CommonMark with markdown-it-py, HTML read with lxml, its
text taken, with line breaks at blocks and, in Markdown, the ordered lists' numbers) against ingest's text, as 4-token shingle recall (tokens
`\\w+`, bench/extraction_f1.py's metric), the mean over the posts; and the same with each
character of an unsegmented script (Han, kana, Thai, ...) a token of its own, the fair
measure for Japanese, where `\\w+` makes a sentence one token (equal to the first on
text without such characters).

    python bench/metadata_accuracy.py                  # the fixtures in tests/fixtures/
    python bench/metadata_accuracy.py --source easyengine wordpress_jekyll_exporter DIR ...
    python bench/metadata_accuracy.py --config FILE --json  # a user's convention sets; JSON out
"""

from __future__ import annotations

import argparse
import datetime as dt
import html
import json
import re
import sys
import tempfile
import tomllib
from collections import Counter
from pathlib import Path
from typing import Any

import markdown
import yaml
from dateutil import parser as date_parser
from lxml import html as lxml_html
from markdown_it import MarkdownIt
from mdit_py_plugins.footnote import footnote_plugin

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.extraction_f1 import match_counts  # noqa: E402
from ingest.config import load_config  # noqa: E402
from ingest.run.pipeline import run  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures"
DEFAULT_SOURCES = [
    ("easyengine-docs", "wordpress_jekyll_exporter", FIXTURES / "easyengine-docs"),
    ("jekyll-docs", "jekyll", FIXTURES / "jekyll-docs"),
    ("baldanders-hugo", "hugo", FIXTURES / "baldanders-hugo"),
    ("pelican-tests", "pelican", FIXTURES / "pelican-tests"),
    ("astro-blog-template", "eleventy", FIXTURES / "astro-blog-template"),
    ("astro-theme-cactus", "eleventy", FIXTURES / "astro-theme-cactus"),
    ("eleventy-base-blog", "eleventy", FIXTURES / "eleventy-base-blog"),
]
POST_SUFFIXES = (".md", ".markdown", ".mdown", ".html")

# The field each convention's own documentation names for each value, in its order of
# preference (Hugo: publishDate is the publication date when a page has both).
GOLD_FIELDS = {
    "wordpress_jekyll_exporter": {"title": ["post_title"], "date": ["post_date"], "url": ["permalink"],
                                  "author": ["author"]},
    "jekyll": {"title": ["title"], "date": ["date"], "url": ["permalink"], "author": ["author"]},
    "hugo": {"title": ["title"], "date": ["publishDate", "date"], "url": ["url"], "author": ["author", "authors"]},
    "pelican": {"title": ["title"], "date": ["date"], "url": ["save_as"], "author": ["author", "authors"]},
    # Astro's blog template (pubDate), Astro themes (publishDate), Eleventy (date).
    "eleventy": {"title": ["title"], "date": ["pubDate", "publishDate", "date"], "url": ["permalink"],
                 "author": ["author"]},
}
FIELDS = ("title", "date", "url", "author")


# ---------------------------------------------------------------- the files' own word


def front_matter(text: str) -> tuple[dict[str, Any], str]:
    """(front matter, body) as the generators read them."""
    text = text.lstrip("\ufeff")
    for fence, load in (("---", yaml.safe_load), ("+++", tomllib.loads)):
        if text.startswith(fence + "\n"):
            head, _, body = text[len(fence) + 1:].partition("\n" + fence + "\n")
            return load(head) or {}, body
    if text.startswith("{\n"):
        data, end = json.JSONDecoder().raw_decode(text)
        return data, text[end:]
    md = markdown.Markdown(extensions=["meta"])
    md.convert(text)
    head, _, body = text.partition("\n\n") if md.Meta else ("", "", text)
    meta = {key: " ".join(values) if key not in ("tags", "authors") else values for key, values in md.Meta.items()}
    if "authors" in meta:  # Pelican: semicolons separate names when there is one, else commas
        joined = " ".join(meta["authors"])
        meta["authors"] = [a.strip() for a in joined.split(";" if ";" in joined else ",") if a.strip()]
    return meta, body


def clean_text(value: Any) -> str | None:
    if value is None or isinstance(value, (dict, list, bool)):
        return None
    text = " ".join(html.unescape(str(value)).split())
    return text or None


def gold_author(value: Any) -> Any:
    if isinstance(value, dict):
        return clean_text(value.get("name"))
    if isinstance(value, list):
        names = [gold_author(v) for v in value]
        names = list(dict.fromkeys(n for n in names if n))
        return names[0] if len(names) == 1 else names or None
    return clean_text(value)


def gold_date(value: Any) -> dt.date | dt.datetime | None:
    if isinstance(value, (dt.date, dt.datetime)):
        return value
    if isinstance(value, str) and value.strip():
        try:
            parsed = date_parser.parse(value)
        except (ValueError, OverflowError):
            return None
        # A value without a time of day ("2016-01-10", "22 Feb 2023") names a day.
        return parsed if re.search(r"\d:\d", value) else parsed.date()
    return None


def gold_values(front: dict[str, Any], convention: str) -> dict[str, Any]:
    def first(field: str) -> Any:
        for key in GOLD_FIELDS[convention][field]:
            if front.get(key) not in (None, "", []):
                return front[key]
        return None

    return {"title": clean_text(first("title")), "date": gold_date(first("date")),
            "url": clean_text(first("url")), "author": gold_author(first("author"))}


# Template tags the site generator replaces when it builds the page (Liquid's {% %} and
# {{ }}, Hugo's shortcodes {{< >}} and {{% %}}): a link target or a value, not the post's words.
_TEMPLATE_TAG = re.compile(r"\{\{[<%].*?[>%]\}\}|\{%.*?%\}|\{\{.*?\}\}", re.DOTALL)
# A tag where a link's destination goes ("[label]: {{< ref "post.md" >}}", "](" too)
# renders as a URL: one stands in for it, or the link definition would not parse.
_TAG_AS_DESTINATION = re.compile(r"(\]:[ \t]*|\]\()(?:" + _TEMPLATE_TAG.pattern + ")", re.DOTALL)


# "## Heading{#id}": Hugo's and kramdown's heading attributes, written with or without a space.
_HEADING_ID = re.compile(r"^(#{1,6}[ \t].*?)[ \t]*\{[#.][^{}\n]*\}[ \t]*$", re.MULTILINE)


def body_text(body: str) -> str:
    """The words of a post's body: template tags out, Markdown rendered to HTML, the HTML's text."""
    body = _TAG_AS_DESTINATION.sub(r"\1/rendered-link", body)
    body = _TEMPLATE_TAG.sub(" ", body)
    body = _HEADING_ID.sub(r"\1", body)
    is_html = bool(re.search(r"<(?:p|div|h\d|ul|ol|pre|span|table)\b", body)) and not _MARKDOWN_LINE.search(body)
    rendered = body if is_html else _COMMONMARK.render(body)
    if not rendered.strip():
        return ""
    tree = lxml_html.fromstring(f"<div>{rendered}</div>")
    for element in list(tree.iter()):  # a list: marks are dropped on the way
        if not isinstance(element.tag, str):
            continue
        if element.tag in _BLOCKS:  # a browser breaks the line there: words are not glued
            element.tail = "\n" + (element.tail or "")
        if "footnote-ref" in (element.get("class") or "") or "footnote-backref" in (element.get("class") or ""):
            element.drop_tree()  # a footnote's mark (and the way back): links, not words
            continue
        # Markdown's item numbers are in the file (a footnote's are not)
        if element.tag == "ol" and not is_html and "footnotes" not in (element.get("class") or ""):
            for number, item in enumerate(element.findall("li"), start=int(element.get("start") or 1)):
                item.text = f"{number}. " + (item.text or "")
    return tree.text_content()


# CommonMark (what Hugo's goldmark and Jekyll's kramdown GFM parser follow), with raw
# HTML, tables and footnotes; markdown-it-py, not the library ingest renders with.
_COMMONMARK = MarkdownIt("commonmark", {"html": True}).enable("table").use(footnote_plugin)
# A body with Markdown's block syntax is Markdown even when it holds HTML blocks.
_MARKDOWN_LINE = re.compile(r"^[ \t]{0,3}(?:#{1,6}[ \t]+\S|`{3,}|[-*+][ \t]+\S)|\]\([^)\s]+\)", re.MULTILINE)
_BLOCKS = frozenset("p div h1 h2 h3 h4 h5 h6 li ul ol pre blockquote table tr td th br hr dt dd figure figcaption".split())


# ---------------------------------------------------------------- comparison


def same_date(created: str | None, gold: dt.date | dt.datetime) -> bool:
    if not created:
        return False
    if isinstance(gold, dt.datetime):
        got = dt.datetime.fromisoformat(created) if "T" in created else None
        if got is None or (got.tzinfo is None) != (gold.tzinfo is None):
            return False
        return got == gold and got.utcoffset() == gold.utcoffset()
    return created[:10] == gold.isoformat()


def matches(field: str, document: dict, gold: Any) -> bool:
    metadata = document["metadata"]
    if field == "date":
        return same_date(document["created"], gold)
    return metadata.get(field) == gold


def score_source(name: str, convention: str, folder: Path, config) -> dict[str, Any]:
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in POST_SUFFIXES)
    with tempfile.TemporaryDirectory() as out:
        report = run([str(p) for p in files], out, config)
        documents = {d["source"]: d for d in map(json.loads, (Path(out) / "documents.jsonl").open(encoding="utf-8"))}
        rejected = Counter(json.loads(line)["error"] for line in (Path(out) / "rejects.jsonl").open(encoding="utf-8"))
    correct, present, misses = Counter(), Counter(), []
    recalls: dict[bool, list[float]] = {False: [], True: []}  # by `per_character`
    for path in files:
        document = documents.get(str(path))
        if document is None:
            continue
        front, body = front_matter(path.read_text(encoding="utf-8-sig"))
        gold = gold_values(front, convention)
        for field in FIELDS:
            if gold[field] is None:
                continue
            present[field] += 1
            if matches(field, document, gold[field]):
                correct[field] += 1
            elif len(misses) < 10:
                got = document["created"] if field == "date" else document["metadata"].get(field)
                misses.append(f"{path.name}: {field} {got!r} != {gold[field]!r}")
        truth = body_text(body)
        if truth.strip():
            for per_character, scores in recalls.items():
                tp, _, fn = match_counts(truth, document["text"], per_character)
                scores.append(tp / (tp + fn) if tp + fn else 1.0)
    return {
        "source": name, "convention": convention, "files": len(files), "documents": len(documents),
        "rejected": dict(rejected), "balanced": report["counts"]["balanced"],
        **{field: (round(correct[field] / present[field], 4) if present[field] else None) for field in FIELDS},
        **{f"{field}_n": present[field] for field in FIELDS},
        "content_recall": mean(recalls[False]),
        "content_recall_per_character": mean(recalls[True]),
        "misses": misses,
    }


def mean(scores: list[float]) -> float | None:
    return round(sum(scores) / len(scores), 4) if scores else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", nargs=3, action="append", metavar=("NAME", "CONVENTION", "FOLDER"),
                        help=f"a folder of posts of one convention ({', '.join(GOLD_FIELDS)}); repeatable")
    parser.add_argument("--config", help="a --config file merged over config/default.toml")
    parser.add_argument("--json", action="store_true", help="print the scores as JSON")
    args = parser.parse_args(argv)
    config = load_config(args.config)
    config = config.model_copy(update={"dedup": config.dedup.model_copy(update={"mode": "label"})})
    sources = [(n, c, Path(f)) for n, c, f in args.source] if args.source else DEFAULT_SOURCES
    scores = [score_source(name, convention, folder, config) for name, convention, folder in sources]
    if args.json:
        print(json.dumps(scores, indent=1, ensure_ascii=False))
        return 0
    print("| source | convention | files | documents | rejected | title | date | url | author "
          "| content recall (`\\w+`) | content recall (CJK per character) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for s in scores:
        cells = [f"{s[f]:.3f} ({s[f + '_n']})" if s[f] is not None else "-" for f in FIELDS]
        recall = [f"{s[k]:.3f}" if s[k] is not None else "-"
                  for k in ("content_recall", "content_recall_per_character")]
        print(f"| {s['source']} | {s['convention']} | {s['files']} | {s['documents']} | "
              f"{sum(s['rejected'].values())} | {' | '.join(cells)} | {' | '.join(recall)} |")
    for s in scores:
        for miss in s["misses"]:
            print(f"  {s['source']}: {miss}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
