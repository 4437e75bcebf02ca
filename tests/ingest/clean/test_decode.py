"""Tests for ingest/decode.py: decode_bytes and repair_text.

Inputs are short strings written for the purpose; the ftfy test cases are read in
place from ../shared/corpora/ftfy-cases (or $INGEST_CORPORA/ftfy-cases).
"""

from __future__ import annotations

import codecs
import json
import random
import re
import unicodedata

import pytest
from ftfy.badness import MOJIBAKE_CATEGORIES, is_bad
from ftfy.chardata import CHARMAP_ENCODINGS, HTML_ENTITY_RE
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.clean.decode import DecodeError, decode_bytes
from ingest.clean.repair import _FFFD_MOJIBAKE, _may_be_mojibake, _repair, repair_text
from ingest.config import DecodeConfig
from tests.conftest import CORPORA

DEFAULT = DecodeConfig()
FOLDED = DecodeConfig(keep_typographic=False)
NFKC = DecodeConfig(normalization="NFKC")
FTFY_CASES = CORPORA / "ftfy-cases"
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def rules(repairs: list[dict]) -> dict[str, int]:
    return {r["rule"]: r["count"] for r in repairs}


# ---------------------------------------------------------------- decode_bytes

NEWS = "The minister’s “final offer” – €5bn – was refused, said Müller. Café owners…"


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (codecs.BOM_UTF8 + NEWS.encode("utf-8"), "utf-8"),
        (codecs.BOM_UTF16_LE + NEWS.encode("utf-16-le"), "utf-16"),
        (codecs.BOM_UTF16_BE + NEWS.encode("utf-16-be"), "utf-16"),
        (codecs.BOM_UTF32_LE + NEWS.encode("utf-32-le"), "utf-32"),
        (codecs.BOM_UTF32_BE + NEWS.encode("utf-32-be"), "utf-32"),
    ],
    ids=["utf-8-sig", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"],
)
def test_bom_decides_and_is_removed(data: bytes, encoding: str) -> None:
    decoded = decode_bytes(data)
    assert (decoded.text, decoded.encoding) == (NEWS, encoding)
    assert decoded.repairs == [{"rule": "bom", "count": 1}]


def test_utf16_le_bom_followed_by_nul_is_not_utf32() -> None:
    data = codecs.BOM_UTF16_LE + "\0hi".encode("utf-16-le")  # starts FF FE 00 00
    assert decode_bytes(data).text == "\0hi"
    assert decode_bytes(data).encoding == "utf-16"


def test_utf8_without_repairs() -> None:
    decoded = decode_bytes(NEWS.encode("utf-8"))
    assert (decoded.text, decoded.encoding, decoded.repairs) == (NEWS, "utf-8", [])


@pytest.mark.parametrize(
    "text",
    [
        NEWS,
        "“Non”, a déclaré le ministre.",
        "Prices rose by €3.",
        "It’s the president’s “final offer”, aides said.",
        "Résumé of the naïve reporter’s déjà vu.",
        "Shares fell 2% – the longest run since 2008. “It’s grim,” a trader said of the €5bn deal.",
    ],
)
def test_cp1252_news_decodes_to_the_right_characters(text: str) -> None:
    decoded = decode_bytes(text.encode("cp1252"))
    assert (decoded.text, decoded.encoding) == (text, "cp1252")
    assert decoded.repairs == []


@pytest.mark.parametrize(
    ("text", "codec"),
    [
        ("Vláda ve středu oznámila zdražení elektřiny o 3 %. „Je to nepřijatelné,“ řekla opozice.", "cp1250"),
        ("Hükümet çarşamba günü elektrik fiyatlarına yüzde 3 zam yapıldığını açıkladı.", "cp1254"),
        ("Правительство в среду объявило о повышении цен на электроэнергию на 3%.", "cp1251"),
        ("Η κυβέρνηση ανακοίνωσε την Τετάρτη αύξηση 3% στην τιμή του ρεύματος.", "cp1253"),
    ],
)
def test_cp1252_preference_leaves_other_code_pages_alone(text: str, codec: str) -> None:
    assert (decode_bytes(text.encode(codec)).text, decode_bytes(text.encode(codec)).encoding) == (text, codec)


def test_ascii_with_one_latin1_pound_sign() -> None:
    # Like bbc-news/sport/199.txt, which charset-normalizer alone reads as cp932.
    data = b"Mutu, a \xa315.8m signing from Parma, was sacked after a drugs test. " * 5
    assert decode_bytes(data).text == data.decode("cp1252")


