"""Learned boilerplate's line keys: the whole-text shortcuts give what `line_key` gives
line by line."""

from __future__ import annotations

import sys

from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.clean.boilerplate import LearnedLines, LineTally, line_hashes
from ingest.clean.layout import line_key, line_keys, normalise_layout
from ingest.config import load_config

CONFIG = load_config().clean.boilerplate

# Lines that repeat, in every case and spacing, among arbitrary text.
PIECES = st.sampled_from(["\n", "\n\n", " ", "  ", "\t", "Subscribe NOW", "subscribe   now", "ÉTÉ ß", "été ss",
                          "\u00a0", "\u2028", "İstanbul", "Reuter", " REUTER\n"])
TEXTS = st.lists(st.text(max_size=20) | PIECES, max_size=25).map("".join)


def test_case_folding_never_makes_white_space_or_a_line_break() -> None:
    """What `line_keys` rests on, over every code point."""
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        folded = char.casefold()
        assert folded, hex(code)
        if char.isspace():
            assert folded == char, hex(code)
        else:
            assert not any(c.isspace() for c in folded), hex(code)


@settings(max_examples=400, deadline=None)
@given(TEXTS)
def test_line_keys_of_a_normalised_text_are_its_lines_keys(text: str) -> None:
    normalised = normalise_layout(text)
    assert line_keys(normalised) == [line_key(line) for line in normalised.split("\n")]


@settings(max_examples=300, deadline=None)
@given(TEXTS, st.lists(TEXTS, max_size=4))
def test_learned_lines_are_the_lines_whose_keys_were_learned(text: str, others: list[str]) -> None:
    normalised = normalise_layout(text)
    # Learned: some keys of this text and of others, in this group; all of them in another.
    keys = [line_key(line) for t in [text, *others] for line in normalise_layout(t).split("\n")]
    learned = {("group", h) for h in line_hashes(keys[::2])} | {("elsewhere", h) for h in line_hashes(keys)}
    expected = {key for key in (line_key(line) for line in normalised.split("\n"))
                if key and len(key) <= CONFIG.max_line_chars and ("group", line_hashes([key])[0]) in learned}
    assert LearnedLines(learned).of(normalised, "group", CONFIG.max_line_chars) == expected
    assert LearnedLines(learned).of(normalised, "nowhere", CONFIG.max_line_chars) == set()


def test_a_line_is_counted_once_per_document() -> None:
    tally = LineTally(CONFIG)
    tally.add("group", normalise_layout("Subscribe now\n\nA story.\n\nSUBSCRIBE   now"))
    tally.add("group", normalise_layout("Subscribe now\n\nAnother story."))
    hashes, docs = tally.line_docs()["group"]
    counted = dict(zip(hashes.tolist(), docs.tolist()))
    assert counted[line_hashes(["subscribe now"])[0]] == 2
    assert counted[line_hashes(["a story."])[0]] == 1
    assert tally.group_docs["group"] == 2
