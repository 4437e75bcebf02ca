"""Cleaning on hostile and arbitrary input: no catastrophic backtracking, no crash,
idempotent, and tidy output."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.clean.record import clean_text
from ingest.clean.repair import repair_text
from ingest.clean.rules import Cleaner
from ingest.config import CleanConfig, Rule, load_config
from tests.ingest.clean.cost import GROWTH, MAX_RATIO, Scalable, growth

CONFIG = load_config()
CLEANER = Cleaner(CONFIG.clean)

# Strings built to make a backtracking engine try exponentially many ways to match:
# long runs of what a pattern's repeated parts accept, ending in what makes it fail;
# as functions of their scale (cost.py), to measure how the work grows with the run.
ADVERSARIAL: list[Scalable] = [
    lambda s: "a" * 20000 * s,
    lambda s: " " * 20000 * s + "x",
    lambda s: "\t \t" * 5000 * s + "!",
    lambda s: "a " * 10000 * s + ".",
    lambda s: ("word " * 29 + "\n") * 300 * s,
    lambda s: ("word " * 29 * s + "\n") * 300,
    lambda s: "[ad_" * 5000 * s,
    lambda s: "[ad_1" * 5000 * s,
    lambda s: "(credit:" + "x" * 20000 * s,
    lambda s: "(" * 10000 * s + "credit:" + ")" * 10000 * s,
    lambda s: "date " * 5000 * s + "2024-04-14",
    lambda s: " date 2024-04-14" * 3000 * s,
    lambda s: "AFP , " * 4000 * s + "Sunday",
    lambda s: "CNN " * 5000 * s + "—",
    lambda s: "A" * 20000 * s + " —x",
    lambda s: "READ" * 5000 * s + ":",
    lambda s: "Source link " * 3000 * s,
    lambda s: "Short link:" + "h" * 20000 * s,
    lambda s: "x" * 20000 * s + " contributed to this repor",
    lambda s: "This article has been updated" + " x" * 10000 * s + "\n" * 5,
    lambda s: "\n" * 20000 * s,
    lambda s: "—\n" * 10000 * s,
]


@pytest.mark.parametrize("rule", [r.name for r in CONFIG.clean.rules])
def test_default_rule_survives_adversarial_input(rule: str) -> None:
    only = Cleaner(CleanConfig(rules=[r for r in CONFIG.clean.rules if r.name == rule]))
    for text in ADVERSARIAL:
        ratio = growth(only.clean, text)
        assert ratio < MAX_RATIO, f"rule {rule}: {GROWTH} times the input costs {ratio:.0f} times the CPU on {text(1)[:30]!r}..."


def test_the_growth_measure_tells_a_backtracking_rule() -> None:
    """A pattern whose failing match is retried from every position of a run: quadratic."""
    backtracking = Cleaner(CleanConfig(rules=[Rule(name="runs", kind="inline", pattern=r"[a ]+b[0-9]")]))
    assert growth(backtracking.clean, lambda s: "a " * 2000 * s + "bx") > MAX_RATIO
    assert growth(CLEANER.clean, lambda s: "a " * 2000 * s + "bx") < MAX_RATIO


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
