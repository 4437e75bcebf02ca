"""Stage 1, reading: input files into records, and every problem with them into a reject.

files.py     which files a run reads (folders walked, hidden names skipped)
content.py   a file's content as a bounded, decompressed stream
formats.py   what format the content is in: by extension, else sniffed
records.py   `read_records`: one file into records, by format
fields.py    one item of a multi-record format into a record, by `[read.*]` field names
jsonl.py     JSON lines: one record a line
warc.py      WARC files: one record a response; WET files: one a conversion
wxr.py       WordPress exports: one record a post or page, other items skipped
feeds.py     RSS, Atom and RDF feeds: one record an entry
tables.py    CSV, TSV and Parquet tables: one record a row
problems.py  problems with an input, as the rejects they become
"""
