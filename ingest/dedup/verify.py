"""Whether two texts are one story: aligned words, containment, and agreeing figures and names.

The LSH only proposes candidates; this decides them, exactly, on the two word sequences:

- the words are aligned (longest common subsequences of the word hashes, rapidfuzz's
  Indel): runs of at least `moved_run_words` first, in or out of order (a sentence
  or a paragraph moved), then what is left on both sides, in order, word by word;
- similarity = 2 * aligned / (words of a + words of b): the share of words an editor
  left in place (a word changed every twenty words: 0.97; a notice of one template
  with other figures: near 1 too, hence the last point);
- containment = aligned / words of the shorter text, less its headline where the
  headline differs (`word_marks`'s HEADLINE): 1.0 for a trimmed copy, under a new
  headline too;
- a conflict is a substitution (words deleted and inserted in one place, at most
  `max_substitution_words` on each side; or a deletion and an insertion at most
  `substitution_gap_words` aligned words apart) where each side carries a figure the
  other does not, or each a name the other does not (`ingest/dedup/marks.py`): "net
  up 4.20 billion" against "net up 3.95 billion", "Arsenal" against "Chelsea", "Pay
  June 1 Record May 15" against "Pay May 15 Record April 10" (the "May 15" aligned
  between the two changes). A range in one text that is one of its ends in the other
  is a conflict too (`_ranges_cut`): "4,000 to 5,000 tonnes" against "5,000 tonnes".
  One conflict makes the texts different notices. A figure where the other has a name
  is an editor's slip, not another notice. (A figure only deleted in one place and
  another only inserted further away is not seen: reading those as conflicts refused a
  third of the copies with 5 % of their words edited at random, bench/dedup_eval.py.)

`kind_of` turns that into the decision: "duplicate" when the similarity reaches
`duplicate_similarity`, "contained" when the containment reaches `contained_share`,
the shorter text has at least `contained_min_words` (its headline aside), starts
within `contained_lead_words` of the longer one's start (its headline aside: not a
notice quoted inside a digest) and the longer has at most `contained_max_ratio` times
its words (not a short notice opening a digest of other stories), otherwise not a pair.
"""

from __future__ import annotations

import bisect
import functools
from dataclasses import dataclass

import numpy as np
from rapidfuzz.distance import Indel

from ingest.config import DedupConfig
from ingest.dedup.marks import FIGURE, HEADLINE, NAME
from ingest.dedup.shingles import word_hashes

# Rounds of aligning runs over what is left unaligned: moved sentences, then sentences
# moved among those (a paragraph's sentences shuffled needs more than one).
_REALIGNMENTS = 8


@dataclass(frozen=True)
class Comparison:
    """Two texts compared word by word (a: the first, b: the second)."""

    words_a: int
    words_b: int
    aligned: int  # words aligned between the two
    conflicts: int  # substitutions of a figure or name by another
    # Words before the first run aligned with the other text: a new headline, or
    # another story's text before this one ...
    lead_a: int = 0
    lead_b: int = 0
    # ... and of those, the words on the text's headline (`word_marks`'s HEADLINE): a
    # new headline, not counted against containment.
    headline_a: int = 0
    headline_b: int = 0

    @property
    def similarity(self) -> float:
        total = self.words_a + self.words_b
        return 1.0 if total == 0 else 2 * self.aligned / total

    @property
    def containment(self) -> float:
        """The share of the shorter text's words aligned, its headline not counted (a
        copy under a new headline is still all in the other text)."""
        shorter = self.shorter_words()
        return 1.0 if shorter == 0 else min(1.0, self.aligned / shorter)

    def shorter_words(self) -> int:
        """The shorter text's words, less its headline."""
        return self.words_b - self.headline_b if self.a_contains_b() else self.words_a - self.headline_a

    def longer_lead(self) -> int:
        """The longer text's words before the shorter one starts, its headline not counted."""
        return self.lead_a - self.headline_a if self.a_contains_b() else self.lead_b - self.headline_b

    def a_contains_b(self) -> bool:
        """Whether a is the longer text (a contains b when the pair is "contained")."""
        return self.words_a > self.words_b

    def swapped(self) -> Comparison:
        """The same comparison with b as the first text."""
        return Comparison(self.words_b, self.words_a, self.aligned, self.conflicts, self.lead_b, self.lead_a,
                          self.headline_b, self.headline_a)


