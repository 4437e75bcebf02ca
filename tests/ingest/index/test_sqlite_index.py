"""The embedded near-duplicate index: decisions reproduced by reruns, links kept across
runs, and a format 1 folder migrated in place."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import zstandard

from ingest.config import DedupConfig
from ingest.dedup.clusters import Deduplicator
from ingest.dedup.decisions import Decision
from ingest.dedup.minhash import MinHasher, sketch
from ingest.dedup.prior import IndexedDocument
from ingest.index.format import FORMAT_VERSION, StateError
from ingest.index.sqlite_index import DB_NAME, StateIndex
from tests.ingest.index.contract import (
    CONFIG,
    check_later_runs_link_through_earlier_links,
    check_rerun_reproduces_decisions,
    decide,
)
from tests.links import comparison, link
from tests.samples import span_text


@pytest.fixture
def index(tmp_path: Path):
    opened = StateIndex(tmp_path / "state", CONFIG)
    yield opened
    opened.close()


def test_rerun_reproduces_the_decisions(index: StateIndex) -> None:
    check_rerun_reproduces_decisions(index)


def test_later_runs_link_through_earlier_links(index: StateIndex) -> None:
    check_later_runs_link_through_earlier_links(index)


def test_copies_joining_two_earlier_clusters_link_to_what_they_are_similar_to(index: StateIndex) -> None:
    """p and q were kept by earlier runs (not similar to each other); n is similar to
    both and joins them, m is similar to q only. Both stay kept; the cluster is p's (the
    keep policy), and m is linked to q, not to p, which it is not similar to."""
    texts = {"p": span_text(0), "q": span_text(60), "n": span_text(30), "m": span_text(90)}
    decide(index, {"p": (texts["p"], "2024-01-01")})
    decide(index, {"q": (texts["q"], "2024-01-02")})
    result = decide(index, {"n": (texts["n"], None), "m": (texts["m"], None)})
    assert result.decisions["n"] == link("p", "n", "p", texts)
    assert result.decisions["m"] == link("p", "m", "q", texts)
    assert comparison(texts["m"], texts["p"]).similarity < 0.8 <= comparison(texts["m"], texts["q"]).similarity
    assert {d.id: d.kept_id for d in index.known(texts).values()} == {"p": "p", "q": "q", "n": "p", "m": "p"}


def test_new_copy_beside_an_indexed_document_joins_it(index: StateIndex) -> None:
    """A rerun with a new copy of one of its documents: the copy is linked to the indexed
    document (it used to be kept beside it, the indexed one being left out of clusters)."""
    decide(index, {"a": (span_text(0), None)})
    result = decide(index, {"a": (span_text(0), None), "n": (span_text(10), None), "m": (span_text(20), None)})
    assert result.decisions["a"] == Decision(None, None, None)  # as the first run decided
    assert result.decisions["n"].cluster_id == result.decisions["m"].cluster_id == "a"
    assert result.decisions["n"].duplicate_of == result.decisions["m"].duplicate_of == "a"


# ---------------------------------------------------------------- format 1

# The schema of format 1, as ingest/state.py created it.
_V1_SCHEMA = [
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE documents (n INTEGER PRIMARY KEY, id TEXT UNIQUE NOT NULL,"
    " kept_id TEXT NOT NULL, similarity REAL, created TEXT, added TEXT NOT NULL, length INTEGER NOT NULL,"
    " source TEXT NOT NULL, text BLOB NOT NULL)",
    "CREATE TABLE bands (key INTEGER NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (key, n)) WITHOUT ROWID",
]


def make_v1_folder(folder: Path, docs: dict[str, tuple[str, str, float | None]], config: DedupConfig = CONFIG) -> None:
    """A format 1 state folder holding `docs` (id -> text, kept_id, similarity)."""
    folder.mkdir(parents=True)
    db = sqlite3.connect(folder / DB_NAME)
    for statement in _V1_SCHEMA:
        db.execute(statement)
    meta = {"format_version": "1"} | {k: str(getattr(config, k)) for k in ("num_perm", "bands", "rows", "seed",
                                                                           "shingle_size")}
    db.executemany("INSERT INTO meta VALUES (?, ?)", meta.items())
    hasher, dedup, zc = MinHasher(config.num_perm, config.seed), Deduplicator(config), zstandard.ZstdCompressor()
    for doc_id, (text, kept_id, similarity) in docs.items():
        cur = db.execute("INSERT INTO documents (id, kept_id, similarity, created, added, length, source, text)"
                         " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                         (doc_id, kept_id, similarity, None, "2025-01-01T00:00:00Z", len(text), f"old/{doc_id}",
                          zc.compress(text.encode())))
        keys = dedup.state_keys(sketch(doc_id, text, None, "t", doc_id, config, hasher))
        db.executemany("INSERT OR IGNORE INTO bands VALUES (?, ?)", [(k, cur.lastrowid) for k in keys])
    db.commit()
    db.close()


def format_of(folder: Path) -> str:
    db = sqlite3.connect(folder / DB_NAME)
    try:
        return db.execute("SELECT value FROM meta WHERE key = 'format_version'").fetchone()[0]
    finally:
        db.close()


def test_format_1_folder_is_migrated_in_place(tmp_path: Path) -> None:
    texts = {"a": span_text(0), "b": span_text(30), "c": span_text(60)}
    sim_ab = round(comparison(texts["a"], texts["b"]).similarity, 4)
    folder = tmp_path / "state"
    make_v1_folder(folder, {"a": (texts["a"], "a", None), "b": (texts["b"], "a", sim_ab)})
    index = StateIndex(folder, CONFIG)
    try:
        assert format_of(folder) == str(FORMAT_VERSION) == "2"
        # An empty duplicate_of is the kept document, as format 1 linked every copy.
        assert index.known(["b"])["b"] == IndexedDocument("b", "a", sim_ab, None, "2025-01-01T00:00:00Z",
                                                          len(texts["b"]), "old/b", "a")
        assert index.known(["b"])["b"].duplicate_of == "a" and index.has_duplicates("a")
        # The old documents' decisions come back unchanged; a new copy links to b.
        result = decide(index, {"a": (texts["a"], None), "b": (texts["b"], None), "c": (texts["c"], None)})
        assert result.decisions["a"] == Decision("a", None, None)
        assert result.decisions["b"] == link("a", "b", "a", texts)
        assert result.decisions["c"] == link("a", "c", "b", texts)
    finally:
        index.close()
    index = StateIndex(folder, CONFIG)  # opens again as format 2
    try:
        assert index.known(["c"])["c"].duplicate_of == "b" and index.stats()["documents"] == 3
    finally:
        index.close()


def test_format_1_folder_with_other_settings_is_refused_and_left_alone(tmp_path: Path) -> None:
    folder = tmp_path / "state"
    make_v1_folder(folder, {"a": (span_text(0), "a", None)})
    with pytest.raises(StateError, match=r"other dedup settings: shingle_size 5 \(config says 3\)"):
        StateIndex(folder, CONFIG.model_copy(update={"shingle_size": 3}))
    assert format_of(folder) == "1"
    db = sqlite3.connect(folder / DB_NAME)
    assert "duplicate_of" not in {row[1] for row in db.execute("PRAGMA table_info(documents)")}
    db.close()


def test_unknown_format_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "state"
    StateIndex(folder, CONFIG).close()
    db = sqlite3.connect(folder / DB_NAME)
    db.execute("UPDATE meta SET value = '3' WHERE key = 'format_version'")
    db.commit()
    db.close()
    with pytest.raises(StateError, match="index format 3 is not 2"):
        StateIndex(folder, CONFIG)
