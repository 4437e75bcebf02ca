"""Which words of a text are figures or names: what two notices of one template differ in.

A figure is a word with a digit in it ("4.20", "1987", "2-1" gives "2" and "1"), or one
of `[dedup] figure_words` ("two billion dlrs" against "one billion dlrs"). A name
is a capitalised word inside a sentence (not the first word of the text, of a
paragraph or of a sentence: after `.`, `!`, `?` or `:`, opening quotes skipped), or
one opening a sentence that the text never writes in lower case and that is a name
elsewhere in it or is followed by one; never on the headline (a first paragraph of one
short line not ending a sentence, capitalised for style). Verification (`ingest/dedup/verify.py`) refuses a pair whose
aligned texts put different figures or names in one place.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

import numpy as np

from ingest.arrays import unique
from ingest.dedup.shingles import BMP_WORD, TEXT_SEPARATOR, text_offsets, word_hashes

FIGURE = np.uint8(1)
NAME = np.uint8(2)
HEADLINE = np.uint8(4)  # a bit beside the others: the word is on the text's headline
NO_MARKS = np.empty(0, dtype=np.uint8)

# The tables below have one entry more, for every astral character: False.
_ASTRAL = np.uint32(0x10000)
_BMP = "".join(map(chr, range(0x10000)))
_BMP_DIGIT = np.array([c.isdigit() for c in _BMP] + [False], dtype=bool)
_BMP_UPPER = np.array([c.isupper() or c.istitle() for c in _BMP] + [False], dtype=bool)
# Characters looked through when finding what precedes a word: spaces, quotes, brackets.
_BMP_SKIPPED = np.array([c.isspace() or c in "\"'“”‘’«»([{<" for c in _BMP] + [False], dtype=bool)
# What may stand between two words and is not looked through: neither skipped nor a
# word character (every astral character: one inside a word is never the last before
# another word's start, its word's last character is).
_BMP_BETWEEN = np.append(~_BMP_SKIPPED[:-1] & ~BMP_WORD, True)
_SENTENCE_END = np.zeros(0x10001, dtype=bool)
_SENTENCE_END[[ord(c) for c in ".!?:"]] = True
_NEWLINE = np.uint32(ord("\n"))
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")
_HEADLINE_WORDS = 20
# `_among` looks values up in a table of the low bits of this few first; and the others
# in a table of the values' low bits when they are at most _SOME (the capitalised
# words opening sentences among all the words: most have none of those low bits).
_FEW = 256
_SOME = 1 << 14
_LOW_BITS = 0xFFFF


@functools.lru_cache(maxsize=8)
def _word_set(words: tuple[str, ...]) -> np.ndarray:
    return unique(word_hashes(list(words)))


def word_marks(text: str, spans: np.ndarray, tokens: np.ndarray, figure_words: Sequence[str],
               not_names: Sequence[str] = ()) -> np.ndarray:
    """One uint8 per word of `spans` (rows of start, end in `text`; `tokens` their
    `token_hashes`): FIGURE, NAME or 0, with the bit HEADLINE on the headline's words.
    `figure_words` are figures, `not_names` never names."""
    return texts_word_marks([text], spans, tokens, np.array([0, len(spans)]), figure_words, not_names)


def texts_word_marks(texts: Sequence[str], spans: np.ndarray, tokens: np.ndarray, offsets: np.ndarray,
                     figure_words: Sequence[str], not_names: Sequence[str] = ()) -> np.ndarray:
    """`word_marks` of each text, concatenated, in one set of array operations
    (`texts_hashes_and_spans` gives the words, each text's from `offsets[i]`)."""
    if len(spans) == 0:
        return NO_MARKS
    codes = np.frombuffer(TEXT_SEPARATOR.join(texts).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    # Astral characters are looked up as _ASTRAL: neither digit, capital nor space.
    bmp = np.minimum(codes, _ASTRAL)
    of_text = np.repeat(np.arange(len(texts)), np.diff(offsets))
    text_starts = text_offsets(texts)[of_text]
    starts, ends = spans[:, 0] + text_starts, spans[:, 1] + text_starts
    # What is needed of the characters is found from the sorted places of the few that
    # matter (digits, line breaks, punctuation), each looked up among the words' starts
    # (fewer searches than the words' among them), rather than by running sums over all.
    digits = np.flatnonzero(_BMP_DIGIT[bmp])
    word_of_digit = np.searchsorted(starts, digits, "right") - 1  # the last word starting at or before it
    figure = _among(tokens, _word_set(tuple(figure_words)))
    figure[word_of_digit[(word_of_digit >= 0) & (digits < ends[np.maximum(word_of_digit, 0)])]] = True
    # The last character before each word that is not a space, quote or bracket (the
    # separator ending the text before, a sentence's end, for a text's first word):
    # the last such character between it and the word before, if any (`_BMP_BETWEEN`),
    # else the last character of the word before (a word character).
    between = np.append(-1, np.flatnonzero(_BMP_BETWEEN[bmp]))  # -1: none
    before = np.maximum(between[np.searchsorted(between, starts) - 1], np.append(0, ends[:-1]) - 1)
    # Two line breaks or more between that character and the word: a new paragraph.
    newlines = np.flatnonzero(codes == _NEWLINE)
    next_word = np.searchsorted(starts, newlines)  # the word after each line break
    after_before = next_word < len(starts)
    after_before[after_before] = newlines[after_before] > before[next_word[after_before]]
    opens_sentence = ((before < 0) | _SENTENCE_END[bmp[np.maximum(before, 0)]]
                      | (np.bincount(next_word[after_before], minlength=len(starts)) >= 2))
    upper = _BMP_UPPER[bmp[starts]]
    headline = starts < _headline_ends(texts)[of_text] + text_starts
    capital = upper & ~headline
    inside = capital & ~opens_sentence
    # A capitalised word opening a sentence is a name too when the text never writes it
    # in lower case and writes it as a name elsewhere or puts a name after it
    # ("Phillips Petroleum Corp said ...": "The" is written "the" somewhere). A word
    # is told from the other texts' by its text's number above its hash.
    words = (of_text.astype(np.uint64) << np.uint64(32)) | tokens
    opening = np.flatnonzero(capital & ~inside)
    proper = ~_among(words[opening], words[~upper])
    last = np.zeros(len(inside), dtype=bool)  # the last word of its text
    last[offsets[1:] - 1] = True
    named = (_among(words[opening], words[inside])
             | (inside[np.minimum(opening + 1, len(inside) - 1)] & ~last[opening]))
    name = inside.copy()
    name[opening] = proper & named
    name &= ~_among(tokens, _word_set(tuple(not_names)))
    return (np.where(figure, FIGURE, np.where(name, NAME, 0)) | np.where(headline, HEADLINE, 0)).astype(np.uint8)


def _among(values: np.ndarray, others: np.ndarray) -> np.ndarray:
    """`np.isin(values, others)`, by binary search in whichever of the two is smaller,
    sorted: the other one is never sorted."""
    if len(values) == 0 or len(others) == 0:
        return np.zeros(len(values), dtype=bool)
    if len(others) <= len(values):
        others = np.sort(others)
        found = np.zeros(len(values), dtype=bool)
        maybe = _low_bits_among(values, others) if len(others) <= _FEW else slice(None)
        found[maybe] = others[np.minimum(np.searchsorted(others, values[maybe]), len(others) - 1)] == values[maybe]
        return found
    ordered = np.sort(values)
    if len(ordered) <= _SOME:
        others = others[_low_bits_among(others, ordered)]
    at = np.searchsorted(ordered, others)
    present = np.zeros(len(ordered), dtype=bool)
    hit = ordered[np.minimum(at, len(ordered) - 1)] == others
    present[at[hit]] = True  # the first of equal values, where `values` are looked up below
    return present[np.searchsorted(ordered, values)]


def _low_bits_among(values: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Where `values` may be among the few `others`: those whose low bits some of them have."""
    table = np.zeros(_LOW_BITS + 1, dtype=bool)
    table[others & _LOW_BITS] = True
    return np.flatnonzero(table[values & _LOW_BITS])


def _headline_ends(texts: Sequence[str]) -> np.ndarray:
    """Where each text's headline ends, 0 when it has none: a first paragraph of one
    line, of at most `_HEADLINE_WORDS`, not ending a sentence, with more text after it."""
    return np.fromiter(map(_headline_end, texts), dtype=np.int64, count=len(texts))


def _headline_end(text: str) -> int:
    leading = len(text) - len(text.lstrip())
    found = _PARAGRAPH_BREAK.search(text, leading)
    if found is None:
        return 0
    line = text[leading : found.start()].rstrip()
    if line and "\n" not in line and line[-1] not in ".!?\"'”" and len(line.split()) <= _HEADLINE_WORDS:
        return leading + len(line)
    return 0
