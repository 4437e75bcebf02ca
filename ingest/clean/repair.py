"""Repair of decoded text: `repair_text`.

The rules run in this order, until a pass changes nothing (so that it is idempotent).
Each repair applied is reported as {"rule", "count"}:

  line-endings          CR LF, CR, VT, FF, U+2028, U+2029 -> LF (line breaks changed)
  surrogates            UTF-16 surrogates paired into one character, or dropped
                        when unpaired (surrogates changed)
  html-entities         &amp; &#8217; ... decoded, repeatedly, so double-escaped
                        text comes out plain (entities decoded)
  mojibake              ftfy's encoding repair, line by line (lines repaired)
  replacement-char      U+FFFD that ftfy put where an earlier lossy decoder had
                        left "?" or U+FFFD in mojibake (characters added)
  control-chars         C0/C1 controls except \\n and \\t, terminal escape sequences,
                        U+206A-206F, U+FFF9-FFFC (characters or sequences removed)
  zero-width            U+200B, U+2060, U+FEFF, soft hyphen (characters removed)
  uncurl-quotes         curly -> straight quotes        } only with
  fold-dashes           ‐ ‑ ‒ – -> "-", — ― -> "--"     } keep_typographic
  fold-ellipses         … -> "..."                      } = false
  unicode-normalization NFC or NFKC (lines changed)

The joiners U+200C/U+200D and the bidi marks stay: Persian, Indic scripts and emoji
need them. Each rule runs only when a cheap check on the whole text says it can
change something (pure ASCII without "&", "\\r" or controls needs none of them);
ftfy's encoding repair, the expensive one, runs only on lines its own badness
heuristic flags. The checks never change a result (see `_repair(precheck=False)`).
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache, partial

import ftfy
from ftfy.chardata import CHARMAP_ENCODINGS, DOUBLE_QUOTE_RE, HTML_ENTITIES, HTML_ENTITY_RE, SINGLE_QUOTE_RE

from ingest.clean.decode import REPLACEMENT
from ingest.config import DecodeConfig

# Passes until nothing changes; in practice two (one that repairs, one that confirms).
# The bound only guards against a cycle between ftfy and normalisation, never seen.
_MAX_PASSES = 16

_LINE_BREAK = re.compile("\r\n?|[\v\f\u2028\u2029]")
_SURROGATE_PAIR = re.compile("[\ud800-\udbff][\udc00-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTROL_CHARS = "\x00-\x08\x0b-\x1f\x7f-\x9f\u206a-\u206f\ufff9-\ufffc"
_CONTROL_CHAR = re.compile(f"[{_CONTROL_CHARS}]")
_CONTROL = re.compile(f"\x1b\\[[0-9;]*[A-Za-z]|[{_CONTROL_CHARS}]")  # with terminal escapes
_ASCII_CONTROL_BYTES = bytes([*range(0x09), *range(0x0B, 0x20), 0x7F])
_ZERO_WIDTH_CHARS = "\u00ad\u200b\u2060\ufeff"
_ZERO_WIDTH = re.compile(f"[{_ZERO_WIDTH_CHARS}]")
_DASH = re.compile("[\u2010-\u2015]")
_LONG_DASHES = "\u2014\u2015"
# Every branch of ftfy's badness regex (ftfy.badness.BADNESS_RE) needs two adjacent
# non-ASCII characters, except those needing a C1 control, Â, Ã, Œ or œ.  A line
# without either cannot be flagged, so ftfy would leave it unchanged.
_MOJIBAKE_LONE = "\u00c2\u00c3\u0152\u0153" + "".join(map(chr, range(0x80, 0xA0)))
_NON_ASCII_PAIR = re.compile("[^\x00-\x7f]{2}")


def _fffd_mojibake() -> list[str]:
    """U+FFFD's UTF-8 bytes read in ftfy's code pages, once and twice over ("ï¿½").

    Repairing these gives back a U+FFFD that was in the text before us.
    """
    once = {REPLACEMENT.encode("utf-8").decode(codec) for codec in CHARMAP_ENCODINGS}
    twice = {text.encode("utf-8").decode(codec) for text in once for codec in CHARMAP_ENCODINGS}
    return sorted(once | twice)


_FFFD_MOJIBAKE = _fffd_mojibake()

Counts = dict[str, int]
Check = Callable[[str], bool]


@dataclass(frozen=True)
class _Step:
    needed: Check  # cheap: False only when `apply` would change nothing
    apply: Callable[[str, Counts], str]


def repair_text(text: str, config: DecodeConfig) -> tuple[str, list[dict]]:
    """Repair `text`; returns the repaired text and the repairs that changed it."""
    return _repair(text, config, precheck=True)


def _repair(text: str, config: DecodeConfig, precheck: bool) -> tuple[str, list[dict]]:
    """`precheck=False` runs every step on every text (ftfy on every line): the
    reference that the checks must not change."""
    if precheck and _plain_ascii(text):
        return text, []
    counts: Counts = {}
    steps = _steps(config.keep_typographic, config.normalization, precheck)
    for _ in range(_MAX_PASSES):
        before = text
        for step in steps:
            if step.needed(text):
                text = step.apply(text, counts)
        if text == before:
            break
    return text, [{"rule": rule, "count": n} for rule, n in counts.items() if n]


@lru_cache(maxsize=16)
def _steps(keep_typographic: bool, normalization: str, precheck: bool) -> tuple[_Step, ...]:
    def check(fn: Check) -> Check:
        return fn if precheck else _always

    steps = [
        _Step(check(_has_line_breaks), _fix_line_breaks),
        _Step(check(_has_surrogates), _fix_surrogates),
        _Step(check(lambda text: "&" in text), _decode_entities),
        _Step(check(_may_be_mojibake), partial(_fix_mojibake, line_needed=check(_may_be_mojibake))),
        _Step(check(_has_controls), _remove_controls),
        _Step(check(_has_zero_width), _remove_zero_width),
    ]
    if not keep_typographic:
        steps.append(_Step(check(_not_ascii), _fold_typographic))
    if normalization != "none":
        steps.append(_Step(check(partial(_not_normalized, normalization)), partial(_normalize, form=normalization)))
    return tuple(steps)


def _always(text: str) -> bool:
    return True


def _plain_ascii(text: str) -> bool:
    """ASCII without "&", controls or line breaks but "\\n": every step's check says
    it needs nothing (ASCII is normalised in every form), found in one scan."""
    if not text.isascii() or "&" in text:
        return False
    data = text.encode("ascii")
    return len(data.translate(None, _ASCII_CONTROL_BYTES)) == len(data)


def _count(counts: Counts, rule: str, n: int) -> None:
    if n:
        counts[rule] = counts.get(rule, 0) + n


def _not_ascii(text: str) -> bool:
    return not text.isascii()


def _has_line_breaks(text: str) -> bool:
    return "\r" in text or "\v" in text or "\f" in text or (
        not text.isascii() and ("\u2028" in text or "\u2029" in text)
    )


def _fix_line_breaks(text: str, counts: Counts) -> str:
    text, n = _LINE_BREAK.subn("\n", text)
    _count(counts, "line-endings", n)
    return text


def _has_surrogates(text: str) -> bool:
    return not text.isascii() and _SURROGATE.search(text) is not None


def _fix_surrogates(text: str, counts: Counts) -> str:
    """Pair UTF-16 surrogates (left by JSON escapes or UCS-2 decoders); drop lone ones.

    A lone surrogate cannot be written as UTF-8, and ftfy's U+FFFD for it would
    invent a replacement character.
    """
    text, pairs = _SURROGATE_PAIR.subn(_join_surrogates, text)
    text, lone = _SURROGATE.subn("", text)
    _count(counts, "surrogates", 2 * pairs + lone)
    return text


def _join_surrogates(match: re.Match[str]) -> str:
    high, low = match.group(0)
    return chr(0x10000 + ((ord(high) - 0xD800) << 10) + (ord(low) - 0xDC00))


def _decode_entities(text: str, counts: Counts) -> str:
    """ftfy's entity decoding (HTML5 names with ";", numeric references).

    A reference that would decode to U+FFFD (&#0;, a surrogate, &#65533;) stays as
    written, so that no U+FFFD appears here.
    """
    decoded = 0

    def one(match: re.Match[str]) -> str:
        nonlocal decoded
        entity = match.group(0)
        char = HTML_ENTITIES.get(entity)
        if char is None and entity.startswith("&#"):
            char = html.unescape(entity)
            if ";" in char or REPLACEMENT in char:  # not a whole reference / invalid
                return entity
        if char is None:
            return entity
        decoded += 1
        return char

    text = HTML_ENTITY_RE.sub(one, text)
    _count(counts, "html-entities", decoded)
    return text


def _may_be_mojibake(text: str) -> bool:
    """False when no line of `text` can be flagged by ftfy's badness heuristic."""
    if text.isascii():
        return False
    return any(char in text for char in _MOJIBAKE_LONE) or _NON_ASCII_PAIR.search(text) is not None


def _fix_mojibake(text: str, counts: Counts, line_needed: Check) -> str:
    """ftfy.fix_encoding on each line (with its "\\n", as ftfy.fix_text cuts segments)."""
    segments = text.split("\n")
    last = len(segments) - 1
    repaired = added = 0
    for i, line in enumerate(segments):
        segment = line if i == last else line + "\n"
        if not line_needed(segment):
            continue
        fixed = ftfy.fix_encoding(segment)
        new_fffd = fixed.count(REPLACEMENT) - segment.count(REPLACEMENT)
        if fixed == segment or (new_fffd > 0 and new_fffd > _lost_markers(segment)):
            continue  # nothing to do, or it would invent U+FFFD: leave the line
        segments[i] = fixed if i == last else fixed.removesuffix("\n")
        repaired += 1
        added += max(new_fffd, 0)
    _count(counts, "mojibake", repaired)
    _count(counts, "replacement-char", added)
    return "\n".join(segments)


def _lost_markers(segment: str) -> int:
    """How many U+FFFD ftfy may rightly output: one per character already lost.

    ftfy turns mojibake whose last byte a lossy decoder replaced ("â€?", "â€�") into
    U+FFFD, and decodes U+FFFD's own mojibake ("ï¿½"); either way the character was
    gone before the text reached us.
    """
    return segment.count("?") + segment.count(REPLACEMENT) + sum(
        segment.count(spelling) for spelling in _FFFD_MOJIBAKE
    )


def _has_controls(text: str) -> bool:
    if text.isascii():  # bytes.translate scans ten times faster than a regex
        data = text.encode("ascii")
        return len(data.translate(None, _ASCII_CONTROL_BYTES)) != len(data)
    return _CONTROL_CHAR.search(text) is not None


def _remove_controls(text: str, counts: Counts) -> str:
    if text.isascii() and "\x1b" not in text:  # single control bytes only (a "\r" a line): translate
        data = text.encode("ascii")
        kept = data.translate(None, _ASCII_CONTROL_BYTES)
        _count(counts, "control-chars", len(data) - len(kept))
        return kept.decode("ascii")
    text, n = _CONTROL.subn("", text)
    _count(counts, "control-chars", n)
    return text


def _has_zero_width(text: str) -> bool:
    return not text.isascii() and any(char in text for char in _ZERO_WIDTH_CHARS)


def _remove_zero_width(text: str, counts: Counts) -> str:
    text, n = _ZERO_WIDTH.subn("", text)
    _count(counts, "zero-width", n)
    return text


def _fold_typographic(text: str, counts: Counts) -> str:
    text, singles = SINGLE_QUOTE_RE.subn("'", text)
    text, doubles = DOUBLE_QUOTE_RE.subn('"', text)
    _count(counts, "uncurl-quotes", singles + doubles)
    text, dashes = _DASH.subn(lambda m: "--" if m.group(0) in _LONG_DASHES else "-", text)
    _count(counts, "fold-dashes", dashes)
    ellipses = text.count("\u2026")
    _count(counts, "fold-ellipses", ellipses)
    return text.replace("\u2026", "...") if ellipses else text


def _not_normalized(form: str, text: str) -> bool:
    return not unicodedata.is_normalized(form, text)


def _normalize(text: str, counts: Counts, form: str) -> str:
    normalized = unicodedata.normalize(form, text)
    if normalized != text:
        changed = sum(a != b for a, b in zip(text.split("\n"), normalized.split("\n"), strict=False))
        _count(counts, "unicode-normalization", max(changed, 1))
    return normalized