def test_latin1_text() -> None:
    text = "Le gouvernement a annoncé une hausse. Señor Pérez: ¿qué?"
    # Latin-1 and cp1252 agree on these bytes; cp1252 is the name browsers give them.
    assert decode_bytes(text.encode("latin-1")).text == text


def test_declared_charset_is_used_when_not_utf8() -> None:
    text = "Правительство объявило о повышении цен."
    decoded = decode_bytes(text.encode("cp1251"), declared="windows-1251")
    assert (decoded.text, decoded.encoding) == (text, "cp1251")


def test_declared_latin1_is_read_as_cp1252_like_browsers() -> None:
    decoded = decode_bytes(b"\x93Yes\x94, he said \x96 twice.", declared="ISO-8859-1")
    assert (decoded.text, decoded.encoding) == ("“Yes”, he said – twice.", "cp1252")


def test_declared_charset_that_does_not_fit_is_ignored() -> None:
    text = "Žluťoučký kůň úpěl ďábelské ódy."
    decoded = decode_bytes(text.encode("cp1250"), declared="utf-8")
    assert decoded.text == text


def test_unknown_or_non_text_declared_charset_is_ignored() -> None:
    data = "Prices rose by €3.".encode("cp1252")
    assert decode_bytes(data, declared="no-such-charset").text == "Prices rose by €3."
    assert decode_bytes(data, declared="base64").text == "Prices rose by €3."


def test_undecodable_garbage_raises() -> None:
    garbage = random.Random(7).randbytes(3000)
    with pytest.raises(DecodeError, match=r"^undecodable bytes") as info:
        decode_bytes(garbage)
    assert "\n" not in str(info.value)


def test_bom_with_bad_bytes_records_every_replacement() -> None:
    data = codecs.BOM_UTF8 + b"fee of \xa315m and \xff\xfe more"
    decoded = decode_bytes(data)
    assert decoded.text == "fee of \ufffd15m and \ufffd\ufffd more"
    assert rules(decoded.repairs) == {"bom": 1, "replacement-char": 3}


def test_truncated_utf16_records_the_replacement() -> None:
    data = codecs.BOM_UTF16_LE + "abc".encode("utf-16-le") + b"d"
    decoded = decode_bytes(data)
    assert (decoded.text, decoded.encoding) == ("abc\ufffd", "utf-16")
    assert rules(decoded.repairs) == {"bom": 1, "replacement-char": 1}


def test_no_silent_replacement_character() -> None:
    samples = [
        codecs.BOM_UTF8 + b"a\x80b",
        codecs.BOM_UTF16_BE + b"\xd8\x00\x00a",  # lone high surrogate
        b"ok\xa3",
        "naïve".encode("cp1252"),
    ]
    for data in samples:
        decoded = decode_bytes(data)
        assert decoded.text.count("\ufffd") == rules(decoded.repairs).get("replacement-char", 0)


def test_empty_bytes() -> None:
    assert decode_bytes(b"").text == ""


# ---------------------------------------------------------------- repair_text


def test_mojibake_is_fixed() -> None:
    assert repair_text("Iranâ€™s minister", DEFAULT) == ("Iran’s minister", [{"rule": "mojibake", "count": 1}])
    text, repairs = repair_text("CafÃ© owners\nsay â€œnoâ€\x9d", DEFAULT)
    assert text == "Café owners\nsay “no”"
    assert rules(repairs) == {"mojibake": 2}


def test_typography_kept_by_default() -> None:
    text = "“It’s over” — she said – briefly…"
    assert repair_text(text, DEFAULT) == (text, [])


def test_typography_folded_when_asked() -> None:
    text, repairs = repair_text("“It’s over” — she said – briefly…", FOLDED)
    assert text == "\"It's over\" -- she said - briefly..."
    assert rules(repairs) == {"uncurl-quotes": 3, "fold-dashes": 2, "fold-ellipses": 1}


def test_entities_decoded() -> None:
    text, repairs = repair_text("Tom &amp; Jerry&#8217;s &eacute;t&eacute; &amp;amp; &#x2014;", DEFAULT)
    assert text == "Tom & Jerry’s été & —"
    assert rules(repairs) == {"html-entities": 7}  # &amp;amp; takes two passes


def test_entity_of_invalid_code_point_stays() -> None:
    assert repair_text("a &#0; b &#xD800; c", DEFAULT) == ("a &#0; b &#xD800; c", [])


def test_control_and_zero_width_removed() -> None:
    text, repairs = repair_text("a\x00b\tc\x07\x1b[31mred\x1b[0m\x85\nzero\u200bwidth\ufeff soft\u00adhyphen", DEFAULT)
    assert text == "ab\tcred…\nzerowidth softhyphen"
    assert rules(repairs) == {"control-chars": 4, "zero-width": 3, "mojibake": 1}


