"""Bytes to text (`decode_bytes`), and repair of the text (`repair_text`).

`decode_bytes` tries, in order: a byte order mark; strict UTF-8; the charset the
container declared; charset-normalizer's guess (preferring Windows-1252 when it is as
plausible as the guess); the BOM's codec with replacement characters.  Otherwise it
raises `DecodeError`.  A U+FFFD is never produced silently: every replaced byte is
counted in the "replacement-char" repair.

`repair_text` applies these rules, in this order, until a pass changes nothing (so
that it is idempotent).  Each repair applied is reported as {"rule", "count"}:

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
need them.  Each rule runs only when a cheap check on the whole text says it can
change something (pure ASCII without "&", "\\r" or controls needs none of them);
ftfy's encoding repair, the expensive one, runs only on lines its own badness
heuristic flags.  The checks never change a result (see `_repair(precheck=False)`).
"""

from __future__ import annotations

import codecs
import html
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache, partial

import ftfy
from charset_normalizer import CharsetMatch, from_bytes
from charset_normalizer.md import mess_ratio
from charset_normalizer.utils import is_multi_byte_encoding
from ftfy.chardata import CHARMAP_ENCODINGS, DOUBLE_QUOTE_RE, HTML_ENTITIES, HTML_ENTITY_RE, SINGLE_QUOTE_RE

from ingest.config import DecodeConfig

REPLACEMENT = "\ufffd"


class DecodeError(Exception):
    """The bytes cannot be decoded; the message is one human-readable line."""


@dataclass
class Decoded:
    text: str
    encoding: str  # Python's canonical codec name: "utf-8", "utf-16", "cp1252", ...
    repairs: list[dict] = field(default_factory=list)


# ---------------------------------------------------------------- decode_bytes

# UTF-32 LE's BOM starts with UTF-16 LE's, so UTF-32 is tried first.
BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
    (codecs.BOM_UTF8, "utf-8-sig"),
)



def bom_codec(data: bytes) -> str | None:
    """The codec named by a byte order mark at the start of `data`, if there is one."""
    return next((codec for bom, codec in BOMS if data.startswith(bom)), None)


# Browsers read these labels as Windows-1252 (WHATWG Encoding Standard): servers
# declare ISO-8859-1 for pages whose curly quotes and euro signs are cp1252 bytes.
_READ_AS_CP1252 = {"iso8859-1", "ascii"}

# charset-normalizer's languages that are usually written in Windows-1252.
_CP1252_LANGUAGES = frozenset(
    {"English", "French", "German", "Spanish", "Portuguese", "Italian", "Dutch",
     "Danish", "Norwegian", "Swedish", "Finnish", "Indonesian"}
)
# Two decodings whose mess ratios differ by less than this are a tie for
# charset-normalizer itself (CharsetMatch.__lt__).
_TIE_MESS = 0.005
# On short inputs one odd character moves the mess ratio by 1/len: a cp1252 decoding
# up to about two characters' worth messier than the guess still counts as a tie.
_SHORT_TEXT_CHARS = 2.5

_MARK_ERRORS = "ingest-mark-bytes"
_MARKED_BYTE = re.compile("[\udc00-\udcff]")


def _mark_bytes(exc: UnicodeError) -> tuple[str, int]:
    """Codec error handler: one lone surrogate U+DCxx per undecodable byte xx.

    Strict decoders never output lone surrogates, so the marks can be counted and
    replaced afterwards, which keeps the count per byte and thread-safe.
    """
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    return "".join(chr(0xDC00 + b) for b in exc.object[exc.start : exc.end]), exc.end


codecs.register_error(_MARK_ERRORS, _mark_bytes)


def decode_bytes(data: bytes, declared: str | None = None) -> Decoded:
    """Decode `data`; `declared` is the charset its container named, if any."""
    bom_codecs = [codec for bom, codec in BOMS if data.startswith(bom)]
    if bom_codecs:
        return _decode_with_bom(data, bom_codecs)
    text = _strict(data, "utf-8")
    if text is not None:
        return Decoded(text, "utf-8", [])
    for codec in _declared_codecs(declared):
        text = _strict(data, codec)
        if text is not None:
            return Decoded(text, _codec_name(codec), [])
    mixed = _mostly_utf8(data)
    if mixed is not None:
        return mixed
    codec = _detect(data)
    if codec is None:
        raise DecodeError(_undecodable_reason(data, declared))
    return _decode_replacing(data, codec, [])


# UTF-8 with a few stray bytes of a legacy code page (a scraped page patched by hand,
# a Latin-1 pound sign pasted into UTF-8): at most this share of the bytes may fail.
_MAX_STRAY_SHARE = 0.005
_MIN_STRAY_LIMIT = 4


