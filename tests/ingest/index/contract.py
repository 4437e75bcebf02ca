"""What every near-duplicate index must answer, run by the tests of each backend (the
embedded SQLite index and Redis) against an opened index."""

from __future__ import annotations

from ingest.config import DedupConfig
from ingest.dedup.clusters import Deduplicator
from ingest.dedup.decisions import Decision
from ingest.dedup.minhash import MinHasher, sketch
from tests.links import assert_links_are_verified, link
from tests.samples import BRANCHES, span_text

CONFIG = DedupConfig()

def decide(index, docs: dict[str, tuple[str, str | None]], added: str = "2026-01-01T00:00:00Z"):
    """One run's dedup against `index`, then its new documents indexed as a run does."""
    hasher = MinHasher(CONFIG.num_perm, CONFIG.seed)
    dedup = Deduplicator(CONFIG)
    for doc_id, (text, created) in docs.items():
        dedup.add(sketch(doc_id, text, created, added, f"src/{doc_id}", CONFIG, hasher))
    result = dedup.run(index)
    index.add([dedup.index_entry(doc_id, text, result.decisions[doc_id])
               for doc_id, (text, _) in docs.items() if doc_id not in result.added_before])
    return result


def branch_docs() -> dict[str, tuple[str, str | None]]:
    return {k: (span_text(start), "2024-01-01" if k == "k" else "2024-02-01") for k, start in BRANCHES.items()}


def check_rerun_reproduces_decisions(index) -> None:
    """Shared with the Redis index's tests."""
    docs = branch_docs()
    first = decide(index, docs)
    # b1, not the more similar b3: (b1, c1) connected c1 first, and (b3, c1) was skipped.
    assert first.decisions["c1"] == link("k", "c1", "b1", {k: text for k, (text, _) in docs.items()})
    assert first.decisions["d"].duplicate_of == "c1" and first.decisions["k"] == Decision("k", None, None)
    again = decide(index, dict(reversed(docs.items())), added="2026-02-01T00:00:00Z")
    assert again.added_before == {k: "2026-01-01T00:00:00Z" for k in docs}
    assert again.decisions == first.decisions
    stored = index.known(docs)
    assert {k: d.kept_id for k, d in stored.items()} == {k: ("e" if k == "e" else "k") for k in docs}
    assert {k: d.duplicate_of for k, d in stored.items()} == {
        k: d.duplicate_of or k for k, d in first.decisions.items()}


def check_later_runs_link_through_earlier_links(index) -> None:
    """c is similar to b only, d to c only: each run links its copy to its neighbour,
    through the links the earlier runs stored, in the cluster of the first run's a."""
    texts = {"a": span_text(0), "b": span_text(30), "c": span_text(60), "d": span_text(90)}
    first = decide(index, {"a": (texts["a"], "2024-01-01"), "b": (texts["b"], "2024-01-02")})
    assert first.decisions["b"].duplicate_of == "a"
    second = decide(index, {"c": (texts["c"], "2024-01-03")})
    assert second.decisions["c"] == link("a", "c", "b", texts)
    third = decide(index, {"d": (texts["d"], None)})
    assert third.decisions["d"] == link("a", "d", "c", texts)
    assert_links_are_verified(first.decisions | second.decisions | third.decisions, texts)
    assert {d.id: (d.kept_id, d.duplicate_of) for d in index.known(texts).values()} == {
        "a": ("a", "a"), "b": ("a", "a"), "c": ("a", "b"), "d": ("a", "c")}


