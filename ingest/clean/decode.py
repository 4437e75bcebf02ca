"""Bytes to text: `decode_bytes`.

It tries, in order: a byte order mark; strict UTF-8; the charset the container
declared; charset-normalizer's guess (preferring Windows-1252 when it is as plausible
as the guess); the BOM's codec with replacement characters. Otherwise it raises
`DecodeError`. A U+FFFD is never produced silently: every replaced byte is counted in
the "replacement-char" repair.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field

from charset_normalizer import CharsetMatch, from_bytes
from charset_normalizer.md import mess_ratio
from charset_normalizer.utils import is_multi_byte_encoding

from ingest.read.formats import BOMS

REPLACEMENT = "\ufffd"


class DecodeError(Exception):
    """The bytes cannot be decoded; the message is one human-readable line."""


@dataclass
class Decoded:
    text: str
    encoding: str  # Python's canonical codec name: "utf-8", "utf-16", "cp1252", ...
    repairs: list[dict] = field(default_factory=list)


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
