"""Inputs that tests in several packages build: articles, HTML pages, WARC files,
texts of known similarity, and the hostile dump (every kind of bad input)."""

from __future__ import annotations

import gzip
import io
import json
import os
import random
import shutil
from pathlib import Path

import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

PARAGRAPHS = [
    "The harbour council approved a new ferry timetable on Tuesday after months of debate among residents.",
    "Under the plan, boats will leave every forty minutes in summer and every hour in winter, the council said.",
    "Local traders welcomed the decision, saying the old timetable had kept visitors away from the island market.",
    "The first ferries under the new schedule are expected to sail at the start of next month, weather permitting.",
]
ARTICLE = "\n\n".join(PARAGRAPHS)


def html_page(title: str, body: str) -> str:
    paras = "".join(f"<p>{p}</p>" for p in body.split("\n\n"))
    return (
        f"<!DOCTYPE html><html><head><title>{title}</title>"
        f'<meta name="author" content="Jane Doe"><meta property="article:published_time" content="2024-05-02">'
        f"</head><body><nav><a href='/'>Home</a> <a href='/news'>News</a></nav>"
        f"<article><h1>{title}</h1>{paras}</article><footer>© Harbour Times</footer></body></html>"
    )


def warc_bytes(records: list[tuple[str, ...]], *, gzip_records: bool = False, warcinfo: bool = False) -> bytes:
    """A WARC file of `("response", url, body, content type)` and `("request", url)` records,
    in order, after a warcinfo record if asked."""
    buf = io.BytesIO()
    writer = WARCWriter(buf, gzip=gzip_records)
    if warcinfo:
        writer.write_record(writer.create_warcinfo_record("crawl.warc", {"software": "test"}))
    for kind, url, *rest in records:
        if kind == "request":
            host = url.split("/")[2]
            headers = StatusAndHeaders(f"GET /{url.split('/', 3)[3]} HTTP/1.1", [("Host", host)], is_http_request=True)
            payload = b""
        else:
            body, content_type = rest
            headers = StatusAndHeaders("200 OK", [("Content-Type", content_type)], protocol="HTTP/1.1")
            payload = body.encode() if isinstance(body, str) else body
        writer.write_record(writer.create_warc_record(url, kind, payload=io.BytesIO(payload), http_headers=headers))
    return buf.getvalue()


# ------------------------------------------------------------- texts of known similarity

WORDS = (
    "government minister river harbour council budget school railway election court museum "
    "festival hospital factory market weather storm bridge village airport farmers police "
    "university orchestra library volcano treaty embassy ferry tunnel stadium reservoir"
).split()


