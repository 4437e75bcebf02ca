"""Whether two texts are one story: aligned words, containment, and agreeing figures and names.

The LSH only proposes candidates; this decides them, exactly, on the two word sequences:

- the words are aligned (longest common subsequences of the word hashes, by rapidfuzz's Indel):
  runs of at least `moved_run_words` first, in or out of order (a sentence or a
  paragraph moved), then what is left on both sides, in order, word by word;
- similarity = 2 * aligned / (words of a + words of b): the share of words an editor
  left in place (a word changed every twenty words: 0.97; a notice of one template
  with other figures: near 1 too, hence the next point);
- containment = aligned / words of the shorter text: 1.0 for a trimmed copy;
- a conflict is a short substitution (words deleted and inserted in one place, at most
  `max_substitution_words` on each side)
  that puts a figure or a name where the other text has a figure or a name
  (`ingest/dedup/marks.py`): "net up 4.20 billion" against "net up 3.95 billion", or
  "Arsenal" against "Chelsea". One conflict makes the texts different notices.

`kind_of` turns that into the decision: "duplicate" when the similarity reaches
`duplicate_similarity`, "contained" when the containment reaches `contained_share`
and the shorter text has at least `contained_min_words`, otherwise not a pair.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from rapidfuzz.distance import Indel

from ingest.config import DedupConfig

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

    @property
    def similarity(self) -> float:
        total = self.words_a + self.words_b
        return 1.0 if total == 0 else 2 * self.aligned / total

    @property
    def containment(self) -> float:
        shorter = min(self.words_a, self.words_b)
        return 1.0 if shorter == 0 else self.aligned / shorter

    def a_contains_b(self) -> bool:
        """Whether a is the longer text (a contains b when the pair is "contained")."""
        return self.words_a > self.words_b


def compare(tokens_a: np.ndarray, marks_a: np.ndarray, tokens_b: np.ndarray, marks_b: np.ndarray,
            config: DedupConfig) -> Comparison:
    """Align the word hashes of two texts (`token_hashes`) with their `word_marks`.

    Runs of at least `moved_run_words` are aligned first, in as many rounds as find
    more (a moved sentence is such a run, out of order); then the words left on each
    side, in their order, are aligned word by word (the words between an editor's
    changes), and the substitutions of that last round are checked for conflicts.
    Aligning every word at once would let the common words of a moved sentence
    ("the", "said") pair up in place and break the sentence into pieces too short to
    find.
    """
    rest_a, rest_b = np.arange(len(tokens_a)), np.arange(len(tokens_b))
    aligned = 0
    for _ in range(_REALIGNMENTS):
        found, rest_a, rest_b, _ops = _align(tokens_a, tokens_b, rest_a, rest_b, config.moved_run_words)
        aligned += found
        if found == 0:
            break
    found, _, _, ops = _align(tokens_a, tokens_b, rest_a, rest_b, 1)
    conflicts = sum(1 for a0, a1, b0, b1 in _substitutions(ops)
                    if max(a1 - a0, b1 - b0) <= config.max_substitution_words
                    and marks_a[rest_a[a0:a1]].any() and marks_b[rest_b[b0:b1]].any())
    return Comparison(len(tokens_a), len(tokens_b), aligned + found, conflicts)


def _substitutions(ops: list[tuple]) -> list[tuple[int, int, int, int]]:
    """The words deleted and inserted between two aligned runs, as (a0, a1, b0, b1): what
    one text has in place of the other's."""
    found, start = [], None
    for tag, a0, a1, b0, b1 in ops + [("equal", 0, 0, 0, 0)]:
        if tag != "equal":
            start = start or (a0, b0)
            end = (a1, b1)
        elif start is not None:
            found.append((start[0], end[0], start[1], end[1]))
            start = None
    return found


def _align(tokens_a: np.ndarray, tokens_b: np.ndarray, rest_a: np.ndarray, rest_b: np.ndarray,
           shortest: int) -> tuple[int, np.ndarray, np.ndarray, list[tuple]]:
    """One alignment of the words at positions `rest_a` and `rest_b`: how many words it
    aligns in runs of at least `shortest`, the positions left on each side, and its
    operations (tag, a0, a1, b0, b1 over `rest_a` and `rest_b`)."""
    if len(rest_a) == 0 or len(rest_b) == 0:
        return 0, rest_a, rest_b, []
    keep_a = np.ones(len(rest_a), dtype=bool)
    keep_b = np.ones(len(rest_b), dtype=bool)
    found = 0
    ops = Indel.opcodes(tokens_a[rest_a].tolist(), tokens_b[rest_b].tolist()).as_list()
    for tag, a0, a1, b0, b1 in ops:
        if tag == "equal" and a1 - a0 >= shortest:
            keep_a[a0:a1] = keep_b[b0:b1] = False
            found += a1 - a0
    return found, rest_a[keep_a], rest_b[keep_b], ops


def kind_of(c: Comparison, config: DedupConfig) -> str | None:
    """"duplicate", "contained", or None: not one story (see the module docstring)."""
    if c.conflicts:
        return None
    if c.similarity >= config.duplicate_similarity:
        return "duplicate"
    if c.containment >= config.contained_share and min(c.words_a, c.words_b) >= config.contained_min_words:
        return "contained"
    return None
