"""Tests for ingest/read/wxr.py: WordPress exports, item by item, streamed and safe."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from ingest.clean.record import prepare_record
from ingest.config import ReadConfig, load_config
from ingest.document import RawRecord, Reject, Skipped
from ingest.read.files import InputFile
from ingest.read.records import read_records
from tests.samples import ARTICLE, PARAGRAPHS, REAL_WXR, wxr_bytes, wxr_item

CONFIG_FULL = load_config()
CONFIG = CONFIG_FULL.read


def read(path: Path, data: bytes | None = None, config: ReadConfig = CONFIG) -> list:
    if data is not None:
        path.write_bytes(data)
    return list(read_records(InputFile(str(path), path.name, path.stat().st_size), config))


def line_of(data: bytes, part: bytes) -> int:
    return data[: data.index(part)].count(b"\n") + 1


def test_posts_and_pages_are_records_with_their_fields_and_other_types_are_skipped(tmp_path: Path) -> None:
    items = read(tmp_path / "export.xml", wxr_bytes(
        wxr_item("Ferry &amp; timetable", "\n\n".join(PARAGRAPHS), link="https://harbour.example/ferry/",
                 categories=("Local",), tags=("ferries", "council")),
        wxr_item("logo", "", post_type="attachment"),
        wxr_item("About", "<p>Who we are.</p>", post_type="page", link="https://harbour.example/about/"),
        wxr_item("Home", "", post_type="nav_menu_item"),
        wxr_item("Ferry (old)", "old text", post_type="revision"),
    ))

    assert [type(i).__name__ for i in items] == ["RawRecord", "Skipped", "RawRecord", "Skipped", "Skipped"]
    post, page = items[0], items[2]
    assert (post.source, post.record_no, post.format, post.data) == ("export.xml#1", 1, "html-fragment", ARTICLE)
    meta = post.metadata  # the item's own fields; the convention set `wxr` names the standard ones
    assert (meta["title"], meta["link"], meta["dc:creator"], meta["wp:post_date_gmt"]) == (
        "Ferry & timetable", "https://harbour.example/ferry/", "jane", "2016-01-10T23:49:44Z")
    assert (meta["categories"], meta["tags"], meta["wp:status"]) == (["Local"], ["ferries", "council"], "publish")
    assert meta["postmeta"] == {"subtitle": "A subtitle"}  # "_edit_last" is WordPress's own
    assert (meta["site_url"], meta["input_format"]) == ("https://harbour.example", "wxr")
    assert "content:encoded" not in meta
    assert (page.metadata["wp:post_type"], page.data) == ("page", "<p>Who we are.</p>")
    assert [(s.source, s.kind) for s in items if isinstance(s, Skipped)] == [
        ("export.xml#2", "wxr:attachment"), ("export.xml#4", "wxr:nav_menu_item"), ("export.xml#5", "wxr:revision")]


def test_a_draft_without_a_gmt_date_takes_the_pubdate(tmp_path: Path) -> None:
    (record,) = read(tmp_path / "e.xml", wxr_bytes(wxr_item("Draft", "Words.", status="draft",
                                                              date_gmt="0000-00-00 00:00:00")))
    assert "wp:post_date_gmt" not in record.metadata
    assert record.metadata["wp:status"] == "draft"
    row = prepare_record(record, CONFIG_FULL)
    assert (row["created"], row["metadata"]["draft"]) == ("2016-01-10T23:49:44+00:00", True)


def test_the_gmt_date_wins_over_a_later_pubdate(tmp_path: Path) -> None:
    """WordPress's theme unit test export gives some posts a pubDate a day after their
    post date (the time they were imported): the post's own date is the GMT one, though
    Astro's and Eleventy's convention names a `pubDate` first."""
    (record,) = read(tmp_path / "e.xml", wxr_bytes(wxr_item("T", "Words.", date_gmt="2018-11-01 07:10:43")).replace(
        b"Sun, 10 Jan 2016 23:49:44 +0000", b"Fri, 02 Nov 2018 16:20:28 +0000"))
    assert record.metadata["pubDate"] == "Fri, 02 Nov 2018 16:20:28 +0000"
    assert prepare_record(record, CONFIG_FULL)["created"] == "2018-11-01T07:10:43+00:00"


def test_an_export_under_https_namespaces_is_read_by_its_prefixes(tmp_path: Path) -> None:
    # WordPress.com writes xmlns:wp="https://wordpress.org/export/1.2/".
    (record,) = read(tmp_path / "e.xml", wxr_bytes(wxr_item("T", "Words."), namespace="https://wordpress.org/export/1.2/"))
    assert isinstance(record, RawRecord) and record.metadata["wp:post_type"] == "post"


def test_an_item_without_content_is_rejected_and_the_others_are_kept(tmp_path: Path) -> None:
    data = wxr_bytes(wxr_item("One", "First."), wxr_item("Empty", ""), wxr_item("Three", "Third."))
    items = read(tmp_path / "e.xml", data)
    assert [type(i).__name__ for i in items] == ["RawRecord", "Reject", "RawRecord"]
    line = line_of(data, b"<title>Empty")
    assert (items[1].error, items[1].reason) == (
        "EmptyRecord", f'e.xml#2: item 2 (line {line}) has an empty "content:encoded" field')


def test_malformed_xml_is_one_reject_naming_its_line_and_the_items_after_it_are_kept(tmp_path: Path) -> None:
    broken = wxr_item("Fish & chips", "Second.").replace("<![CDATA[jane]]>", "jane")  # a bare "&" in a title
    data = wxr_bytes(wxr_item("One", "First."), broken, wxr_item("Three", "Third."))
    items = read(tmp_path / "e.xml", data)

    records = [i for i in items if isinstance(i, RawRecord)]
    assert [r.data for r in records] == ["First.", "Second.", "Third."]
    (reject,) = [i for i in items if isinstance(i, Reject)]
    assert reject.error == "MalformedXML"
    assert reject.reason.startswith(f"e.xml: the XML is malformed at line {line_of(data, b'Fish &')}: xmlParseEntityRef")


def test_a_truncated_export_keeps_the_items_before_the_cut(tmp_path: Path) -> None:
    data = wxr_bytes(wxr_item("One", "First."), wxr_item("Two", "Second."))
    items = read(tmp_path / "e.xml", data[: data.index(b"<item>", data.index(b"</item>")) + 40])
    assert [i.data for i in items if isinstance(i, RawRecord)][:1] == ["First."]
    assert any(isinstance(i, Reject) and i.error == "MalformedXML" for i in items)


def test_external_entities_are_never_fetched_nor_entities_expanded(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET")
    doctype = (f'<!DOCTYPE rss [<!ENTITY x SYSTEM "file://{secret}">'
               '<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
               '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>\n')
    data = wxr_bytes(wxr_item("T &x; &d;", "Body."))
    data = data.replace(b"<rss", doctype.encode() + b"<rss", 1)
    (record,) = [i for i in read(tmp_path / "e.xml", data) if isinstance(i, RawRecord)]
    assert record.metadata["title"] == "T &x; &d;"  # the references, as written


def test_an_item_larger_than_max_record_bytes_is_rejected_alone(tmp_path: Path) -> None:
    config = CONFIG.model_copy(update={"max_record_bytes": 1000})
    items = read(tmp_path / "e.xml", wxr_bytes(wxr_item("Big", "word " * 400), wxr_item("Small", "Fine.")), config)
    assert [(type(i).__name__, getattr(i, "error", None)) for i in items] == [("Reject", "TooLarge"), ("RawRecord", None)]


def test_an_export_without_items_is_empty(tmp_path: Path) -> None:
    (reject,) = read(tmp_path / "e.xml", wxr_bytes())
    assert (reject.error, reject.reason) == ("EmptyFile", "e.xml: the WordPress export holds no items")


def test_the_real_theme_unit_test_export(tmp_path: Path) -> None:
    items = read(REAL_WXR)
    kinds = Counter(i.kind if isinstance(i, Skipped) else type(i).__name__ for i in items)
    assert kinds == {"RawRecord": 17, "wxr:attachment": 3, "wxr:nav_menu_item": 3}
    first = prepare_record(items[0], CONFIG_FULL)
    assert (first["metadata"]["title"], first["created"], first["metadata"]["author"]) == (
        "WP 6.1 Font size scale", "2023-01-16T07:08:31+00:00", "themereviewteam")
    assert first["metadata"]["url"] == "https://wpthemetestdata.wordpress.com/wp-6-1-font-size-scale/"


def test_a_nesting_bomb_is_refused_by_libxml2s_depth_limit(tmp_path: Path) -> None:
    deep = "<wp:x>" * 100_000 + "x" + "</wp:x>" * 100_000
    bomb = wxr_item("Deep", "Words.").replace("<title>Deep</title>", "<title>Deep</title>" + deep)
    items = read(tmp_path / "e.xml", wxr_bytes(wxr_item("One", "First."), bomb))
    assert items[0].data == "First."
    assert [i.reason for i in items if isinstance(i, Reject) and i.error == "MalformedXML"] == [
        "e.xml: the XML is malformed at line 8: Excessive depth in document: 256, use XML_PARSE_HUGE option;"
        " the items around it were read as libxml2 recovered them"]
