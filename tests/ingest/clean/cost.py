"""How the cost of cleaning grows with its input, in a measure the machine's speed
cancels out of: the CPU time on an input GROWTH times longer over the CPU time on the
input itself, both measured here, now.

Linear matching gives about GROWTH (3.1 to 5.0 measured over the default rules and the
adversarial inputs of test_safety.py); a rule that backtracks quadratically over a run
gives GROWTH squared, exponentially never ends (pytest-timeout stops the test). CPU time,
not wall-clock time, so that other processes on the machine do not count; the best of a
few, so that a page fault or a collection does not either.
"""

from __future__ import annotations

import time
from collections.abc import Callable

GROWTH = 4
MAX_RATIO = 10  # between linear (4) and quadratic (16)
_REPEATS = 3

# An input as a function of its scale: 1 gives the input, GROWTH one GROWTH times longer,
# grown where a backtracking engine would go wrong (the run of repeated characters).
Scalable = Callable[[int], str]


def cpu_seconds(work: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(_REPEATS):
        started = time.process_time()
        work()
        best = min(best, time.process_time() - started)
    return best


def growth(clean: Callable[[str], object], text: Scalable) -> float:
    """How many times more CPU `clean` takes on text(GROWTH) than on text(1)."""
    small, large = text(1), text(GROWTH)
    return cpu_seconds(lambda: clean(large)) / max(cpu_seconds(lambda: clean(small)), 1e-6)
