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

from ingest.dedup.shingles import word_hashes

FIGURE = np.uint8(1)
NAME = np.uint8(2)
HEADLINE = np.uint8(4)  # a bit beside the others: the word is on the text's headline
NO_MARKS = np.empty(0, dtype=np.uint8)

_BMP = "".join(map(chr, range(0x10000)))
_BMP_DIGIT = np.array([c.isdigit() for c in _BMP], dtype=bool)
_BMP_UPPER = np.array([c.isupper() or c.istitle() for c in _BMP], dtype=bool)
# Characters looked through when finding what precedes a word: spaces, quotes, brackets.
_BMP_SKIPPED = np.array([c.isspace() or c in "\"'“”‘’«»([{<" for c in _BMP], dtype=bool)
_SENTENCE_END = np.zeros(0x10000, dtype=bool)
_SENTENCE_END[[ord(c) for c in ".!?:"]] = True
_NEWLINE = np.uint32(ord("\n"))
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")
_HEADLINE_WORDS = 20


@functools.lru_cache(maxsize=8)
def _word_set(words: tuple[str, ...]) -> np.ndarray:
    return np.unique(word_hashes(list(words)))


def word_marks(text: str, spans: np.ndarray, tokens: np.ndarray, figure_words: Sequence[str],
               not_names: Sequence[str] = ()) -> np.ndarray:
    """One uint8 per word of `spans` (rows of start, end in `text`; `tokens` their
    `token_hashes`): FIGURE, NAME or 0, with the bit HEADLINE on the headline's words.
    `figure_words` are figures, `not_names` never names."""
    if len(spans) == 0:
        return NO_MARKS
    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    bmp = np.where(codes > 0xFFFF, 0, codes)  # astral characters: neither digit, capital nor space
    starts, ends = spans[:, 0].astype(np.int64), spans[:, 1].astype(np.int64)
    digits = np.concatenate(([0], np.cumsum(_BMP_DIGIT[bmp])))
    figure = (digits[ends] > digits[starts]) | np.isin(tokens, _word_set(tuple(figure_words)))
    # The last character before each word that is not a space, quote or bracket.
    positions = np.where(_BMP_SKIPPED[bmp], -1, np.arange(len(codes)))
    last_seen = np.maximum.accumulate(positions)
    before = np.where(starts > 0, last_seen[np.maximum(starts - 1, 0)], -1)
    newlines = np.concatenate(([0], np.cumsum(codes == _NEWLINE)))
    opens_sentence = ((before < 0) | _SENTENCE_END[bmp[np.maximum(before, 0)]]
                      | (newlines[starts] - newlines[np.maximum(before, 0)] >= 2))
    headline = _on_headline(text, starts)
    capital = _BMP_UPPER[bmp[starts]] & ~headline
    inside = capital & ~opens_sentence
    # A capitalised word opening a sentence is a name too when the text never writes it
    # in lower case and writes it as a name elsewhere or puts a name after it
    # ("Phillips Petroleum Corp said ...": "The" is written "the" somewhere).
    proper = ~np.isin(tokens, tokens[~_BMP_UPPER[bmp[starts]]])
    named = np.isin(tokens, tokens[inside]) | np.r_[inside[1:], False]
    name = (inside | (capital & proper & named)) & ~np.isin(tokens, _word_set(tuple(not_names)))
    return (np.where(figure, FIGURE, np.where(name, NAME, 0)) | np.where(headline, HEADLINE, 0)).astype(np.uint8)


def _on_headline(text: str, starts: np.ndarray) -> np.ndarray:
    """Whether each word starting at `starts` is on the text's headline: a first
    paragraph of one line, of at most `_HEADLINE_WORDS`, not ending a sentence, with
    more text after it."""
    inside = np.zeros(len(starts), dtype=bool)
    leading = len(text) - len(text.lstrip())
    found = _PARAGRAPH_BREAK.search(text, leading)
    if found is None:
        return inside
    line = text[leading : found.start()].rstrip()
    if line and "\n" not in line and line[-1] not in ".!?\"'”" and len(line.split()) <= _HEADLINE_WORDS:
        inside[: np.searchsorted(starts, leading + len(line))] = True
    return inside
