"""The persistent near-duplicate index in a folder (`--state DIR`), embedded in SQLite.

Per indexed document it keeps the LSH band keys (not the MinHash signature), what
the keep policy needs (created, added, length, source), the decision taken (the
cluster's kept document, the document it was verified against and their similarity),
and the clean text compressed with zstd, so that a candidate from an earlier run is
verified on its words like any other. A run's additions are written in one
transaction at its end: a run that crashes leaves the index exactly as it was.

Format 2 added `duplicate_of`; a format 1 index is migrated in place when opened (the
new column is empty, which means the kept document: what format 1 reported).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path

import zstandard

from ingest.config import DedupConfig
from ingest.dedup.prior import IndexedDocument
from ingest.index.format import FORMAT_VERSION, StateError, check_settings, index_settings, stored_link

DB_NAME = "index.sqlite"


class StateIndex:
    def __init__(self, folder: str | Path, config: DedupConfig) -> None:
        self.folder = Path(folder)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.folder / DB_NAME, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise StateError(f"{self.folder}: cannot open state: {exc}") from exc
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._zc = zstandard.ZstdCompressor(level=6)
        self._zd = zstandard.ZstdDecompressor()
        self._init_schema(config)

    def _init_schema(self, config: DedupConfig) -> None:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            self._create_or_migrate(config)
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def _create_or_migrate(self, config: DedupConfig) -> None:
        db = self._db
        db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        # duplicate_of last: where ALTER TABLE puts it in a migrated format 1 index.
        db.execute(
            "CREATE TABLE IF NOT EXISTS documents (n INTEGER PRIMARY KEY, id TEXT UNIQUE NOT NULL,"
            " kept_id TEXT NOT NULL, similarity REAL, created TEXT, added TEXT NOT NULL, length INTEGER NOT NULL,"
            " source TEXT NOT NULL, text BLOB NOT NULL, duplicate_of TEXT)"
        )
        db.execute("CREATE TABLE IF NOT EXISTS bands (key INTEGER NOT NULL, n INTEGER NOT NULL,"
                   " PRIMARY KEY (key, n)) WITHOUT ROWID")
        stored = dict(db.execute("SELECT key, value FROM meta"))
        if not stored:
            db.executemany("INSERT INTO meta VALUES (?, ?)", index_settings(config).items())
            return
        version = check_settings(stored, config, str(self.folder))
        if version != str(FORMAT_VERSION):
            # Format 1 -> 2: the documents' duplicate_of, empty (= kept_id, as format 1 linked them).
            columns = {row[1] for row in db.execute("PRAGMA table_info(documents)")}
            if "duplicate_of" not in columns:
                db.execute("ALTER TABLE documents ADD COLUMN duplicate_of TEXT")
            db.execute("UPDATE meta SET value = ? WHERE key = 'format_version'", (str(FORMAT_VERSION),))

    def close(self) -> None:
        self._db.close()

    def known(self, ids: Iterable[str]) -> dict[str, IndexedDocument]:
        found: dict[str, IndexedDocument] = {}
        ids = list(ids)
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            rows = self._db.execute(
                "SELECT id, kept_id, similarity, created, added, length, source, duplicate_of FROM documents"
                f" WHERE id IN ({','.join('?' * len(chunk))})",
                chunk,
            )
            found.update({r[0]: IndexedDocument(*r) for r in rows})
        return found

    def candidates(self, keys: Sequence[int]) -> list[IndexedDocument]:
        """Indexed documents sharing at least one band key."""
        out: dict[str, IndexedDocument] = {}
        for i in range(0, len(keys), 500):
            chunk = list(keys[i : i + 500])
            rows = self._db.execute(
                "SELECT DISTINCT d.id, d.kept_id, d.similarity, d.created, d.added, d.length, d.source,"
                " d.duplicate_of FROM bands b"
                f" JOIN documents d ON d.n = b.n WHERE b.key IN ({','.join('?' * len(chunk))})",
                chunk,
            )
            out.update({r[0]: IndexedDocument(*r) for r in rows})
        return [out[k] for k in sorted(out)]

    def has_duplicates(self, doc_id: str) -> bool:
        row = self._db.execute("SELECT 1 FROM documents WHERE kept_id = ? AND id != ? LIMIT 1", (doc_id, doc_id))
        return row.fetchone() is not None

    def text(self, doc_id: str) -> str:
        row = self._db.execute("SELECT text FROM documents WHERE id = ?", (doc_id,)).fetchone()
        if row is None:
            raise StateError(f"{self.folder}: document {doc_id} is not in the index")
        return self._zd.decompress(row[0]).decode("utf-8")

    def add(self, docs: Iterable[tuple[IndexedDocument, str, Sequence[int]]]) -> int:
        """Index documents (record, clean text, band keys) in one transaction."""
        db = self._db
        count = 0
        db.execute("BEGIN IMMEDIATE")
        try:
            for doc, text, keys in docs:
                cur = db.execute(
                    "INSERT OR IGNORE INTO documents"
                    " (id, kept_id, similarity, created, added, length, source, text, duplicate_of)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (doc.id, doc.kept_id, doc.similarity, doc.created, doc.added, doc.length, doc.source,
                     self._zc.compress(text.encode("utf-8")), stored_link(doc)),
                )
                if cur.rowcount:
                    db.executemany("INSERT OR IGNORE INTO bands VALUES (?, ?)", [(k, cur.lastrowid) for k in keys])
                    count += 1
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return count

    def stats(self) -> dict[str, int | float]:
        docs = self._db.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
        page_size = self._db.execute("PRAGMA page_size").fetchone()[0]
        pages = self._db.execute("PRAGMA page_count").fetchone()[0]
        size = page_size * pages
        return {"documents": docs, "bytes": size, "bytes_per_document": round(size / docs, 1) if docs else 0}
