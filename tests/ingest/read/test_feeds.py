"""Tests for ingest/read/feeds.py: RSS 2.0, Atom and RDF entries through feedparser."""

from __future__ import annotations

from pathlib import Path

from ingest.config import load_config
from ingest.document import RawRecord, Reject
from ingest.read.files import InputFile
from ingest.read.records import read_records
from tests.samples import REAL_ATOM, REAL_RDF, REAL_RSS

CONFIG = load_config().read

RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel><title>Harbour Times</title><link>https://harbour.example/</link>
<item><title>Ferry timetable approved</title><link>https://harbour.example/ferry</link>
<pubDate>Sun, 10 Jan 2016 23:49:44 +0000</pubDate><dc:creator>Jane Doe</dc:creator>
<category>Local</category><category>Transport</category>
<description>Short summary.</description>
<content:encoded><![CDATA[<p>The harbour council approved a timetable.</p><p>Boats leave hourly.</p>]]></content:encoded></item>
<item><title>Summary only</title><link>https://harbour.example/two</link><description>Only a &lt;b&gt;summary&lt;/b&gt; here.</description></item>
<item><title>No body</title><link>https://harbour.example/three</link></item>
</channel></rss>
"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>F</title><link href="https://f.example/"/>
<entry><title type="html">Q&amp;amp;A with the council</title><link href="https://f.example/1"/><id>tag:f,1</id>
<published>2021-08-06T00:00:00+02:00</published><updated>2021-08-07T09:00:00+02:00</updated>
<author><name>Ann Lee</name></author><content type="html">&lt;p&gt;Hello there.&lt;/p&gt;</content></entry>
<entry><title>Updated only</title><link href="https://f.example/2"/><id>tag:f,2</id>
<updated>2021-09-01T10:00:00Z</updated><summary>Plain summary.</summary></entry>
</feed>
"""


def read(path: Path, data: bytes | None = None) -> list:
    if data is not None:
        path.write_bytes(data)
    return list(read_records(InputFile(str(path), path.name, path.stat().st_size), CONFIG))


def test_rss_entries_take_full_content_else_the_summary(tmp_path: Path) -> None:
    first, second, third = read(tmp_path / "news.rss", RSS.encode())

    assert (first.source, first.record_no, first.format) == ("news.rss#1", 1, "html-fragment")
    assert first.data == "<p>The harbour council approved a timetable.</p><p>Boats leave hourly.</p>"
    meta = first.metadata
    assert (meta["title"], meta["url"], meta["author"], meta["created"]) == (
        "Ferry timetable approved", "https://harbour.example/ferry", "Jane Doe", "Sun, 10 Jan 2016 23:49:44 +0000")
    assert (meta["categories"], meta["summary"], meta["feed_title"]) == (["Local", "Transport"], "Short summary.", "Harbour Times")
    assert meta["input_format"] == "feed"
    assert second.data == "Only a <b>summary</b> here."
    assert isinstance(third, Reject)
    assert (third.error, third.reason) == ("MissingText", 'news.rss#3: entry 3 has no string "content" or "summary" field')


def test_atom_entries_published_before_updated_and_html_titles_as_text(tmp_path: Path) -> None:
    first, second = read(tmp_path / "feed.atom", ATOM.encode())
    assert first.metadata["title"] == "Q&A with the council"
    assert (first.metadata["created"], first.metadata["author"]) == ("2021-08-06T00:00:00+02:00", "Ann Lee")
    assert first.data == "<p>Hello there.</p>"
    assert (second.metadata["created"], second.data) == ("2021-09-01T10:00:00Z", "Plain summary.")


def test_a_feed_that_is_not_well_formed_keeps_its_entries_and_rejects_once(tmp_path: Path) -> None:
    broken = RSS.replace("Summary only", "Fish & chips")
    items = read(tmp_path / "news.xml", broken.encode())
    assert [i.metadata["title"] for i in items if isinstance(i, RawRecord)] == [
        "Ferry timetable approved", "Fish & chips"]
    malformed = [i for i in items if isinstance(i, Reject) and i.error == "MalformedXML"]
    line = broken[: broken.index("Fish &")].count("\n") + 1
    assert [r.reason.split(";")[0] for r in malformed] == [
        f"news.xml: the feed is not well-formed XML (line {line}: not well-formed (invalid token))"]


def test_files_that_are_no_feed(tmp_path: Path) -> None:
    (page,) = read(tmp_path / "page.rss", b"<html><body><p>Not a feed.</p></body></html>")
    assert (page.error, page.reason) == ("MalformedFeed", "page.rss: no RSS, Atom or RDF feed found in the file")
    (empty,) = read(tmp_path / "empty.rss", b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title></channel></rss>')
    assert (empty.error, empty.reason) == ("EmptyFile", "empty.rss: the feed has no entries")


def test_external_entities_are_never_fetched(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET")
    data = RSS.replace('<?xml version="1.0" encoding="UTF-8"?>',
                       f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x SYSTEM "file://{secret}">]>')
    data = data.replace("Ferry timetable approved", "Ferry &x;")
    records = [i for i in read(tmp_path / "news.rss", data.encode()) if isinstance(i, RawRecord)]
    assert all("TOP SECRET" not in r.metadata["title"] + r.data for r in records)


def test_the_real_rss_atom_and_rdf_feeds() -> None:
    (news,) = read(REAL_RSS)
    assert (news.metadata["title"], news.metadata["created"], news.metadata["author"]) == (
        "Introducing Learn WordPress", "Tue, 15 Dec 2020 13:00:00 +0000", "Hugh Lashbrooke")
    assert news.metadata["url"] == "https://wordpress.org/news/2020/12/introducing-learn-wordpress/"
    assert news.metadata["categories"] == ["Updates", "learnwordpress", "learnwp"]
    assert "<h2>What can you learn about WordPress?</h2>" in news.data
    atom = read(REAL_ATOM)
    assert len(atom) == 10 and all(isinstance(r, RawRecord) for r in atom)
    assert (atom[0].metadata["title"], atom[0].metadata["created"], atom[0].metadata["url"]) == (
        "OCR-D Phase III started", "2021-08-06T00:00:00+02:00", "https://ocr-d.de/en/2021/08/06/kick-off-phase3.html")
    assert atom[3].metadata["title"] == "OCR(-D) & Co starting in May"
    rdf = read(REAL_RDF)
    assert [(r.metadata["title"], r.metadata["url"]) for r in rdf] == [
        ("Processing Inclusions with XSLT", "http://xml.com/pub/2000/08/09/xslt/xslt.html"),
        ("Putting RDF to Work", "http://xml.com/pub/2000/08/09/rdfdb/index.html")]
    assert rdf[0].metadata["input_format"] == "feed"
