"""Tests for ingest/read/tables.py: CSV, TSV and Parquet rows, columns found by name."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ingest.config import load_config
from ingest.document import RawRecord, Reject
from ingest.read.files import InputFile
from ingest.read.records import read_records
from tests.samples import REAL_CSV

CONFIG = load_config().read

CSV = (
    'Headline,Body,Published,Link,Section\n'
    '"Ferry timetable approved","The council approved it.\n\nBoats leave hourly.",2016-01-10,https://h.example/1,Local\n'
    '"No text",,2016-01-11,https://h.example/2,Local\n'
    '"Too few cells","Words."\n'
    '\n'
    'Caf\xe9 opens,"A <p>new</p> caf\xe9.",2016-01-12,https://h.example/3,Food\n'
)


def read(path: Path, data: bytes | None = None, config=CONFIG) -> list:
    if data is not None:
        path.write_bytes(data)
    return list(read_records(InputFile(str(path), path.name, path.stat().st_size), config))


def test_csv_rows_by_column_names_any_case_other_columns_kept(tmp_path: Path) -> None:
    config = CONFIG.model_copy(update={"table": CONFIG.table.model_copy(update={"title": ["headline"], "text": ["body"]})})
    first, no_text, short, cafe = read(tmp_path / "news.csv", CSV.encode(), config)

    assert (first.source, first.record_no, first.format) == ("news.csv#1", 1, "text")
    assert first.data == "The council approved it.\n\nBoats leave hourly."
    assert first.metadata == {
        "Headline": "Ferry timetable approved", "Published": "2016-01-10", "Link": "https://h.example/1",
        "Section": "Local", "title": "Ferry timetable approved", "created": "2016-01-10",
        "url": "https://h.example/1", "input_format": "csv"}
    assert (no_text.error, no_text.reason) == ("EmptyRecord", 'news.csv#2: row 2 (line 5) has an empty "Body" field')
    assert (short.error, short.reason) == ("MalformedCSV", "news.csv#3: row 3 (line 6) has 2 cells, the header 5")
    assert (cafe.source, cafe.format, cafe.metadata["title"]) == ("news.csv#4", "html-fragment", "Café opens")


def test_tsv_and_sniffed_delimiters(tmp_path: Path) -> None:
    (tsv,) = read(tmp_path / "a.tsv", b"title\ttext\nT\tWords, with a comma.\n")
    assert (tsv.metadata["title"], tsv.data) == ("T", "Words, with a comma.")
    (semi,) = read(tmp_path / "b.csv", b"title;text;date\nT;Words here.;2020-01-01\n")
    assert (semi.metadata["created"], semi.data) == ("2020-01-01", "Words here.")


def test_a_table_is_sniffed_by_a_header_naming_a_text_column(tmp_path: Path) -> None:
    (row,) = read(tmp_path / "export.txt", b"id,title,content\n7,T,The words.\n")
    assert (row.metadata["input_format"], row.data, row.metadata["id"]) == ("csv", "The words.", "7")
    (plain,) = read(tmp_path / "notes.txt", b"We met, talked, and left.\nThe end.\n")
    assert plain.format == "text"


def test_a_row_that_is_not_utf8_is_rejected_alone(tmp_path: Path) -> None:
    data = b"title,text\nOne,First.\nTwo,Caf\xe9 in latin-1.\nThree,Third.\n"
    items = read(tmp_path / "t.csv", data)
    assert [getattr(i, "data", None) for i in items] == ["First.", None, "Third."]
    assert (items[1].error, items[1].reason) == ("DecodeError", "t.csv#2: row 2 (line 3) is not valid UTF-8 (invalid continuation byte)")


# A scraper's export: quoted multi-line article texts, one of them cut off after its
# opening quote (the closing quote and the rest of the cell lost in the crawl).
SCRAPED = (
    'id,title,published,url,content\n'
    '101,Council approves ferry timetable,2019-03-04,https://news.example/101,'
    '"The council approved the new timetable on Monday.\n\n""Boats will leave hourly,"" the mayor said."\n'
    '102,Harbour bridge to close for repairs,2019-03-05,https://news.example/102,'
    '"The bridge closes on 12 March.\n'
    '103,Library extends opening hours,2019-03-06,https://news.example/103,'
    '"From April the library opens until 9 pm.\n\nStaff, volunteers and readers welcomed it."\n'
    '104,School wins robotics prize,2019-03-07,https://news.example/104,Pupils built a boat-sorting robot.\n'
)


def test_an_unterminated_quote_rejects_its_line_and_the_rows_after_it_are_read(tmp_path: Path) -> None:
    items = read(tmp_path / "scraped.csv", SCRAPED.encode())

    assert [getattr(i, "source", None) for i in items] == [f"scraped.csv#{n}" for n in (1, 2, 3, 4)]
    first, bad, library, school = items
    assert first.data == 'The council approved the new timetable on Monday.\n\n"Boats will leave hourly," the mayor said.'
    assert (bad.error, bad.record_no) == ("MalformedCSV", 2)
    assert bad.reason == (
        "scraped.csv#2: row 2 (line 5): a quote opened there is never closed (',' expected after '\"' at "
        "line 6); the line is rejected, reading goes on at line 6")
    assert (library.metadata["title"], library.data) == (
        "Library extends opening hours", "From April the library opens until 9 pm.\n\nStaff, volunteers and readers welcomed it.")
    assert (school.metadata["url"], school.data) == ("https://news.example/104", "Pupils built a boat-sorting robot.")


def test_an_unterminated_quote_that_runs_to_the_end_rejects_its_line_only(tmp_path: Path) -> None:
    items = read(tmp_path / "t.csv", b'title,text,url\nOne,First.,u1\nTwo,"never closed,u2\nThree,Third.,u3\n')
    assert [getattr(i, "data", None) for i in items] == ["First.", None, "Third."]
    assert (items[1].error, items[1].record_no) == ("MalformedCSV", 2)
    assert "(unexpected end of data at line 4)" in items[1].reason


def test_a_stray_quote_inside_a_one_line_cell_is_read_as_before(tmp_path: Path) -> None:
    (row,) = read(tmp_path / "t.csv", b'title,text\nOne,"Hello" world\n')
    assert row.data == "Hello world"


def test_a_quoted_cell_over_several_lines_is_one_row(tmp_path: Path) -> None:
    (row,) = read(tmp_path / "t.csv", b'title,text\nOne,"Line one,\n\nline two ""quoted""."\n')
    assert row.data == 'Line one,\n\nline two "quoted".'


def test_a_field_longer_than_max_record_bytes_stops_with_a_reject(tmp_path: Path) -> None:
    config = CONFIG.model_copy(update={"max_record_bytes": 100})
    items = read(tmp_path / "t.csv", b"title,text\nOne,First.\nTwo," + b"x" * 200 + b"\n", config)
    assert items[0].data == "First."
    assert (items[1].error, items[1].record_no) == ("MalformedCSV", 2)
    assert "field larger than field limit (100)" in items[1].reason


def test_header_only_and_empty_tables(tmp_path: Path) -> None:
    (header_only,) = read(tmp_path / "h.csv", b"title,text\n")
    assert (header_only.error, header_only.reason) == ("EmptyFile", "h.csv: the table has a header but no rows")


def test_parquet_rows_in_batches_values_made_json_safe(tmp_path: Path) -> None:
    table = pa.table({
        "title": ["One", "Two", "Three"],
        "maintext": ["First text.", None, "Third text."],
        "date_publish": [dt.datetime(2020, 1, 2, 3, 4, 5), dt.datetime(2020, 1, 3), dt.datetime(2020, 1, 4)],
        "score": [1.5, 2.0, 3.0],
        "raw": [b"bytes", b"more", b"\xff"],
    })
    pq.write_table(table, tmp_path / "t.parquet", row_group_size=2)
    config = CONFIG.model_copy(update={"table_batch_rows": 1})
    one, two, three = read(tmp_path / "t.parquet", config=config)

    assert (one.source, one.data, one.format) == ("t.parquet#1", "First text.", "text")
    assert one.metadata == {"title": "One", "date_publish": "2020-01-02T03:04:05", "score": 1.5, "raw": "bytes",
                            "created": "2020-01-02T03:04:05", "input_format": "parquet"}
    assert (two.error, two.reason) == ("MissingText", two.reason)
    assert two.reason.startswith('t.parquet#2: row 2 has no string "text"')
    assert (three.data, three.metadata["raw"]) == ("Third text.", "\ufffd")


def test_a_parquet_file_is_sniffed_by_its_magic_and_a_corrupt_one_rejected(tmp_path: Path) -> None:
    pq.write_table(pa.table({"text": ["Words."]}), tmp_path / "t.parquet")
    data = (tmp_path / "t.parquet").read_bytes()
    (row,) = read(tmp_path / "noext", data)
    assert row.data == "Words."
    (bad,) = read(tmp_path / "bad.parquet", data[:20] + data[40:])
    assert bad.error == "MalformedParquet" and bad.reason.startswith("bad.parquet#1: reading stopped at row 1: not a readable Parquet file")


def test_the_real_fakenewscorpus_sample() -> None:
    rows = read(REAL_CSV)
    assert len(rows) == 20 and all(isinstance(r, RawRecord) for r in rows)
    first = rows[0]
    assert first.metadata["title"] == "Church Congregation Brings Gift to Waitresses Working on Christmas Eve, Has Them Crying (video)"
    assert (first.metadata["url"], first.metadata["author"], first.metadata["domain"]) == (
        "http://awm.com/church-congregation-brings-gift-to-waitresses-working-on-christmas-eve-has-them-crying-video/",
        "Ruth Harris", "awm.com")
    assert first.data.startswith("Sometimes the power of Christmas will make you do wild and wonderful things.")
    assert "column_1" in first.metadata  # the unnamed index column
    assert not any(isinstance(r, Reject) for r in rows)
