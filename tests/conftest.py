"""Shared fixtures: paths to the repo's seeds and to the shared corpora; Hypothesis's profiles."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

# "ci", the default: the same examples in every run (a seed derived from each test), so
# a failure is the code's, never the draw's; no deadline, as the machine may be busy;
# a failure prints the blob that reproduces it (@reproduce_failure). "explore"
# (HYPOTHESIS_PROFILE=explore): fresh random examples, the seed printed with a failure.
settings.register_profile("ci", derandomize=True, database=None, deadline=None, print_blob=True)
settings.register_profile("explore", derandomize=False, deadline=None, print_blob=True, max_examples=1000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

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
