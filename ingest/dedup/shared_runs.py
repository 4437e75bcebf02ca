"""Step 3 of passage search (`passages.py`): the runs of n-grams pairs of stories share,
found for many pairs at once, and merged into passages."""

from __future__ import annotations

import itertools
from collections.abc import Iterable

import numpy as np

from ingest.config import PassageConfig
from ingest.dedup.stock_phrases import ANCHOR_MIX, NO_STOCK, StockAnchors, run_stock_words

# The table that passage search looks keys of n-grams up in first (`shared_runs`).
_TABLE_BITS = 20
_TABLE_SHIFT = np.uint64(64 - _TABLE_BITS)
# Groups of runs a run may still join (`merged_passages`).
_OPEN_GROUPS = 4
# A shared run of words: (a_start, a_end, b_start, b_end, words stock anchors cover).
Run = tuple[int, int, int, int, int]


def shared_runs(grams_as: list[np.ndarray], grams_bs: list[list[np.ndarray]], config: PassageConfig,
                stock: StockAnchors = NO_STOCK) -> list[list[Run]]:
    """For each pair of a group (the a of `grams_as[g]` with each b of `grams_bs[g]` in
    turn, the groups in order): the maximal runs of consecutive n-grams b shares with a
    on one diagonal, as sorted word spans (a_start, a_end, b_start, b_end) with the count
    of their words that `stock` n-grams cover.

    Each n-gram is keyed by its group in the top bits, above the top bits of its hash,
    so that every group's a is searched at once; a key found is a match when the hashes
    are equal too."""
    n = config.ngram
    groups = len(grams_as)
    bs = list(itertools.chain.from_iterable(grams_bs))
    pair_group = np.repeat(np.arange(groups), [len(others) for others in grams_bs])
    a_sizes = np.fromiter(map(len, grams_as), dtype=np.int64, count=groups)
    b_sizes = np.fromiter(map(len, bs), dtype=np.int64, count=len(bs))
    a_first, b_first = np.cumsum(a_sizes) - a_sizes, np.cumsum(b_sizes) - b_sizes
    grams_a, grams_b = np.concatenate(grams_as), np.concatenate(bs)
    group_bits = np.uint64(max(1, (groups - 1).bit_length()))
    above = np.uint64(64) - group_bits
    keys_a = grams_a >> group_bits
    keys_a |= np.repeat(np.arange(groups, dtype=np.uint64), a_sizes) << above
    order_a = np.argsort(keys_a)
    sorted_a = keys_a[order_a]
    del keys_a
    runs: list[list[Run]] = [[] for _ in bs]
    if len(sorted_a) == 0:
        return runs
    # The groups whose a holds a key twice (a repeated n-gram, or two sharing their
    # key's bits): an n-gram of b may meet several of its n-grams.
    repeats = np.zeros(groups, dtype=bool)
    repeats[(sorted_a[1:][sorted_a[1:] == sorted_a[:-1]] >> above).astype(np.int64)] = True
    owner = np.repeat(np.arange(len(bs)), b_sizes)  # the pair of each n-gram of b
    keys_b = grams_b >> group_bits
    keys_b |= pair_group.astype(np.uint64)[owner] << above
    # Only the n-grams of b whose key's slot a table of a's keys holds are searched for:
    # most are in no a, and a lookup in a 1 MB table costs less than a search.
    in_a = np.zeros(1 << _TABLE_BITS, dtype=bool)
    in_a[_slots(sorted_a)] = True
    maybe = np.flatnonzero(in_a[_slots(keys_b)])
    needles = keys_b[maybe]
    del keys_b, in_a
    left = np.searchsorted(sorted_a, needles)
    counts = (sorted_a[np.minimum(left, len(sorted_a) - 1)] == needles).astype(np.int64)
    again = np.flatnonzero(counts)
    again = again[repeats[(needles[again] >> above).astype(np.int64)]]
    counts[again] = np.searchsorted(sorted_a, needles[again], "right") - left[again]
    hit = np.flatnonzero(counts)
    per = counts[hit]
    jb = np.repeat(maybe[hit], per)
    within = np.arange(len(jb)) - np.repeat(np.cumsum(per) - per, per)
    at_a = order_a[np.repeat(left[hit], per) + within]
    same = grams_a[at_a] == grams_b[jb]
    at_a, jb = at_a[same], jb[same]
    owner = owner[jb]
    # A passage of min_words words needs at least this many shared n-grams.
    enough = np.bincount(owner, minlength=len(bs)) * n >= config.min_words
    keep = enough[owner]
    owner, at_a, jb = owner[keep], at_a[keep], jb[keep]
    if len(owner) == 0:
        return runs
    ia = at_a - a_first[pair_group[owner]]
    diagonal = jb - b_first[owner] - ia
    # The matches of groups with repeats sorted by diagonal. In the others each n-gram
    # of b meets one of a at most: in b's order (pair, jb), the next n-gram of a run on
    # a diagonal is the next match, so their runs are found unsorted.
    sort = repeats[pair_group[owner]]
    if sort.any():
        sorted_part = np.flatnonzero(sort)
        sorted_part = sorted_part[np.lexsort((ia[sorted_part], diagonal[sorted_part], owner[sorted_part]))]
        order = np.concatenate((np.flatnonzero(~sort), sorted_part))
        owner, ia, diagonal, at_a = owner[order], ia[order], diagonal[order], at_a[order]
    breaks = np.flatnonzero((owner[1:] != owner[:-1]) | (diagonal[1:] != diagonal[:-1])
                            | (ia[1:] != ia[:-1] + 1)) + 1
    first = np.concatenate(([0], breaks))
    last = np.concatenate((breaks, [len(ia)])) - 1
    a_start, a_end, shift = ia[first], ia[last] + n, diagonal[first]
    stocked = stock.mask(grams_a[at_a]) if len(stock.keys) else None
    stock_words = run_stock_words(ia, first, stocked, n)
    for b, run in zip(owner[first].tolist(), zip(a_start.tolist(), a_end.tolist(), (a_start + shift).tolist(),
                                                 (a_end + shift).tolist(), stock_words.tolist())):
        runs[b].append(run)
    for found in runs:
        if len(found) > 1:
            found.sort()
    return runs