def _mostly_utf8(data: bytes) -> Decoded | None:
    """UTF-8 with a few stray cp1252 bytes, each decoded as cp1252 and counted.

    Only when the text has valid multi-byte UTF-8 too: a file whose only non-ASCII
    bytes fail is a legacy file, for the detector. Guessing here went wrong: the
    detector read UTF-8 with one stray byte as Shift_JIS ("Cafﾃｩ").
    """
    marked = data.decode("utf-8", _MARK_ERRORS)
    stray = _MARKED_BYTE.findall(marked)
    if len(stray) > max(_MIN_STRAY_LIMIT, _MAX_STRAY_SHARE * len(data)):
        return None
    if not any(ord(c) > 0x7F and not 0xDC80 <= ord(c) <= 0xDCFF for c in marked):
        return None
    text = _MARKED_BYTE.sub(lambda m: bytes([ord(m.group()) - 0xDC00]).decode("cp1252", "replace"), marked)
    repairs = [{"rule": "mixed-encoding", "count": len(stray)}]
    replaced = text.count(REPLACEMENT) - marked.count(REPLACEMENT)
    if replaced:  # a byte cp1252 leaves undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D)
        repairs.append({"rule": "replacement-char", "count": replaced})
    return Decoded(text, "utf-8", repairs)


def _decode_with_bom(data: bytes, bom_codecs: list[str]) -> Decoded:
    """A BOM is deliberate: keep its codec, replacing (and counting) what fails.

    Guessing over a BOM goes wrong: charset-normalizer answered Shift_JIS for UTF-8
    with one stray Latin-1 byte.
    """
    repairs = [{"rule": "bom", "count": 1}]
    for codec in bom_codecs:
        text = _strict(data, codec)
        if text is not None:
            return Decoded(text, _codec_name(codec), repairs)
    return _decode_replacing(data, bom_codecs[0], repairs)


def _strict(data: bytes, codec: str) -> str | None:
    try:
        return data.decode(codec)
    except (UnicodeDecodeError, LookupError):  # LookupError: a bytes-to-bytes codec
        return None


def _codec_name(codec: str) -> str:
    name = codecs.lookup(codec).name
    return "utf-8" if name == "utf-8-sig" else name


def _declared_codecs(declared: str | None) -> list[str]:
    """The codecs to try for a declared charset label, best first; [] if unknown."""
    if not declared:
        return []
    try:
        name = codecs.lookup(declared.strip().strip("\"'")).name
    except LookupError:
        return []
    return ["cp1252", name] if name in _READ_AS_CP1252 else [name]


def _detect(data: bytes) -> str | None:
    """charset-normalizer's best codec for `data`, or cp1252 when as plausible."""
    best = from_bytes(data).best()
    if best is None:
        return None
    return "cp1252" if _prefer_cp1252(data, best) else best.encoding


def _prefer_cp1252(data: bytes, best: CharsetMatch) -> bool:
    """Whether Windows-1252 reads `data` at least as plausibly as `best`.

    charset-normalizer breaks ties between single-byte code pages alphabetically
    (cp1250 before cp1252) and on short inputs often ranks mac_latin2, cp852 or
    cp437 first: measured on short cp1252 news lines it was right for 9 of 22.
    """
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:  # a byte cp1252 leaves undefined: not cp1252
        return False
    if best.encoding == "cp1252" or "cp1252" in best.could_be_from_charset:
        return True  # the same text either way: name it cp1252
    if best.coherence > 0 and best.language not in _CP1252_LANGUAGES and _letters_only_differ(text, best):
        # ř against ø, ş against þ: a question of language, and the detector found
        # one (Czech, Turkish, ...) that is not written in cp1252.
        return False
    tolerance = max(_TIE_MESS, _SHORT_TEXT_CHARS / len(text))
    return mess_ratio(text, 1.0) <= best.chaos + tolerance


def _letters_only_differ(text: str, best: CharsetMatch) -> bool:
    if is_multi_byte_encoding(best.encoding):
        return False
    return all(a.isalpha() and b.isalpha() for a, b in zip(text, str(best), strict=False) if a != b)


def _decode_replacing(data: bytes, codec: str, repairs: list[dict]) -> Decoded:
    """Decode with U+FFFD for each undecodable byte, recording how many there were."""
    marked = data.decode(codec, _MARK_ERRORS)
    text, replaced = _MARKED_BYTE.subn(REPLACEMENT, marked)
    if replaced:
        repairs = [*repairs, {"rule": "replacement-char", "count": replaced}]
    return Decoded(text, _codec_name(codec), repairs)


def _undecodable_reason(data: bytes, declared: str | None) -> str:
    if declared and not _declared_codecs(declared):
        charset = f", declared charset {declared!r} is unknown"
    elif declared:
        charset = f", nor the declared {declared!r}"
    else:
        charset = ""
    return f"undecodable bytes: {len(data)} bytes are not UTF-8{charset}, and no charset detected"


# ---------------------------------------------------------------- repair_text

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
