"""Stock phrases of a run, learned by document frequency: the anchors (`passages.anchors`)
found in more of the run's stories than `stock_limit`, and the words they cover in a
shared run of words, which do not count towards a passage's `min_words`.

Anchors are stock, not every n-gram of a stock phrase: winnowing picks the same anchor
from every window of `passages.window` n-grams inside a phrase, so a phrase of at least
`anchor_words` words has stock anchors at most a window apart. A run made of stock
phrases side by side has left to count only the words at their joins and those a
window's first or last n-grams hold before the first stock anchor or after the last.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ingest.config import PassageConfig

# Anchors are keyed by their hash times this odd constant (one-to-one), whose top bits
# depend on every bit of the hash (`passages.packed_anchors`).
ANCHOR_MIX = np.uint64(0x9E3779B97F4A7C15)


@dataclass(frozen=True)
class StockAnchors:
    """The run's stock anchors, as `anchor_buckets` keys them: the top bits of the mixed
    hash, above `bits` (those of a story number), sorted."""

    keys: np.ndarray
    bits: int

    def mask(self, grams: np.ndarray) -> np.ndarray:
        """Which of these n-gram hashes are stock anchors."""
        if not len(self.keys):
            return np.zeros(len(grams), dtype=bool)
        keys = grams * ANCHOR_MIX  # wraps around, as arrays do, silently
        keys >>= np.uint64(self.bits)
        at = np.minimum(np.searchsorted(self.keys, keys), len(self.keys) - 1)
        return self.keys[at] == keys


NO_STOCK = StockAnchors(np.empty(0, dtype=np.uint64), 1)


def stock_limit(stories: int, config: PassageConfig) -> int:
    """An anchor found in more of the run's stories than this is a stock phrase's: more
    than `stock_min_documents`, and more than `stock_document_share` of them."""
    return max(config.stock_min_documents, math.floor(config.stock_document_share * stories))


def run_stock_words(ia: np.ndarray, first: np.ndarray, stock: np.ndarray | None, n: int) -> np.ndarray:
    """Per run (its n-grams' positions in a, `ia`, runs starting at `first`): how many
    of its words the stock n-grams among them cover (`stock`: which of these n-grams are
    stock; None: none is)."""
    stocked = np.flatnonzero(stock) if stock is not None else np.empty(0, dtype=np.int64)
    if not len(stocked):
        return np.zeros(len(first), dtype=np.int64)
    starts = np.zeros(len(ia), dtype=np.int64)
    starts[first[1:]] = 1
    run = np.cumsum(starts)[stocked]
    at = ia[stocked]
    # Words up to the next stock n-gram of the run (they overlap), n for the last one.
    reach = np.full(len(at), n, dtype=np.int64)
    same = run[1:] == run[:-1]
    reach[:-1][same] = np.minimum(n, at[1:] - at[:-1])[same]
    return np.bincount(run, weights=reach, minlength=len(first)).astype(np.int64)
