"""Tests for ingest/read/formats.py on the export, feed and table formats: by extension
and by content."""

from __future__ import annotations

import io

import pytest

from ingest.read.formats import content_format, sniff
from tests.samples import wxr_bytes, wxr_item

WXR = wxr_bytes(wxr_item("T", "Words."))
RSS = b'<?xml version="1.0"?>\n<rss version="2.0"><channel><item><title>T</title></item></channel></rss>'
ATOM = b'<?xml version="1.0" encoding="utf-8"?>\n<!-- c --><feed xmlns="http://www.w3.org/2005/Atom"></feed>'
RDF = b'<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"></rdf:RDF>'
XHTML = b"<?xml version='1.0'?>\n<html xmlns='http://www.w3.org/1999/xhtml'><body><p>x</p></body></html>"
PARQUET = b"PAR1\x15\x04\x15\x10\x15\x14L\x15\x02\x15\x00\x12\x00\x00\x08\x1c"
COLUMNS = ("text", "content")


def fmt(name: str, data: bytes) -> str | None:
    return content_format(name, sniff(io.BufferedReader(io.BytesIO(data))), COLUMNS)


@pytest.mark.parametrize(("name", "data", "expected"), [
    ("export.xml", WXR, "wxr"),
    ("export.rss", WXR, "wxr"),  # WXR is RSS: the wp: namespace tells
    ("noext", WXR, "wxr"),
    ("feed.xml", RSS, "feed"),
    ("noext", RSS, "feed"),
    ("index.atom", ATOM, "feed"),
    ("noext", ATOM, "feed"),
    ("news.rdf", RDF, "feed"),
    ("noext", RDF, "feed"),
    ("page.xml", XHTML, "html"),
    ("notes.xml", b"just words\n", "text"),
    ("odd.rss", b"not xml at all\n", "feed"),  # the feed reader says what is wrong
    ("t.csv", b"a,b\n1,2\n", "csv"),
    ("t.tsv", b"a\tb\n1\t2\n", "tsv"),
    ("t.tab", b"a\tb\n1\t2\n", "tsv"),
    ("t.txt", b"id,title,Content\n1,T,Words\n", "csv"),
    ("t.txt", b"id\ttext\n1\tWords\n", "csv"),
    ("t.txt", b"Dear reader, text is here.\n", "text"),
    ("t.parquet", b"not really parquet", "parquet"),
    ("noext", PARQUET, "parquet"),
    ("CC-MAIN-1.warc.wet", b"WARC/1.0\r\n", "warc"),
    ("x.wet", b"garbage", "warc"),
    # Hugo and Jekyll content files written as HTML, with front matter: read as posts.
    ("gnupg-2-1-8.html", b'+++\ndate = "2015-09-11T21:36:43+09:00"\ntitle = "GnuPG"\n+++\n<p>x</p>', "markdown"),
    ("post.html", b"+++\n[author]\nname = 'A'\n+++\n<p>x</p>", "markdown"),
    ("post.html", b"---\nlayout: post\n---\n<p>x</p>", "markdown"),
    ("page.html", b"<p>---\nnot: front matter</p>", "html"),
    ("page.html", b"+++ big news +++\n<p>x</p>", "html"),
    ("noext", b'+++\ntitle = "T"\n+++\nWords.', "markdown"),
])
def test_formats_by_extension_and_content(name: str, data: bytes, expected: str) -> None:
    assert fmt(name, data) == expected
