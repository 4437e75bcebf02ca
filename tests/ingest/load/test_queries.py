"""The README's first queries, run against a real DuckDB file loaded by `ingest load`,
each checked against what the outputs hold."""

from __future__ import annotations

import re
import shutil
from collections import Counter
from pathlib import Path

import duckdb
import pytest

from ingest.config import load_config
from ingest.run.pipeline import run
from ingest.write.jsonl import read_jsonl
from tests.ingest.load.stores import inbox_output, load, output_rows

README = Path(__file__).resolve().parents[3] / "README.md"
SECTION = "## Loading into DuckDB and Iceberg"


def readme_queries() -> dict[str, str]:
    """The SQL blocks of the README's loading section, by their first comment line."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index(SECTION):]
    section = section[:section.index("\n## ", len(SECTION))]
    blocks = re.findall(r"```sql\n(.*?)```", section, re.S)
    return {re.split(r"[:(]", block.splitlines()[0].removeprefix("-- "))[0].strip(): block for block in blocks}


QUERIES = readme_queries()


@pytest.fixture(scope="module")
def loaded(tmp_path_factory, seeds: Path) -> tuple[duckdb.DuckDBPyConnection, list[dict], list[dict]]:
    """A store holding an inbox's three partitions and a plain run over the seeds."""
    root = tmp_path_factory.mktemp("queries")
    out = inbox_output(root / "inbox-run")
    shutil.copytree(seeds, root / "seeds")
    run([str(root / "seeds")], root / "seeds-out", load_config())
    store = root / "store.duckdb"
    for folder in (out, root / "seeds-out"):
        assert load(folder, f"duckdb:{store}").returncode == 0
    docs = output_rows(out, "documents") + output_rows_plain(root / "seeds-out", "documents")
    dups = output_rows(out, "duplicates") + output_rows_plain(root / "seeds-out", "duplicates")
    with duckdb.connect(str(store), read_only=True) as con:
        yield con, docs, dups


def output_rows_plain(folder: Path, kind: str) -> list[dict]:
    return list(read_jsonl(folder / f"{kind}.jsonl"))


def test_the_readme_has_the_four_queries() -> None:
    assert list(QUERIES) == ["documents per day and site", "the largest duplicate clusters, with their members",
                             "the most reused passages", "removals per rule"]


def test_documents_per_day_and_site(loaded) -> None:
    con, docs, _ = loaded
    rows = con.execute(QUERIES["documents per day and site"]).fetchall()

    def day_and_site(d: dict) -> tuple[str, str]:
        day = d["created"][:10] if d["created"] and re.fullmatch(r"\d{4}-\d{2}-\d{2}", d["created"][:10]) else d["added"][:10]
        host = re.match(r"[a-z]+://([^/:]+)", d["metadata"]["url"] or "")
        return day, host.group(1) if host else d["source"].rsplit("/", 1)[0]

    expected = Counter(day_and_site(d) for d in docs)
    assert [(str(day), site, n) for day, site, n in rows] == sorted((*k, n) for k, n in expected.items())
    assert len({site for _, site, _ in rows}) > 1 and len({day for day, _, _ in rows}) > 1


def test_largest_duplicate_clusters_with_their_members(loaded) -> None:
    con, docs, dups = loaded
    rows = con.execute(QUERIES["the largest duplicate clusters, with their members"]).fetchall()
    kept_ids = {d["dedup"]["cluster_id"] for d in docs + dups} - {None}
    clusters = Counter(k for d in docs + dups for k in kept_ids if d["id"] == k or d["dedup"]["cluster_id"] == k)
    assert [(kept, n) for kept, n, _ in rows] == sorted(clusters.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
    kept, _, sources = rows[0]
    kept_source = next(d["source"] for d in docs if d["id"] == kept)
    assert sources[0] == kept_source  # the kept document first, then its copies
    assert any(s.endswith("ferry-copy.txt") for s in sources[1:])


def test_most_reused_passages(loaded) -> None:
    con, docs, _ = loaded
    rows = con.execute(QUERIES["the most reused passages"]).fetchall()
    links = Counter((d["id"], p["start"], p["end"]) for d in docs for p in d["passages"] for _ in p["duplicates"])
    assert sorted((doc, start, end, n) for doc, _, start, end, n, _ in rows) == sorted(
        (doc, start, end, n) for (doc, start, end), n in links.items())
    text_of = {d["id"]: d["text"] for d in docs}
    for doc, _, start, end, _, passage in rows:
        assert passage == text_of[doc][start:end][:120]


def test_removals_per_rule(loaded) -> None:
    con, docs, dups = loaded
    rows = con.execute(QUERIES["removals per rule"]).fetchall()
    removed = [r for d in docs + dups for r in d["cleaning"]["removed"]]
    assert removed, "the seeds have cuts"
    assert {rule: (n, chars) for rule, n, chars in rows} == {
        rule: (sum(1 for r in removed if r["rule"] == rule), sum(len(r["text"]) for r in removed if r["rule"] == rule))
        for rule in {r["rule"] for r in removed}}
