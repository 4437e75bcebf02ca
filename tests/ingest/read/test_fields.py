"""Tests for ingest/read/fields.py: scrapers' JSON lines by the names `[read.jsonl]` lists."""

from __future__ import annotations

import json
from pathlib import Path

from ingest.config import load_config
from ingest.read.files import InputFile
from ingest.read.records import read_records

CONFIG = load_config().read

# news-please's schema (https://github.com/fhamborg/news-please, its README's sample output).
NEWS_PLEASE = {
    "authors": ["Jane Doe"], "date_download": "2024-04-15 08:00:00", "date_modify": "2024-04-14 12:00:00",
    "date_publish": "2024-04-14 09:30:00", "description": "The council approved a timetable.",
    "filename": "https%3A%2F%2Fharbour.example%2Fferry.json", "image_url": "https://harbour.example/ferry.jpg",
    "language": "en", "localpath": None, "maintext": "The harbour council approved a new ferry timetable.",
    "source_domain": "harbour.example", "title": "Ferry timetable approved", "title_page": None,
    "title_rss": None, "url": "https://harbour.example/ferry",
}


def read(path: Path, *objs: dict) -> list:
    path.write_text("".join(json.dumps(o) + "\n" for o in objs))
    return list(read_records(InputFile(str(path), path.name, path.stat().st_size), CONFIG))


def test_news_please_lines(tmp_path: Path) -> None:
    (record,) = read(tmp_path / "np.jsonl", NEWS_PLEASE)
    assert (record.format, record.data) == ("text", NEWS_PLEASE["maintext"])
    meta = record.metadata
    assert (meta["title"], meta["created"], meta["url"], meta["author"]) == (
        "Ferry timetable approved", "2024-04-14 09:30:00", "https://harbour.example/ferry", ["Jane Doe"])
    assert meta["date_modify"] == "2024-04-14 12:00:00" and "maintext" not in meta


def test_other_scrapers_field_names(tmp_path: Path) -> None:
    content, body, html, pub = read(
        tmp_path / "s.jsonl",
        {"content": "Plain words.", "published_at": "2024-01-02T03:04:05Z", "headline": "H"},
        {"body": "Body words.", "pubDate": "Tue, 02 Jan 2024 03:04:05 GMT"},
        {"html": "<html><body><article><p>Page words.</p></article></body></html>", "link": "https://e.example/p"},
        {"article": "<p>First.</p><p>Second.</p>", "Title": "Any case"},
    )
    assert (content.data, content.metadata["created"], content.metadata["title"]) == ("Plain words.", "2024-01-02T03:04:05Z", "H")
    assert (body.data, body.metadata["created"]) == ("Body words.", "Tue, 02 Jan 2024 03:04:05 GMT")
    assert (html.format, html.metadata["url"]) == ("html", "https://e.example/p")
    # A text field holding markup is read as an HTML fragment; names match in any case.
    assert (pub.format, pub.metadata["title"]) == ("html-fragment", "Any case")


def test_the_records_own_standard_fields_win(tmp_path: Path) -> None:
    (record,) = read(tmp_path / "s.jsonl", {"text": "T.", "title": "Own", "headline": "Other", "created": "2020-01-01",
                                          "date_publish": "2021-01-01"})
    assert (record.metadata["title"], record.metadata["created"]) == ("Own", "2020-01-01")


def test_a_line_without_any_listed_body_names_them(tmp_path: Path) -> None:
    (reject,) = read(tmp_path / "s.jsonl", {"title": "only"})
    assert reject.error == "MissingText"
    assert reject.reason.startswith('s.jsonl#1: line 1 has no string "text", "maintext", "content"')


def test_angle_brackets_of_plain_text_are_not_markup(tmp_path: Path) -> None:
    # Reuters writes tickers so; a record of this project's own schema must read as before.
    ticker, html = read(tmp_path / "s.jsonl", {"text": "Phillips Petroleum Co <P> said on Monday."},
                        {"text": "<p>One.</p><p>Two.</p>"})
    assert (ticker.format, html.format) == ("text", "html-fragment")
