"""Title, date, url and author accuracy and content recall of the export, feed and table
readers on real files written by others.

For each source the gold is what the file itself says, read here with lxml or python's
csv and nothing of ingest's: a WXR item's <title>, wp:post_date_gmt (UTC), <link>,
dc:creator and the text of content:encoded; an Atom entry's title (as text when its type
is html), published (else updated), alternate link, author name and content; an RSS 2.0 item's
title, pubDate, link, dc:creator and content:encoded; an RSS 1.0 item's title, link and
description; a CSV row's title, url, authors and content columns.
Each source file is run alone through `ingest.run.pipeline.run` with the default
configuration; its documents and duplicates are matched to the gold by record number
(`source#n`).

- title: equal after whitespace is collapsed and HTML entities decoded (a scraper's
  "&apos;" in a CSV title is an apostrophe, as issue 18's normalisation has it); url: equal; author: equal (a list of
  names: the gold among them); date: the same instant (the same day for a date).
- recall: the share of the gold text's 4-token shingles (tokens \\w+, a multiset, as
  bench/extraction_f1.py counts them) found in the document's text; mean and minimum
  over the items whose gold text has a shingle, in a run with the artefact rules and
  learned boilerplate switched off (what reading and extraction keep), and the mean of
  the default run too (its rules cut "Source: ..." trailers, datelines and lines many
  documents of a site repeat, on purpose and recorded in `cleaning.removed`).
- Items whose gold has no text (an image-only post) are expected as rejects, not
  documents, and counted apart; any other missing document counts as wrong everywhere.

    python bench/format_accuracy.py          # the excerpts in tests/fixtures
    python bench/format_accuracy.py --full   # the whole files, from the fetched repositories
"""

from __future__ import annotations

import argparse
import csv
import html
import io
import json
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from dateutil import parser as date_parser
from lxml import etree
from lxml import html as lxml_html

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from extraction_f1 import shingles  # noqa: E402

from ingest.config import load_config  # noqa: E402
from ingest.run.pipeline import run  # noqa: E402

FIXTURES = REPO / "tests" / "fixtures"
MIRROR = Path("/work/.mirror")
TARGETS = {"title": 0.99, "date": 0.99, "url": 0.99, "recall": 0.98}


@dataclass
class Gold:
    n: int  # the record number ingest gives the item
    title: str | None
    date: str | None
    url: str | None
    author: str | None
    text: str  # the item's own body text


@dataclass
class Source:
    name: str
    fixture: Path
    full: tuple[str, str]  # (mirror repository folder, path in it) of the whole file
    gold: Callable[[bytes], list[Gold]]


_BLOCKS = frozenset("address article aside blockquote br dd div dl dt figcaption figure footer h1 h2 h3 h4 h5 h6 "
                    "header hr li main nav ol p pre section table td th tr ul".split())


def html_text(markup: str) -> str:
    """The text of an HTML fragment, blocks apart (scripts and styles are no text)."""
    if not markup.strip():
        return ""
    tree = lxml_html.fragment_fromstring(markup, create_parent="div")
    for element in list(tree.iter(etree.Comment, "script", "style")):
        element.drop_tree()
    for element in tree.iter(etree.Element):
        if element.tag in _BLOCKS:
            element.text = " " + (element.text or "")
            element.tail = " " + (element.tail or "")
    return " ".join(tree.text_content().split())


def wxr_gold(data: bytes) -> list[Gold]:
    root = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False))
    gold = []
    for n, item in enumerate(root.iter("item"), 1):
        def field(local: str) -> str:
            found = item.find(f"{{*}}{local}")
            return (found.text or "").strip() if found is not None else ""
        if field("post_type") not in ("post", "page"):
            continue
        date = field("post_date_gmt")
        gold.append(Gold(n, field("title"), None if date.startswith("0000") else date + "Z", field("link"),
                         field("creator"), html_text(item.findtext("{http://purl.org/rss/1.0/modules/content/}encoded") or "")))
    return gold


ATOM = "{http://www.w3.org/2005/Atom}"


