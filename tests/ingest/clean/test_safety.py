"""Cleaning on hostile and arbitrary input: no catastrophic backtracking, no crash,
idempotent, and tidy output."""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.clean.record import clean_text
from ingest.clean.repair import repair_text
from ingest.clean.rules import Cleaner
from ingest.config import CleanConfig, load_config

CONFIG = load_config()
CLEANER = Cleaner(CONFIG.clean)

# Strings built to make a backtracking engine try exponentially many ways to match:
# long runs of what a pattern's repeated parts accept, ending in what makes it fail.
ADVERSARIAL = [
    "a" * 20000,
    " " * 20000 + "x",
    "\t \t" * 5000 + "!",
    "a " * 10000 + ".",
    ("word " * 29 + "\n") * 300,
    "[ad_" * 5000,
    "[ad_1" * 5000,
    "(credit:" + "x" * 20000,
    "(" * 10000 + "credit:" + ")" * 10000,
    "date " * 5000 + "2024-04-14",
    " date 2024-04-14" * 3000,
    "AFP , " * 4000 + "Sunday",
    "CNN " * 5000 + "—",
    "A" * 20000 + " —x",
    "READ" * 5000 + ":",
    "Source link " * 3000,
    "Short link:" + "h" * 20000,
    "x" * 20000 + " contributed to this repor",
    "This article has been updated" + " x" * 10000 + "\n" * 5,
    "\n" * 20000,
    "—\n" * 10000,
]


@pytest.mark.parametrize("rule", [r.name for r in CONFIG.clean.rules])
def test_default_rule_survives_adversarial_input(rule: str) -> None:
    only = Cleaner(CleanConfig(rules=[r for r in CONFIG.clean.rules if r.name == rule]))
    for text in ADVERSARIAL:
        started = time.perf_counter()
        only.clean(text)
        elapsed = time.perf_counter() - started
        # Linear-time matching takes milliseconds here; backtracking takes minutes.
        assert elapsed < 2.0, f"rule {rule} took {elapsed:.1f}s on {text[:30]!r}..."


def full_clean(text: str, known: frozenset[str] = frozenset()):
    """What the pipeline does to a text: encoding repair, then cleaning."""
    repaired, repairs = repair_text(text, CONFIG.decode)
    result, late_repairs = clean_text(repaired, CLEANER, CONFIG, known)
    return result, repairs + late_repairs


# Arbitrary text mixed with the pieces the rules look for, so that rules actually fire.
PIECES = st.sampled_from(["\n", "\n\n", " ", "[ad_1]", "Source link", "READ: x", "Short link:",
                          " date 2024-04-14 ", "—", "“", "\r\n", "Headline here\n\n", "CNN\n—\n", "(credit: X)"])
TEXTS = st.lists(st.text(alphabet=st.characters(codec="utf-8"), max_size=40) | PIECES, max_size=20).map("".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TEXTS)
def test_cleaning_never_raises_and_output_is_tidy(text: str) -> None:
    result, repairs = full_clean(text)
    out = result.text
    assert out == out.strip()
    assert "\n\n\n" not in out
    assert not any(ord(c) < 32 and c not in "\n\t" for c in out)
    # A U+FFFD is either in the input or a recorded repair (ftfy restoring the
    # replacement character from its mojibake spelling, such as "ï¿½").
    recorded = sum(r["count"] for r in repairs if r["rule"] == "replacement-char")
    assert out.count("\ufffd") <= text.count("\ufffd") + recorded


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TEXTS)
def test_cleaning_is_idempotent(text: str) -> None:
    first, _ = full_clean(text)
    # The fields a first pass took out of the text are known to the second pass.
    second, _ = full_clean(first.text, known=frozenset(first.fields))
    assert second.text == first.text