def article(seed: int, words: int = 220) -> str:
    """A seeded article of random sentences over WORDS: two seeds share few shingles."""
    rng = random.Random(seed)
    sentences = []
    while sum(len(s.split()) for s in sentences) < words:
        n = rng.randint(8, 18)
        sentences.append(" ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + ".")
    paras = [" ".join(sentences[i : i + 4]) for i in range(0, len(sentences), 4)]
    return "\n\n".join(paras)


def span_text(start: int, words: int = 200) -> str:
    """Words start .. start+words-1 of a sequence of distinct words: two such texts share
    exactly the shingles of their overlap, so with 5-word shingles and 200 words a shift
    of s words gives a Jaccard of (196 - s) / (196 + s): 10 -> 0.90, 20 -> 0.81,
    30 -> 0.73, 40 -> 0.66, 50 -> 0.59, 60 -> 0.53."""
    return " ".join(f"w{i}" for i in range(start, start + words))


# A cluster with branches, as start words of span_text: kept k; b1, b1x (the same text),
# b3 and b2, b2x (the same text) similar to k; c1 similar to b1, b1x and b3 (most to b3),
# not to k; t similar to b2 and b2x equally, not to k; d similar to c1 only; e to nothing.
BRANCHES = {"k": 300, "b1": 330, "b1x": 330, "b3": 340, "b2": 270, "b2x": 270, "c1": 360, "t": 240, "d": 390,
            "e": 10_000}


# ---------------------------------------------------------------------- the hostile dump

# Root reads files whatever their mode: the run drops the capabilities that let it
# (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH), so that a chmod 000 file is unreadable for
# real, as it is for the unprivileged user a service runs as.
_DROP_READ_OVERRIDE = ["setpriv", "--inh-caps=-dac_override,-dac_read_search",
                       "--bounding-set=-dac_override,-dac_read_search"]

HUGE_BYTES = 50 * 2**20


def unprivileged() -> list[str]:
    """The command prefix that runs a process unable to read a chmod 000 file."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv (util-linux): a chmod 000 file cannot be made unreadable")
    return _DROP_READ_OVERRIDE


def gzip_bomb(decompressed_gib: int) -> bytes:
    """One endless line of text, 1000 times smaller compressed: copies of one gzip
    member, which gzip reads as one stream."""
    member = gzip.compress(b"a" * 2**24, compresslevel=9)
    return member * (decompressed_gib * 64)


def build_dump(d: Path) -> dict[str, tuple[str, str]]:
    """The dump; returns file name -> (error class, phrase of its reason) for the bad ones.
    `vanished.txt` is for the caller to delete between discovery and reading."""
    d.mkdir()
    (d / "good.txt").write_text("Ferry timetable approved\n\n" + ARTICLE, encoding="utf-8")
    (d / "page.html").write_text(html_page("Storm closes airport", "Strong winds closed the airport for six hours "
                                           "on Sunday, stranding hundreds of travellers."), encoding="utf-8")
    lines = [json.dumps({"text": f"Feed item {n}: the museum extends its opening hours to nine in the evening."})
             for n in (1, 2, 3)]
    (d / "feed.jsonl").write_text("\n".join([lines[0], '{"text": "cut off', *lines[1:]]) + "\n", encoding="utf-8")
    (d / "image.bin").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8)
    (d / "empty.txt").write_bytes(b"")
    (d / "cut.txt.gz").write_bytes(gzip.compress(ARTICLE.encode() * 20)[:300])
    (d / "undecodable.txt").write_bytes(bytes((n * 37) % 128 + 128 for n in range(4000)))
    with open(d / "huge.txt", "wb") as fh:  # one line of 50 MB
        fh.writelines(b"word " * (2**20 // 5) + b"word" for _ in range(HUGE_BYTES // 2**20))
    (d / "bomb.jsonl.gz").write_bytes(gzip_bomb(1))
    (d / "vanished.txt").write_text(ARTICLE, encoding="utf-8")
    locked = d / "locked.txt"
    locked.write_text(ARTICLE, encoding="utf-8")
    locked.chmod(0)
    os.mkfifo(d / "pipe")
    return {
        "feed.jsonl#2": ("MalformedJSON", "line 2 is not valid JSON"),
        "image.bin": ("BinaryFile", "binary file"),
        "empty.txt": ("EmptyFile", "empty file"),
        "cut.txt.gz": ("TruncatedCompression", "the gzip data ends early (truncated file)"),
        "undecodable.txt": ("DecodeError", "undecodable bytes"),
        "huge.txt": ("TooLarge", "larger than read.max_record_bytes"),
        "bomb.jsonl.gz#1": ("DecompressionBomb", "decompresses to more than read.max_file_bytes"),
        "vanished.txt": ("Unreadable", "cannot open the file (No such file or directory)"),
        "locked.txt": ("Unreadable", "cannot open the file (Permission denied)"),
        "pipe": ("NotAFile", "not a regular file but a FIFO"),
    }


# ------------------------------------------------------------- exports, feeds and tables

FIXTURES = Path(__file__).resolve().parent / "fixtures"
REAL_WXR = FIXTURES / "wordpress-importer" / "theme-unit-test-data-excerpt.xml"
REAL_ATOM = FIXTURES / "ocr-d-website" / "feed.xml"
REAL_RDF = FIXTURES / "mozilla-comm-central" / "rss_7_1.rdf"
REAL_RSS = FIXTURES / "wordpress-develop" / "wordpress-org-news-excerpt.xml"
REAL_CSV = FIXTURES / "fakenewscorpus" / "news_sample-excerpt.csv"


def wxr_item(title: str, content: str, *, post_type: str = "post", status: str = "publish",
             date_gmt: str = "2016-01-10 23:49:44", link: str = "", creator: str = "jane",
             categories: tuple[str, ...] = (), tags: tuple[str, ...] = ()) -> str:
    """One WordPress export <item>, as WordPress writes it (CDATA sections, wp: fields)."""
    terms = "".join(f'<category domain="category" nicename="{c.lower()}"><![CDATA[{c}]]></category>'
                    for c in categories)
    terms += "".join(f'<category domain="post_tag" nicename="{t.lower()}"><![CDATA[{t}]]></category>' for t in tags)
    return (
        f"<item><title>{title}</title><link>{link}</link>"
        f"<pubDate>Sun, 10 Jan 2016 23:49:44 +0000</pubDate><dc:creator><![CDATA[{creator}]]></dc:creator>"
        f"<guid isPermaLink=\"false\">{link}?p=1</guid><description></description>"
        f"<content:encoded><![CDATA[{content}]]></content:encoded><excerpt:encoded><![CDATA[]]></excerpt:encoded>"
        f"<wp:post_id>1</wp:post_id><wp:post_date><![CDATA[2016-01-10 18:49:44]]></wp:post_date>"
        f"<wp:post_date_gmt><![CDATA[{date_gmt}]]></wp:post_date_gmt>"
        f"<wp:status><![CDATA[{status}]]></wp:status><wp:post_type><![CDATA[{post_type}]]></wp:post_type>"
        f"{terms}<wp:postmeta><wp:meta_key><![CDATA[_edit_last]]></wp:meta_key><wp:meta_value><![CDATA[1]]></wp:meta_value></wp:postmeta>"
        f"<wp:postmeta><wp:meta_key><![CDATA[subtitle]]></wp:meta_key><wp:meta_value><![CDATA[A subtitle]]></wp:meta_value></wp:postmeta>"
        "</item>\n"
    )


def wxr_bytes(*items: str, namespace: str = "http://wordpress.org/export/1.2/") -> bytes:
    """A WordPress export (WXR 1.2) of `items`."""
    return (
        '<?xml version="1.0" encoding="UTF-8" ?>\n<!-- generator="WordPress/6.4" -->\n'
        '<rss version="2.0" xmlns:excerpt="http://wordpress.org/export/1.2/excerpt/" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:wfw="http://wellformedweb.org/CommentAPI/" '
        f'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:wp="{namespace}">\n<channel>\n'
        "<title>Harbour Times</title><link>https://harbour.example</link><wp:wxr_version>1.2</wp:wxr_version>\n"
        "<wp:author><wp:author_login><![CDATA[jane]]></wp:author_login></wp:author>\n"
        + "".join(items)
        + "</channel>\n</rss>\n"
    ).encode()