def atom_gold(data: bytes) -> list[Gold]:
    root = etree.fromstring(data)
    gold = []
    for n, entry in enumerate(root.iter(f"{ATOM}entry"), 1):
        title = entry.find(f"{ATOM}title")
        title_text = title.text or ""
        if title.get("type") == "html":
            title_text = html.unescape(re.sub(r"<[^>]*>", " ", title_text))
        link = next((a.get("href") for a in entry.iter(f"{ATOM}link") if a.get("rel", "alternate") == "alternate"), None)
        date = entry.findtext(f"{ATOM}published") or entry.findtext(f"{ATOM}updated")
        content = entry.find(f"{ATOM}content")
        body = content.text or "" if content is not None else entry.findtext(f"{ATOM}summary") or ""
        gold.append(Gold(n, " ".join(title_text.split()), date, link, entry.findtext(f"{ATOM}author/{ATOM}name"),
                         html_text(body) if content is None or content.get("type") == "html" else body))
    return gold


def rss_gold(data: bytes) -> list[Gold]:
    root = etree.fromstring(data)
    content = "{http://purl.org/rss/1.0/modules/content/}encoded"
    return [Gold(n, item.findtext("title"), item.findtext("pubDate"), item.findtext("link") or permalink(item),
                 item.findtext("{http://purl.org/dc/elements/1.1/}creator"),
                 html_text(item.findtext(content) or item.findtext("description") or ""))
            for n, item in enumerate(root.iter("item"), 1)]


def permalink(item: etree._Element) -> str | None:
    """RSS 2.0: a <guid> is the item's permalink unless isPermaLink="false"."""
    guid = item.find("guid")
    return guid.text.strip() if guid is not None and guid.text and guid.get("isPermaLink") != "false" else None


RSS1 = "{http://purl.org/rss/1.0/}"


def rdf_gold(data: bytes) -> list[Gold]:
    root = etree.fromstring(data)
    return [Gold(n, item.findtext(f"{RSS1}title"), None, item.findtext(f"{RSS1}link"), None,
                 " ".join((item.findtext(f"{RSS1}description") or "").split()))
            for n, item in enumerate(root.iter(f"{RSS1}item"), 1)]


def csv_gold(data: bytes) -> list[Gold]:
    rows = csv.DictReader(io.StringIO(data.decode("utf-8"), newline=""))
    return [Gold(n, row["title"], None, row["url"], row["authors"] or None, row["content"])
            for n, row in enumerate(rows, 1)]


SOURCES = [
    Source("WordPress theme unit test (WXR)", FIXTURES / "wordpress-importer" / "theme-unit-test-data-excerpt.xml",
           ("WordPress+wordpress-importer", "phpunit/data/theme-unit-test-data.xml"), wxr_gold),
    Source("OCR-D news (Atom)", FIXTURES / "ocr-d-website" / "feed.xml",
           ("OCR-D+ocrd-website", "docs/feed.xml"), atom_gold),
    Source("WordPress.org News (RSS 2.0)", FIXTURES / "wordpress-develop" / "wordpress-org-news-excerpt.xml",
           ("", ""), rss_gold),
    Source("RSS 2.0 specification's sample (Liftoff News)", FIXTURES / "rust-syndication-rss" / "rss2sample.xml",
           ("rust-syndication+rss", "tests/data/rss2sample.xml"), rss_gold),
    Source("RSS 1.0 spec example (RDF)", FIXTURES / "mozilla-comm-central" / "rss_7_1.rdf",
           ("", ""), rdf_gold),
    Source("FakeNewsCorpus sample (CSV)", FIXTURES / "fakenewscorpus" / "news_sample-excerpt.csv",
           ("several27+FakeNewsCorpus", "news_sample.csv"), csv_gold),
]


def source_bytes(source: Source, full: bool) -> tuple[bytes, str]:
    """The file's bytes and where they came from."""
    repo, path = source.full
    if full and repo:
        git_dir = next((p for p in (MIRROR / repo / "repo", MIRROR / repo / "repo" / ".git") if (p / "HEAD").exists()), None)
        if git_dir is not None:
            data = subprocess.run(["git", "--git-dir", str(git_dir), "show", f"HEAD:{path}"],
                                  capture_output=True, check=True).stdout
            return data, f"{repo.replace('+', '/')}:{path}"
    return source.fixture.read_bytes(), str(source.fixture.relative_to(REPO))