def compare(tokens_a: np.ndarray, marks_a: np.ndarray, tokens_b: np.ndarray, marks_b: np.ndarray,
            config: DedupConfig) -> Comparison:
    """Align the word hashes of two texts (`token_hashes`) with their `word_marks`.

    Runs of at least `moved_run_words` are aligned first, in as many rounds as find
    more (a moved sentence is such a run, out of order); then the words left on each
    side, in their order, are aligned word by word (the words between an editor's
    changes). Substitutions are checked for conflicts in the first alignment, of
    the two whole texts in order.
    Aligning every word at once would let the common words of a moved sentence
    ("the", "said") pair up in place and break the sentence into pieces too short to
    find.
    """
    if len(tokens_a) > len(tokens_b) or (len(tokens_a) == len(tokens_b) and tokens_a.tobytes() > tokens_b.tobytes()):
        # One order for the pair: an alignment may choose among equally long ones by
        # which text is first, and the decision must not depend on the input's order.
        return compare(tokens_b, marks_b, tokens_a, marks_a, config).swapped()
    rest_a, rest_b = np.arange(len(tokens_a)), np.arange(len(tokens_b))
    aligned = 0
    in_order: list[tuple] = []  # the first round's alignment: both texts whole, in order
    left_common = None  # the longest common subsequence of the words left, in order
    for round_ in range(_REALIGNMENTS):
        if round_ and min(len(rest_a), len(rest_b)) < config.moved_run_words:
            break  # no run that long is left to find
        found, rest_a, rest_b, ops = _align(tokens_a, tokens_b, rest_a, rest_b, config.moved_run_words)
        in_order = ops if round_ == 0 else in_order
        aligned += found
        if found == 0:
            # This round's equal operations, over exactly the words left, are their longest
            # common subsequence.
            left_common = sum(a1 - a0 for tag, a0, a1, _, _ in ops if tag == "equal")
            break
    if left_common is None:  # the words left, in order: no operations needed
        left_common = (len(rest_a) + len(rest_b) - Indel.distance(tokens_a[rest_a].tolist(),
                                                                  tokens_b[rest_b].tolist())) // 2
    aligned += left_common
    # Substitutions are read where both texts are whole and in order (in what is left
    # after the runs, the changes of different places stand side by side), of the
    # words no round aligned: a figure of a moved sentence is found where it went.
    kinds_a = np.zeros(len(tokens_a), dtype=np.uint8)
    kinds_b = np.zeros(len(tokens_b), dtype=np.uint8)
    kinds_a[rest_a] = marks_a[rest_a] & (FIGURE | NAME)
    kinds_b[rest_b] = marks_b[rest_b] & (FIGURE | NAME)
    changes = _changes(in_order)
    bounds = tuple(zip(*changes)) if changes else ((), (), (), ())  # a0s, a1s, b0s, b1s
    # Only a substitution with a figure or a name on each side can be a conflict: the
    # few changes that hold one are found from those positions, not by reading each.
    marked_a, marked_b = np.flatnonzero(kinds_a).tolist(), np.flatnonzero(kinds_b).tolist()
    conflicts = 0
    if marked_a and marked_b:
        substitutions = [changes[i] for i in sorted(_holding(marked_a, bounds[0], bounds[1])
                                                    & _holding(marked_b, bounds[2], bounds[3]))]
        substitutions += [(a0, a1, b0, b1) for a0, a1, b0, b1 in _joined(changes, config.substitution_gap_words)
                          if _holds(marked_a, a0, a1) and _holds(marked_b, b0, b1)]
        conflicts = sum(1 for a0, a1, b0, b1 in substitutions
                        if max(a1 - a0, b1 - b0) <= config.max_substitution_words
                        and _replaced(tokens_a[a0:a1], kinds_a[a0:a1], tokens_b[b0:b1], kinds_b[b0:b1]))
    conflicts += _ranges_cut(changes, bounds, tokens_a, marks_a, kinds_a, tokens_b, kinds_b, config)
    lead_a, lead_b = next(((a0, b0) for tag, a0, a1, b0, b1 in in_order
                           if tag == "equal" and a1 - a0 >= config.moved_run_words), (len(tokens_a), len(tokens_b)))
    return Comparison(len(tokens_a), len(tokens_b), aligned, conflicts, lead_a, lead_b,
                      _headline(marks_a, lead_a), _headline(marks_b, lead_b))


def _headline(marks: np.ndarray, lead: int) -> int:
    """The words of a text's lead that are on its headline (the headline's words come first)."""
    return min(lead, int(np.count_nonzero(marks & HEADLINE))) if lead else 0


