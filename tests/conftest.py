"""Shared fixtures: paths to the repo's seeds and to the shared corpora."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"
CORPORA = Path(os.environ.get("INGEST_CORPORA", REPO.parent / "shared" / "corpora"))


@pytest.fixture(scope="session")
def corpora() -> Path:
    if not CORPORA.is_dir():
        pytest.skip(f"shared corpora not found at {CORPORA} (set INGEST_CORPORA to their folder)")
    return CORPORA


@pytest.fixture(scope="session")
def seeds() -> Path:
    return SEEDS
