"""ingest: clean raw scraped dumps, link near-duplicates, write clean JSONL."""

__version__ = "0.1.0"
