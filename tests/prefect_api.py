"""Reading what runs left on a Prefect API, through its REST interface."""

from __future__ import annotations

import httpx

from flows.artifacts import ARTIFACT_KEY


def report_markdowns(api_url: str, limit: int) -> list[str]:
    """The markdown of the newest ingest report artifacts, newest first."""
    response = httpx.post(f"{api_url.rstrip('/')}/artifacts/filter", timeout=30,
                          json={"artifacts": {"key": {"any_": [ARTIFACT_KEY]}}, "sort": "CREATED_DESC", "limit": limit})
    response.raise_for_status()
    return [artifact["data"] for artifact in response.json()]
