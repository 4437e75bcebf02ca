"""A run's report (`report.json`): counts, removals per rule, duplicate clusters, timings."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ingest import __version__
from ingest.config import Config
from ingest.dedup.decisions import DedupResult
from ingest.run.clean import CleanSummary
from ingest.run.prepare import PrepareSummary
from ingest.write.jsonl import dumps, write_json


def build_report(*, started: str, finished: str, inputs: int, counts: dict[str, int],
                 prepare: Sequence[PrepareSummary], clean: Sequence[CleanSummary],
                 result: DedupResult, timings: dict[str, float], config: Config,
                 boilerplate_lines: int, state: dict | None = None, max_clusters: int = 50) -> dict[str, Any]:
    removals: Counter = Counter()
    removed_chars: Counter = Counter()
    repairs: Counter = Counter()
    for s in clean:
        removals.update(s.removals)
        removed_chars.update(s.removed_chars)
        repairs.update(s.repairs)
    skipped: Counter = Counter()
    for s in prepare:
        skipped.update(s.skipped)
    wall = sum(timings.values()) or 1e-9
    total_docs = counts["documents"] + counts["duplicates"]
    return {
        "version": __version__,
        "started": started,
        "finished": finished,
        "config_sha256": hashlib.sha256(dumps(config.model_dump(mode="json")).encode()).hexdigest(),
        "counts": {
            "inputs": inputs,
            "documents": counts["documents"],
            "duplicates": counts["duplicates"],
            "rejected": counts["rejected"],
            "skipped": sum(skipped.values()),
            "balanced": inputs == counts["documents"] + counts["duplicates"] + counts["rejected"] + sum(skipped.values()),
        },
        "skipped_by_kind": dict(sorted(skipped.items())),
        "bytes_read": sum(s.bytes_read for s in prepare),
        "removals": {rule: {"count": removals[rule], "chars": removed_chars[rule]} for rule in sorted(removals)},
        "repairs": dict(sorted(repairs.items())),
        "boilerplate_lines_learned": boilerplate_lines,
        "dedup": {
            "mode": config.dedup.mode,
            "clusters": len(result.clusters),
            **result.stats,
            "largest_clusters": result.clusters[:max_clusters],
        },
        "state": state,
        # Filled by record_api_log when the run reported to a temporary Prefect API.
        "prefect_api": None,
        "timings_seconds": {k: round(v, 3) for k, v in timings.items()},
        "docs_per_second": round(total_docs / wall, 1),
    }


def skipped_note(counts: dict[str, Any]) -> str:
    """", 3 skipped" for a run that skipped items that are no documents; "" otherwise."""
    return f", {counts['skipped']} skipped" if counts.get("skipped") else ""


def record_api_log(out_dir: Path, report: dict[str, Any], log: Path | None, errors: int) -> None:
    """Add what the run's temporary Prefect API logged to `report` and rewrite
    `out_dir/report.json`: the API stops after the report is first written."""
    report["prefect_api"] = {"log": str(log) if log is not None else None, "errors": errors}
    write_json(out_dir / "report.json", report)
