"""Which inbox files incremental runs have ingested (`STATE/ledger.sqlite`).

An input is keyed by its source and the hash of its bytes: a file that changes is
ingested again, one that does not is skipped however often it is listed.  The size and
modification time seen when it was hashed are kept too, so that an unchanged file is
recognised without reading it again.

A run commits its inputs together with the name of the partition that holds their
output, in one transaction, only once that partition is complete on disk (in its
staging folder).  The partition is `unpublished` until the staging folder has been
renamed into place; a crash in between leaves the rename for the next run to finish.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ingest.read.files import InputFile

DB_NAME = "ledger.sqlite"
_CHUNK = 2**20


class LedgerError(Exception):
    """The ledger cannot be used; the message says why."""


@dataclass(frozen=True)
class Claim:
    """An input a run takes on: the file, and what it was when hashed.

    `content_hash` is None when the file could not be read as a regular file while
    listing (no permission, gone, a FIFO): the run still takes it, so that reading it
    records the reject, but the ledger does not, so that the next run tries it again.
    """

    file: InputFile
    content_hash: str | None
    size: int | None = None
    mtime_ns: int | None = None

    def unchanged(self) -> bool:
        """Whether the file still has the size and mtime it had when hashed: only then
        are its records in this run's output what the hash names."""
        if self.content_hash is None:
            return False
        info = _stat(self.file.path)
        return info is not None and (info.st_size, info.st_mtime_ns) == (self.size, self.mtime_ns)


def content_hash(path: str) -> tuple[str, os.stat_result] | None:
    """The BLAKE2b hash of a regular file's bytes and its stat when opened; None when
    it cannot be read now."""
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer (no effect on files).
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return None
        digest = hashlib.blake2b(digest_size=16)
        try:
            while chunk := fh.read(_CHUNK):
                digest.update(chunk)
        except OSError:
            return None
    return digest.hexdigest(), info


def _stat(path: str) -> os.stat_result | None:
    try:
        return os.stat(path)
    except OSError:
        return None


class Ledger:
    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.folder / DB_NAME, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")  # a commit survives a power cut
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS inputs (source TEXT NOT NULL, content_hash TEXT NOT NULL,"
                " size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, partition TEXT NOT NULL,"
                " PRIMARY KEY (source, content_hash))"
            )
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS partitions (name TEXT PRIMARY KEY, committed TEXT NOT NULL,"
                " files INTEGER NOT NULL, published INTEGER NOT NULL)"
            )
        except (OSError, sqlite3.Error) as exc:
            raise LedgerError(f"{self.folder / DB_NAME}: cannot open the ledger: {exc}") from exc

    def close(self) -> None:
        self._db.close()

    # ------------------------------------------------------------ what is new

    def claim(self, files: Iterable[InputFile]) -> tuple[list[Claim], int]:
        """The files not ingested before, and how many were skipped as ingested."""
        claims: list[Claim] = []
        known = 0
        for f in files:
            info = _stat(f.path)
            if info is not None and stat.S_ISREG(info.st_mode) and self._same_stat(f.source, info):
                known += 1
                continue
            hashed = content_hash(f.path)
            if hashed is None:
                claims.append(Claim(f, None))
                continue
            digest, info = hashed
            if self._ingested(f.source, digest):
                self._remember_stat(f.source, digest, info)  # touched or copied back: skip the hash next time
                known += 1
                continue
            claims.append(Claim(f, digest, info.st_size, info.st_mtime_ns))
        return claims, known

    def _same_stat(self, source: str, info: os.stat_result) -> bool:
        row = self._db.execute("SELECT 1 FROM inputs WHERE source = ? AND size = ? AND mtime_ns = ? LIMIT 1",
                               (source, info.st_size, info.st_mtime_ns)).fetchone()
        return row is not None

    def _ingested(self, source: str, digest: str) -> bool:
        row = self._db.execute("SELECT 1 FROM inputs WHERE source = ? AND content_hash = ?", (source, digest))
        return row.fetchone() is not None

    def _remember_stat(self, source: str, digest: str, info: os.stat_result) -> None:
        self._db.execute("UPDATE inputs SET size = ?, mtime_ns = ? WHERE source = ? AND content_hash = ?",
                         (info.st_size, info.st_mtime_ns, source, digest))

    # ------------------------------------------------------------ committing a run

    def commit(self, partition: str, committed: str, claims: Sequence[Claim]) -> None:
        """Record the partition (unpublished) and its inputs, in one transaction."""
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute("INSERT INTO partitions VALUES (?, ?, ?, 0)", (partition, committed, len(claims)))
            db.executemany(
                "INSERT OR REPLACE INTO inputs VALUES (?, ?, ?, ?, ?)",
                [(c.file.source, c.content_hash, c.size, c.mtime_ns, partition) for c in claims],
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def unpublished(self) -> list[str]:
        """Committed partitions whose staging folder may still await its rename."""
        return [r[0] for r in self._db.execute("SELECT name FROM partitions WHERE published = 0 ORDER BY name")]

    def mark_published(self, partition: str) -> None:
        self._db.execute("UPDATE partitions SET published = 1 WHERE name = ?", (partition,))

    def forget(self, partition: str) -> int:
        """Drop a committed partition whose output is gone: its inputs become new again."""
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            count = db.execute("DELETE FROM inputs WHERE partition = ?", (partition,)).rowcount
            db.execute("DELETE FROM partitions WHERE name = ?", (partition,))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return count

    def stats(self) -> dict[str, int]:
        inputs = self._db.execute("SELECT COUNT(*) FROM inputs").fetchone()[0]
        partitions = self._db.execute("SELECT COUNT(*) FROM partitions").fetchone()[0]
        return {"inputs": inputs, "partitions": partitions}