def outputs(data: bytes, name: str, cleaning: bool = True) -> dict[int, dict]:
    """The documents (kept and duplicates) of one file, by record number; without
    `cleaning`, the artefact rules and learned boilerplate are switched off."""
    config = load_config()
    if not cleaning:
        clean = config.clean.model_copy(update={
            "rules": [rule.model_copy(update={"enabled": False}) for rule in config.clean.rules],
            "boilerplate": config.clean.boilerplate.model_copy(update={"enabled": False})})
        config = config.model_copy(update={"clean": clean})
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        run([str(path)], Path(tmp) / "out", config)
        found = {}
        for part in ("documents.jsonl", "duplicates.jsonl"):
            for line in (Path(tmp) / "out" / part).read_text(encoding="utf-8").splitlines():
                doc = json.loads(line)
                found[int(doc["source"].rsplit("#", 1)[1])] = doc
        return found


def same_date(gold: str, created: str | None) -> bool:
    if not created:
        return False
    a, b = date_parser.parse(gold), date_parser.parse(created)
    if a.tzinfo and b.tzinfo:
        return a == b
    return a.date() == b.date() if len(created) == 10 else a.replace(tzinfo=None) == b.replace(tzinfo=None)


def same_author(gold: str, author: object) -> bool:
    if isinstance(author, list):
        return gold in author or ", ".join(map(str, author)) == gold
    return author == gold


def recall(gold: str, text: str) -> float | None:
    true = shingles(gold)
    if not true:
        return None
    return sum((true & shingles(text)).values()) / sum(true.values())


def score(source: Source, full: bool) -> Iterator[str]:
    data, origin = source_bytes(source, full)
    gold = source.gold(data)
    docs = outputs(data, Path(source.fixture).name)
    unlearned = outputs(data, Path(source.fixture).name, cleaning=False)
    with_text = [g for g in gold if shingles(g.text)]
    hits = {"title": [], "date": [], "url": [], "author": []}
    recalls: list[float] = []  # the default run's
    read_recalls: list[float] = []  # without cleaning: what reading and extraction keep
    wrong: list[str] = []
    for g in with_text:
        doc = docs.get(g.n)
        meta = doc["metadata"] if doc else {}
        checks = {
            "title": (g.title, lambda: " ".join((meta.get("title") or "").split()) == " ".join(html.unescape(g.title).split())),
            "date": (g.date, lambda: same_date(g.date, doc["created"])),
            "url": (g.url, lambda: meta.get("url") == g.url),
            "author": (g.author, lambda: same_author(g.author, meta.get("author"))),
        }
        for name, (expected, check) in checks.items():
            if expected:
                ok = bool(doc) and check()
                hits[name].append(ok)
                if not ok:
                    wrong.append(f"#{g.n} {name}: expected {expected!r}, got "
                                 f"{(doc['created'] if name == 'date' else meta.get(name)) if doc else 'no document'!r}")
        recalls.append(recall(g.text, doc["text"]) if doc else 0.0)
        r = recall(g.text, unlearned[g.n]["text"]) if g.n in unlearned else 0.0
        read_recalls.append(r)
        if r < TARGETS["recall"]:
            wrong.append(f"#{g.n} recall {r:.3f} (read and extracted)")

    def share(values: list[bool]) -> str:
        return f"{sum(values) / len(values):.3f}" if values else "n/a"

    def mean(values: list[float]) -> str:
        return f"{sum(values) / len(values):.3f}" if values else "n/a"

    yield (f"| {source.name} | `{origin}` | {len(gold)} | {len(gold) - len(with_text)} | {share(hits['title'])} | "
           f"{share(hits['date'])} | {share(hits['url'])} | {share(hits['author'])} | {mean(read_recalls)} | "
           f"{min(read_recalls) if read_recalls else 'n/a':.3f} | {mean(recalls)} |")
    for line in wrong:
        yield f"  {line}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="whole files from the fetched repositories in /work/.mirror")
    args = parser.parse_args(argv)
    print("| source | file | items | without text | title | date | url | author | recall (mean) | recall (min) "
          "| recall after cleaning (mean) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    misses = []
    for source in SOURCES:
        row, *wrong = score(source, args.full)
        print(row)
        misses.extend(f"{source.name}: {line.strip()}" for line in wrong)
    if misses:
        print("\nMisses:")
        print("\n".join(misses))
    return 0


if __name__ == "__main__":
    sys.exit(main())