def _replaced(tokens_a: np.ndarray, kinds_a: np.ndarray, tokens_b: np.ndarray, kinds_b: np.ndarray) -> bool:
    """Whether, of these words (`kinds`: FIGURE, NAME or 0), a figure is replaced by
    another figure, or a name by another name: each side has one of that kind the other
    has not (a name only added, beside the other's, is an editor's addition; a figure
    where the other has a name is an edit, not another notice of one template, whose
    figures and names stay in their places)."""
    for kind in (FIGURE, NAME):
        a, b = set(tokens_a[kinds_a == kind].tolist()), set(tokens_b[kinds_b == kind].tolist())
        if a - b and b - a:
            return True
    return False


def _ranges_cut(changes: list[tuple[int, int, int, int]], bounds: tuple[tuple[int, ...], ...],
                tokens_a: np.ndarray, marks_a: np.ndarray, kinds_a: np.ndarray, tokens_b: np.ndarray,
                kinds_b: np.ndarray, config: DedupConfig) -> int:
    """How many changes make a range of one text a single figure in the other: inside
    both texts, at most `max_substitution_words` on each side, one side without a
    figure, the other a range's end and its `range_words` beside a figure both texts
    have. "4,000 to 5,000 tonnes" against "5,000 tonnes" deletes "4 000 to" before the
    "5"; "1.5 to two billion dlrs" against "1.5 billion dlrs" deletes "to two" after
    it: another quantity. A clause added beside a figure ("in 1986 and employs 680
    people", "fiscal 1987 ending October 1") is an editor's addition, not read so.
    `bounds`: the changes' a0s, a1s, b0s and b1s."""
    figures_a = np.flatnonzero(kinds_a == FIGURE).tolist()  # most pairs: no figure left unaligned
    figures_b = np.flatnonzero(kinds_b == FIGURE).tolist()
    if not (figures_a or figures_b):
        return 0
    ranges = _hashes(tuple(config.range_words))
    with_a = _holding(figures_a, bounds[0], bounds[1])
    found = 0
    for i in sorted(with_a ^ _holding(figures_b, bounds[2], bounds[3])):  # a figure on one side only
        a0, a1, b0, b1 = changes[i]
        if a0 == 0 or b0 == 0 or a1 == len(kinds_a) or b1 == len(kinds_b) or (
                max(a1 - a0, b1 - b0) > config.max_substitution_words):
            continue
        tokens, kinds = (tokens_a[a0:a1], kinds_a[a0:a1]) if i in with_a else (tokens_b[b0:b1], kinds_b[b0:b1])
        if len(tokens) < 2:
            continue
        before = marks_a[a0 - 1] & FIGURE and int(tokens[0]) in ranges and kinds[1] == FIGURE
        after = marks_a[a1] & FIGURE and int(tokens[-1]) in ranges and kinds[-2] == FIGURE
        found += bool(before or after)
    return found


@functools.lru_cache(maxsize=8)
def _hashes(words: tuple[str, ...]) -> frozenset[int]:
    return frozenset(word_hashes(list(words)).tolist())


def _changes(ops: list[tuple]) -> list[tuple[int, int, int, int]]:
    """The places where two texts differ, as (a0, a1, b0, b1): the words deleted and
    inserted between two aligned runs of the operations (tag, a0, a1, b0, b1)."""
    changes, start = [], None
    for tag, a0, a1, b0, b1 in ops + [("equal", 0, 0, 0, 0)]:
        if tag != "equal":
            start = start or (a0, b0)
            end = (a1, b1)
        elif start is not None:
            changes.append((start[0], end[0], start[1], end[1]))
            start = None
    return changes


def _joined(changes: list[tuple[int, int, int, int]], gap_words: int) -> list[tuple[int, int, int, int]]:
    """What one text has in place of the other's, besides each of the `changes`: a
    deletion and an insertion apart by at most `gap_words` aligned words, read as one
    (a0, a1, b0, b1). "Pay June 1 Record May 15" against "Pay May 15 Record April 10"
    aligns "May 15" and leaves "June 1" deleted before it and "April 10" inserted after
    it; "7.3 cts" against "3.6 cts" aligns the "3" ("7.3" is two words). Only
    neighbours are joined: a longer chain of changes would be too long to read as one
    substitution, where each pair of it is not."""
    return [(first[0], second[1], first[2], second[3]) for first, second in zip(changes, changes[1:])
            if second[0] - first[1] <= gap_words and _deletion_and_insertion(first, second)]