def test_joiners_and_bidi_marks_stay() -> None:
    text = "می\u200cخواهم \U0001f469\u200d\U0001f4bb \u200fשלום\u200f"
    assert repair_text(text, DEFAULT) == (text, [])


def test_line_endings() -> None:
    text, repairs = repair_text("a\r\nb\rc\u2028d\fe", DEFAULT)
    assert text == "a\nb\nc\nd\ne"
    assert rules(repairs) == {"line-endings": 4}


def test_nfc_and_other_normalisations() -> None:
    assert repair_text("cafe\u0301", DEFAULT) == ("café", [{"rule": "unicode-normalization", "count": 1}])
    assert repair_text("\ufb01ne cafe\u0301", NFKC)[0] == "fine café"
    assert repair_text("cafe\u0301", DecodeConfig(normalization="none")) == ("cafe\u0301", [])


def test_surrogates_paired_or_dropped() -> None:
    text, repairs = repair_text("\ud83d\ude00 and \udc00 alone", DEFAULT)
    assert text == "\U0001f600 and  alone"
    assert rules(repairs) == {"surrogates": 3}


def test_lossy_mojibake_becomes_a_counted_replacement_character() -> None:
    # "â€?" is a curly quote whose last byte an earlier decoder turned into "?".
    text, repairs = repair_text("it was â€œgoodâ€? said", DEFAULT)
    assert text == "it was “good\ufffd said"
    assert rules(repairs) == {"mojibake": 1, "replacement-char": 1}


def test_clean_ascii_untouched() -> None:
    text = "Plain ASCII news text.\n\nSecond paragraph, with a tab\there."
    assert repair_text(text, DEFAULT) == (text, [])


@pytest.mark.parametrize(
    "text",
    ["Iranâ€™s", "&amp;amp;lt;", "a\r\n\r\nb", "cafe\u0301 \u200b\x00", "Ã© &eacute; Ã\xa0 la", "\ud83d\ude00"],
)
@pytest.mark.parametrize("config", [DEFAULT, FOLDED, NFKC], ids=["default", "fold", "nfkc"])
def test_idempotent(text: str, config: DecodeConfig) -> None:
    once = repair_text(text, config)[0]
    assert repair_text(once, config) == (once, [])


# ---------------------------------------------------------------- ftfy test cases


def load_cases(*expect: str) -> list:
    """The ftfy cases whose "expect" is in `expect`, or one skipped parameter."""
    if not FTFY_CASES.is_dir():
        reason = f"no ftfy cases at {FTFY_CASES} (set INGEST_CORPORA)"
        return [pytest.param(None, marks=pytest.mark.skip(reason=reason))]
    cases = [case for path in sorted(FTFY_CASES.glob("*.json")) for case in json.loads(path.read_text("utf-8"))]
    return [pytest.param(c, id=f"{c['expect']}:{c['label'][:60]}") for c in cases if c["expect"] in expect]


PASS_CASES = load_cases("pass")
KNOWN_FAILURES = load_cases("fail")
ALL_CASES = load_cases("pass", "fail")


def expected_repair(case: dict) -> str:
    """What repair_text must output for a case.

    The reference is `fixed-encoding` (ftfy.fix_encoding), else `fixed`: we keep curly
    quotes, which ftfy.fix_text uncurls.  Two documented transformations of ours are
    applied to it on top, because fix_encoding does not do them:
    * entity decoding: when the original has an HTML entity the reference is `fixed`
      (fix_text decodes entities before fixing the encoding, as we do);
    * control-character removal (ftfy keeps U+001A and C1 controls; we remove them),
      and NFC (all references are NFC already).
    """
    entity = HTML_ENTITY_RE.search(case["original"]) is not None
    reference = case["fixed"] if entity else case.get("fixed-encoding", case["fixed"])
    if entity:
        assert not re.search("[\"']", reference), "fix_text may have uncurled quotes here"
    return unicodedata.normalize("NFC", CONTROL.sub("", reference))


@pytest.mark.parametrize("case", PASS_CASES)
def test_ftfy_case(case: dict) -> None:
    assert repair_text(case["original"], DEFAULT)[0] == expected_repair(case)


def test_ftfy_cases_adjusted_by_our_transformations() -> None:
    """Only three pass cases need the adjustments of `expected_repair`."""
    cases = [p.values[0] for p in PASS_CASES]
    if cases == [None]:
        pytest.skip(f"no ftfy cases at {FTFY_CASES} (set INGEST_CORPORA)")
    adjusted = [c for c in cases if expected_repair(c) != c.get("fixed-encoding", c["fixed"])]
    assert len(cases) == 151
    assert len(adjusted) == 3  # two with U+001A / U+0081, one with "&frac14;"


