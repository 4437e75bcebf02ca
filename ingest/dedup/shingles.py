"""Words, n-gram hashes and shingle sets of a text, and the Jaccard of two sets.

Text is normalised before shingling: case folded, punctuation dropped, typographic
apostrophes unified; digits are kept as they are, so that two notices differing only
in their figures stay distinct. Words are hashed to 32 bits, n-grams of them to 64.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import xxhash

from ingest.arrays import unique

_TOKEN = re.compile(r"\w+(?:['’]\w+)*")
_WORD_CHAR = re.compile(r"\w")
# Which code points of the Basic Multilingual Plane `\w` matches, from `re` itself.
BMP_WORD = np.zeros(0x10000, dtype=bool)
BMP_WORD[[m.start() for m in _WORD_CHAR.finditer("".join(map(chr, range(0x10000))))]] = True
_APOSTROPHES = (ord("'"), ord("’"))
# Between texts analysed together: no word character, and a sentence's end
# (`ingest/dedup/marks.py`), so that each text's first word opens a sentence as alone.
TEXT_SEPARATOR = "."
NGRAM_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)
NO_HASHES = np.empty(0, dtype=np.uint64)
# Words of at most this many ASCII characters are hashed with numpy (`_xxh32_short_ascii`):
# xxh32's path for inputs under 16 bytes.
_SHORT_WORD = 15
_XXH_P1, _XXH_P2, _XXH_P3, _XXH_P4, _XXH_P5 = map(np.uint32, (2654435761, 2246822519, 3266489917, 668265263,
                                                            374761393))


def token_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the words of `text`, in order."""
    return [m.span() for m in _TOKEN.finditer(text)]


def token_hashes(text: str) -> np.ndarray:
    """One 32-bit hash per word, after case folding and apostrophe unification."""
    return hashes_and_spans(text)[0]


def hashes_and_spans(text: str) -> tuple[np.ndarray, np.ndarray]:
    r"""`token_hashes` and `token_spans` (as uint32 rows of start, end) at once, found on
    the text's code points with numpy rather than by the word pattern: 45 instead of
    75 µs for a 1,000-character article. A word is a run of `\w` characters, with an
    apostrophe inside it when word characters stand on both sides (the pattern's
    `\w+(?:['’]\w+)*`; a test holds the two to the same words)."""
    hashes, spans, _ = texts_hashes_and_spans([text])
    return hashes, spans


