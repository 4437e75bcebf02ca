"""Shared fixtures: paths to the repo's seeds and to the shared corpora; Hypothesis's profiles."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest
from hypothesis import settings

# "ci", the default: the same examples in every run (a seed derived from each test), so
# a failure is the code's, never the draw's; no deadline, as the machine may be busy;
# a failure prints the blob that reproduces it (@reproduce_failure). "explore"
# (HYPOTHESIS_PROFILE=explore): new examples each run, from a seed printed in the
# header and again after failures (--hypothesis-seed=N draws the same ones again).
settings.register_profile("ci", derandomize=True, database=None, deadline=None, print_blob=True)
settings.register_profile("explore", derandomize=False, deadline=None, print_blob=True, max_examples=1000)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
settings.load_profile(PROFILE)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """An explore run without --hypothesis-seed gets one, before Hypothesis's plugin reads it."""
    if PROFILE == "explore" and config.getoption("hypothesis_seed") is None:
        config.option.hypothesis_seed = str(random.SystemRandom().randrange(2**32))


def _seed_line(config: pytest.Config) -> str | None:
    seed = config.getoption("hypothesis_seed")
    return f"hypothesis seed {seed}: rerun with --hypothesis-seed={seed}" if seed is not None else None


def pytest_report_header(config: pytest.Config) -> str | None:
    return _seed_line(config)


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    if exitstatus != 0 and (line := _seed_line(config)):
        terminalreporter.write_line(line)

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