@pytest.mark.parametrize("case", KNOWN_FAILURES)
@pytest.mark.xfail(strict=True, reason="a known failure of ftfy 6.3.1")
def test_ftfy_known_failure(case: dict) -> None:
    assert repair_text(case["original"], DEFAULT)[0] == expected_repair(case)


@pytest.mark.parametrize("case", ALL_CASES)
def test_fast_path_equals_slow_path(case: dict) -> None:
    for config in (DEFAULT, FOLDED):
        assert repair_text(case["original"], config) == _repair(case["original"], config, precheck=False)


# ---------------------------------------------------------------- properties



def expand_ranges(chars: str) -> str:
    """"a-dx" -> "abcdx", as in the character classes of ftfy's categories."""
    return re.sub(r"(.)-(.)", lambda m: "".join(map(chr, range(ord(m[1]), ord(m[2]) + 1))), chars)


# Every character of ftfy's mojibake categories (C1 controls included).
MOJIBAKE_ALPHABET = "".join(sorted(set("".join(map(expand_ranges, MOJIBAKE_CATEGORIES.values())))))
texts = st.text(st.characters(), max_size=80)
latin_texts = st.text(st.sampled_from(MOJIBAKE_ALPHABET + "abcdeéèàüöñçß ’“”–—…£€\n &;#?Ã"), max_size=60)


@st.composite
def mojibake(draw) -> str:
    """Text mis-decoded once or twice through ftfy's code pages, between clean text."""
    clean = draw(st.text(st.characters(codec="utf-8"), max_size=40))
    for _ in range(draw(st.integers(1, 2))):
        clean = clean.encode("utf-8").decode(draw(st.sampled_from(CHARMAP_ENCODINGS)))
    return draw(latin_texts) + clean + draw(latin_texts)


PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def check_repair(text: str, config: DecodeConfig) -> None:
    out, repairs = repair_text(text, config)  # never raises
    assert repair_text(out, config) == (out, [])  # idempotent
    assert not any(unicodedata.category(c) == "Cc" and c not in "\n\t" for c in out)
    assert not any(unicodedata.category(c) == "Cs" for c in out)
    assert all(r["count"] > 0 for r in repairs)
    assert (out, repairs) == _repair(text, config, precheck=False)


@PROPERTY
@given(st.one_of(texts, mojibake(), latin_texts), st.sampled_from([DEFAULT, FOLDED]))
def test_repair_properties(text: str, config: DecodeConfig) -> None:
    check_repair(text, config)
    out = repair_text(text, config)[0]
    # Every U+FFFD out stands for one in: as itself, as the "?" a lossy decoder left
    # in mojibake, or as its own mojibake ("ï¿½").
    lost = text.count("\ufffd") + text.count("?") + sum(text.count(s) for s in _FFFD_MOJIBAKE)
    assert out.count("\ufffd") <= lost
    if lost == 0:
        assert "\ufffd" not in out


@PROPERTY
@given(st.text(st.characters(exclude_categories=()), max_size=60))
def test_repair_never_raises_on_any_code_point(text: str) -> None:
    check_repair(text, DEFAULT)


@PROPERTY
@given(st.one_of(latin_texts, mojibake()))
def test_mojibake_check_covers_ftfy_heuristic(text: str) -> None:
    # The fast path skips ftfy when _may_be_mojibake is False: that must imply that
    # ftfy's own heuristic flags no line (a "\n"-ended segment, as ftfy cuts them).
    for segment in re.findall("[^\n]*\n|[^\n]+", text):
        if is_bad(segment):
            assert _may_be_mojibake(segment) and _may_be_mojibake(text)


def test_utf8_with_a_stray_cp1252_byte_keeps_utf8() -> None:
    data = "Café “au lait” costs ".encode("utf-8") + b"\xa35 at the kiosk."
    decoded = decode_bytes(data)
    assert decoded.text == "Café “au lait” costs £5 at the kiosk."
    assert decoded.encoding == "utf-8"
    assert decoded.repairs == [{"rule": "mixed-encoding", "count": 1}]


def test_legacy_file_is_not_taken_for_mixed_utf8() -> None:
    decoded = decode_bytes("Caf\u00e9 and cr\u00e8me br\u00fbl\u00e9e, the menu said.".encode("cp1252"))
    assert decoded.text == "Café and crème brûlée, the menu said."
    assert decoded.repairs == []