def _slots(keys: np.ndarray) -> np.ndarray:
    """Each key's slot in a table of 2 ** _TABLE_BITS: the top bits of the mixed key."""
    slots = keys * ANCHOR_MIX  # wraps around, as arrays do, silently
    slots >>= _TABLE_SHIFT
    return slots


def merged_passages(runs: list[Run], config: PassageConfig) -> list[tuple]:
    """Runs merged into passages: (a_start, a_end, b_start, b_end, a_share, b_share,
    words), where words are the shared ones stock n-grams do not cover. A run joins the
    latest of the last _OPEN_GROUPS groups it follows closely, so that a run of text
    repeated elsewhere in one document, sorted between the two parts of a quote, does
    not keep them apart."""
    n, most_gap, most_insert = config.ngram, config.max_gap_words, config.max_insert_words
    groups: list[list[Run]] = []
    for run in runs:
        for k in range(len(groups) - 1, max(-1, len(groups) - 1 - _OPEN_GROUPS), -1):
            group = groups[k]
            gap_a, gap_b = run[0] - group[-1][1], run[2] - group[-1][3]
            if gap_a > gap_b:
                gap_a, gap_b = gap_b, gap_a
            # Close on one side, with at most an inserted attribution on the other,
            # and in the same order in both documents.
            if -n < gap_a <= most_gap and gap_b <= most_insert and run[2] >= group[0][2]:
                group.append(run)
                break
        else:
            groups.append([run])
    return [p for p in map(_passage, groups) if p[6] >= config.min_words]


def _passage(group: list[Run]) -> tuple:
    if len(group) == 1:  # most groups: one run, as long on both sides, all of it shared
        a_start, a_end, b_start, b_end, stock = group[0]
        return a_start, a_end, b_start, b_end, 1.0, 1.0, a_end - a_start - stock
    a_words = _covered(sorted((r[0], r[1]) for r in group))
    b_words = _covered(sorted((r[2], r[3]) for r in group))
    a_start, a_end = group[0][0], max(r[1] for r in group)
    b_start, b_end = min(r[2] for r in group), max(r[3] for r in group)
    return (
        a_start, a_end, b_start, b_end,
        round(a_words / (a_end - a_start), 4), round(b_words / (b_end - b_start), 4),
        min(a_words, b_words) - sum(r[4] for r in group),
    )


def _covered(spans: Iterable[tuple[int, int]]) -> int:
    total, reach = 0, -1
    for s, e in spans:
        if e > reach:
            total += e - max(s, reach)
            reach = e
    return total