def texts_hashes_and_spans(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`hashes_and_spans` of each text, concatenated, in one set of array operations over
    the texts joined by a `TEXT_SEPARATOR` (the fixed cost of numpy calls, not the work,
    dominated one text); spans are each text's own offsets. Also where each text's words
    start, and their total (one more than the texts)."""
    joined = TEXT_SEPARATOR.join(texts)
    codes = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    if codes.size and codes.max() > 0xFFFF:
        astral = codes > 0xFFFF
        word = BMP_WORD[np.where(astral, 0, codes)]
        word[astral] = [_WORD_CHAR.match(chr(c)) is not None for c in codes[astral].tolist()]
    else:
        word = BMP_WORD[codes]
    inner = codes[1:-1]
    word[1:-1] |= word[:-2] & word[2:] & ((inner == _APOSTROPHES[0]) | (inner == _APOSTROPHES[1]))
    edges = np.zeros(len(word) + 2, dtype=bool)
    edges[1:-1] = word
    places = np.flatnonzero(edges[1:] != edges[:-1]).reshape(-1, 2)
    text_starts = text_offsets(texts)
    offsets = np.append(np.searchsorted(places[:, 0], text_starts), len(places))
    spans = (places - np.repeat(text_starts, np.diff(offsets))[:, None]).astype(np.uint32)
    # Folding is per character, so the words keep their places: every other character
    # becomes a space, and splitting on spaces gives the folded words. A text where a
    # character folds to several ("ß" -> "ss") goes in unfolded, its words folded one by one.
    folded = [text.casefold() for text in texts]
    uneven = [i for i, (text, f) in enumerate(zip(texts, folded)) if len(f) != len(text)]
    for i in uneven:
        folded[i] = texts[i]
    folded_codes = np.frombuffer(TEXT_SEPARATOR.join(folded).replace("’", "'").encode("utf-32-le", "surrogatepass"),
                                 dtype=np.uint32)
    hashes = _hash_placed_words(folded_codes, places)
    for i in uneven:
        lo, hi = offsets[i], offsets[i + 1]
        hashes[lo:hi] = word_hashes([texts[i][start:end] for start, end in spans[lo:hi].tolist()])
    return hashes, spans, offsets


def text_offsets(texts: Sequence[str]) -> np.ndarray:
    """Where each text starts in the texts joined by a `TEXT_SEPARATOR`."""
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    return np.cumsum(lengths + 1) - (lengths + 1)


def word_hashes(words: list[str]) -> np.ndarray:
    """One 32-bit hash per word, after case folding and apostrophe unification.

    32 bits keep the sketches small; n-grams are hashed from them in 64 bits.
    """
    # Fold all words in one call; the separator keeps the count aligned with the words.
    folded = "\x00".join(words).casefold().replace("’", "'").split("\x00") if words else []
    return _hash_words(folded)


def _hash_words(folded: list[str]) -> np.ndarray:
    return np.fromiter(map(xxhash.xxh32_intdigest, map(str.encode, folded)), dtype=np.uint32, count=len(folded))


def _hash_placed_words(codes: np.ndarray, places: np.ndarray) -> np.ndarray:
    """`_hash_words` of the words at `places` (rows of start, end) in the code points
    `codes`: xxh32 computed with numpy for the words of at most _SHORT_WORD ASCII
    characters (most of them), by xxhash for the others. Calling xxhash a word, with
    a string and a bytes object made for each, took 0.82 s of CPU for the words of the
    20,000 bench documents, against 0.52 s this way."""
    starts, lengths = places[:, 0], places[:, 1] - places[:, 0]
    beyond_ascii = np.flatnonzero(codes >= 0x80)
    short = ((lengths <= _SHORT_WORD)
             & (np.searchsorted(beyond_ascii, places[:, 1]) == np.searchsorted(beyond_ascii, starts)))
    hashes = np.empty(len(places), dtype=np.uint32)
    hashes[short] = _xxh32_short_ascii(codes, starts[short], lengths[short])
    others = np.flatnonzero(~short)
    hashes[others] = _hash_words([codes[start:end].tobytes().decode("utf-32-le", "surrogatepass")
                                  for start, end in places[others].tolist()])
    return hashes


def _xxh32_short_ascii(codes: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """xxh32 (seed 0) of the ASCII words of `lengths` at most _SHORT_WORD starting at
    `starts` in the code points `codes`: the algorithm's path for inputs under 16
    bytes, its 4-byte lanes, then its single bytes, then its final mixing."""
    padded = np.zeros(len(codes) + 16, dtype=np.uint8)
    padded[: len(codes)] = codes  # truncated: a short word's code points are its bytes
    # Each word's 16 bytes from its start, the ones past its end never read.
    rows = np.lib.stride_tricks.sliding_window_view(padded, 16)[starts]
    lanes = rows.view("<u4")
    lengths = lengths.astype(np.uint32)
    h = lengths + _XXH_P5
    with np.errstate(over="ignore"):
        for k in range(3):
            mixed = _rotl(h + lanes[:, k] * _XXH_P3, 17) * _XXH_P4
            h = np.where(lengths >= 4 * (k + 1), mixed, h)
        done = lengths & np.uint32(~3 & 0xFFFFFFFF)  # bytes taken by the lanes
        for j in range(3):
            byte = rows[np.arange(len(rows)), done + j].astype(np.uint32)
            mixed = _rotl(h + byte * _XXH_P5, 11) * _XXH_P1
            h = np.where(done + j < lengths, mixed, h)
        h ^= h >> np.uint32(15)
        h *= _XXH_P2
        h ^= h >> np.uint32(13)
        h *= _XXH_P3
        h ^= h >> np.uint32(16)
    return h


def _rotl(x: np.ndarray, bits: int) -> np.ndarray:
    return (x << np.uint32(bits)) | (x >> np.uint32(32 - bits))


def ngram_hashes(tokens: np.ndarray, n: int) -> np.ndarray:
    """Hashes of all word n-grams, in order; a text shorter than n words is one n-gram."""
    if len(tokens) == 0:
        return np.empty(0, dtype=np.uint64)
    return _ngrams(tokens, min(n, len(tokens)))


def texts_ngram_hashes(tokens: np.ndarray, offsets: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """`ngram_hashes` of each text's words (`tokens[offsets[i]:offsets[i + 1]]`),
    concatenated, and where each text's n-grams start (their total last)."""
    sizes = np.diff(offsets)
    long = sizes >= n
    counts = np.where(long, sizes - n + 1, np.minimum(sizes, 1))
    gram_offsets = np.concatenate(([0], np.cumsum(counts)))
    out = np.empty(gram_offsets[-1], dtype=np.uint64)
    if len(tokens) >= n:
        every = _ngrams(tokens, n)  # at every word, across the texts' ends too
        text = np.repeat(np.arange(len(sizes)), sizes)[: len(every)]
        out[np.repeat(long, counts)] = every[np.arange(len(every)) + n <= offsets[1:][text]]
    for i in np.flatnonzero(~long & (sizes > 0)).tolist():  # shorter than n: one n-gram
        out[gram_offsets[i]] = ngram_hashes(tokens[offsets[i] : offsets[i + 1]], n)[0]
    return out, gram_offsets


def _ngrams(tokens: np.ndarray, n: int) -> np.ndarray:
    """The hashes of the n-grams starting at each word but the last n - 1."""
    tokens = tokens.astype(np.uint64, copy=False)
    count = len(tokens) - n + 1
    with np.errstate(over="ignore"):
        out = tokens[:count].copy()
        for k in range(1, n):
            out = out * NGRAM_MULTIPLIER + tokens[k : k + count]
        # Mix the high bits down: the multiplications leave the low bits poorly spread.
        out ^= out >> np.uint64(31)
    return out


def shingle_set(tokens: np.ndarray, n: int) -> np.ndarray:
    """Sorted unique hashes of the word n-grams: what the exact Jaccard compares and
    MinHash signs."""
    return unique(ngram_hashes(tokens, n))


def jaccards(a: np.ndarray, others: list[np.ndarray]) -> list[float]:
    """`jaccard(a, b)` for each b of `others`, in one set of array operations."""
    sizes = np.fromiter(map(len, others), dtype=np.int64, count=len(others))
    if len(a) == 0:
        return [1.0 if size == 0 else 0.0 for size in sizes.tolist()]
    joined = np.concatenate(others)
    found = a[np.minimum(np.searchsorted(a, joined), len(a) - 1)] == joined
    shared = np.bincount(np.repeat(np.arange(len(others)), sizes), weights=found, minlength=len(others))
    return (shared / (len(a) + sizes - shared)).tolist()


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    if len(a) == 0 and len(b) == 0:
        return 1.0
    inter = len(np.intersect1d(a, b, assume_unique=True))
    return inter / (len(a) + len(b) - inter)
