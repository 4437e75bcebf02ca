"""A run's report as a Prefect artifact: what an operator reads in the UI after a run.

The markdown shows the same figures as the partition's report.json (counts, removals
per rule, the largest duplicate clusters, throughput), rendered, not recomputed.
"""

from __future__ import annotations

from typing import Any

ARTIFACT_KEY = "ingest-report"
_MAX_CLUSTERS = 10


def outcome_markdown(outcome: dict[str, Any]) -> str:
    report = outcome.get("report")
    lines = [f"# ingest: {outcome['status']}", "", outcome["message"], ""]
    if outcome.get("recovered"):
        lines += [f"Published partitions a crashed run had committed: {', '.join(outcome['recovered'])}", ""]
    if report is not None:
        lines += _counts(report) + _throughput(report) + _removals(report) + _clusters(report)
    return "\n".join(lines)


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in rows]
    return lines + [""]


def _counts(report: dict[str, Any]) -> list[str]:
    c, p = report["counts"], report["partition"]
    rows = [["partition", p["name"]], ["new files", p["files"]], ["files ingested before", p["files_ingested_before"]],
            ["input records", c["inputs"]], ["documents", c["documents"]], ["duplicates", c["duplicates"]],
            ["rejected", c["rejected"]], ["skipped (not documents)", c["skipped"]], ["balanced", c["balanced"]]]
    return ["## Counts", ""] + _table(["", "count"], rows)


def _throughput(report: dict[str, Any]) -> list[str]:
    timings = report["timings_seconds"]
    rows = [["documents per second", report["docs_per_second"]], ["bytes read", report["bytes_read"]]]
    rows += [[f"{phase} (s)", seconds] for phase, seconds in timings.items()]
    return ["## Throughput", ""] + _table(["", "value"], rows)


def _removals(report: dict[str, Any]) -> list[str]:
    rows = [[rule, r["count"], r["chars"]] for rule, r in report["removals"].items()]
    return ["## Removals per rule", ""] + (_table(["rule", "count", "characters"], rows) if rows else ["none", ""])


def _clusters(report: dict[str, Any]) -> list[str]:
    dedup = report["dedup"]
    # Each member's similarity is to the document it is linked to (a verified pair).
    rows = [[c["kept"], len(c["members"]), min((m["similarity"] for m in c["members"]), default="")]
            for c in dedup["largest_clusters"][:_MAX_CLUSTERS]]
    head = [f"## Largest duplicate clusters ({dedup['clusters']} in all)", ""]
    return head + (_table(["kept document", "duplicates", "weakest link (similarity)"], rows) if rows else ["none", ""])