def _deletion_and_insertion(first: tuple[int, int, int, int], second: tuple[int, int, int, int]) -> bool:
    """Whether one of two changes only deletes words and the other only inserts some."""
    deletes = [a1 > a0 and b1 == b0 for a0, a1, b0, b1 in (first, second)]
    inserts = [a1 == a0 and b1 > b0 for a0, a1, b0, b1 in (first, second)]
    return (deletes[0] and inserts[1]) or (inserts[0] and deletes[1])


def _holds(positions: list[int], start: int, end: int) -> bool:
    """Whether any of the sorted `positions` is in start..end-1."""
    i = bisect.bisect_left(positions, start)
    return i < len(positions) and positions[i] < end


def _holding(positions: list[int], starts: tuple[int, ...], ends: tuple[int, ...]) -> set[int]:
    """Which of the ranges starts[i]..ends[i]-1 (in order, apart: the changes of one
    side, each after an aligned word) hold any of `positions`."""
    held = set()
    for position in positions:
        i = bisect.bisect_right(starts, position) - 1
        if i >= 0 and position < ends[i]:
            held.add(i)
    return held


def _align(tokens_a: np.ndarray, tokens_b: np.ndarray, rest_a: np.ndarray, rest_b: np.ndarray,
           shortest: int) -> tuple[int, np.ndarray, np.ndarray, list[tuple]]:
    """One alignment of the words at positions `rest_a` and `rest_b`: how many words it
    aligns in runs of at least `shortest`, the positions left on each side, and its
    operations (tag, a0, a1, b0, b1 over `rest_a` and `rest_b`)."""
    if len(rest_a) == 0 or len(rest_b) == 0:
        return 0, rest_a, rest_b, []
    ops = Indel.opcodes(tokens_a[rest_a].tolist(), tokens_b[rest_b].tolist()).as_list()
    runs = [(a0, a1, b0, b1) for tag, a0, a1, b0, b1 in ops if tag == "equal" and a1 - a0 >= shortest]
    if not runs:
        return 0, rest_a, rest_b, ops
    keep_a = np.ones(len(rest_a), dtype=bool)
    keep_b = np.ones(len(rest_b), dtype=bool)
    for a0, a1, b0, b1 in runs:
        keep_a[a0:a1] = keep_b[b0:b1] = False
    return sum(a1 - a0 for a0, a1, _, _ in runs), rest_a[keep_a], rest_b[keep_b], ops


def may_be_one_story(words_a: tuple[np.ndarray, np.ndarray], words_b: tuple[np.ndarray, np.ndarray],
                     config: DedupConfig) -> bool:
    """False when no alignment of the two texts (word hashes and marks) can make them one
    story: the words they share (as multisets) bound the words any alignment pairs.
    Most LSH candidates that are not one story are refused here, at a tenth of the cost
    of aligning them."""
    (tokens_a, marks_a), (tokens_b, marks_b) = words_a, words_b
    if len(tokens_a) == 0 or len(tokens_b) == 0:
        return True
    # The longest common subsequence of the sorted words is their multiset intersection.
    shared = (len(tokens_a) + len(tokens_b) - Indel.distance(np.sort(tokens_a).tolist(), np.sort(tokens_b).tolist())) // 2
    if 2 * shared >= config.duplicate_similarity * (len(tokens_a) + len(tokens_b)):
        return True
    shorter, longer = sorted((len(tokens_a), len(tokens_b)))
    if shorter < config.contained_min_words or longer > config.contained_max_ratio * shorter:
        return False
    # Containment does not count the shorter text's headline: at least this many words count.
    body = min(len(tokens_a) - int(np.count_nonzero(marks_a & HEADLINE)),
               len(tokens_b) - int(np.count_nonzero(marks_b & HEADLINE)))
    return shared >= config.contained_share * body


def kind_of(c: Comparison, config: DedupConfig) -> str | None:
    """"duplicate", "contained", or None: not one story (see the module docstring)."""
    if c.conflicts:
        return None
    if c.similarity >= config.duplicate_similarity:
        return "duplicate"
    # Contained: the shorter text, its headline aside, is all in the longer, from (near)
    # its start: a cut or an extension, not one story quoted whole inside another text.
    if (c.containment >= config.contained_share and c.shorter_words() >= config.contained_min_words
            and c.longer_lead() <= config.contained_lead_words
            and max(c.words_a, c.words_b) <= config.contained_max_ratio * c.shorter_words()):
        return "contained"
    return None
