"""The text layout the rules see: one paragraph per line, paragraphs one blank line apart.

Hard-wrapped lines are joined into their paragraph, runs of spaces collapsed, and
blank lines between paragraphs made exactly one; `line_key` is a line as learned
boilerplate compares it.
"""

from __future__ import annotations

import re

_ODD_SPACE = re.compile(r"[^\S\n ]")  # white space other than " " and "\n"
_ASCII_ODD_SPACE = "\t\r\x0b\x0c\x1c\x1d\x1e\x1f"  # the ASCII ones


_SENTENCE_END = tuple('.!?:;"”’)»')
# A sentence ends somewhere in the line (not only at its end: "... said. Reuter").
_SENTENCE_STOP = re.compile(r"[.!?][\"”’)»]*(?:\s|$)")


def _has_odd_space(text: str) -> bool:
    """Whether `text` has white space other than " " and "\n"."""
    if text.isascii():  # a flag of the string: no scan
        return any(c in text for c in _ASCII_ODD_SPACE)
    return _ODD_SPACE.search(text) is not None


def line_key(line: str) -> str:
    """A line folded for comparison: case and whitespace do not matter."""
    return " ".join(line.casefold().split())


def line_keys(normalised: str) -> list[str]:
    """`line_key` of each line of a text that `normalise_layout` returned, in one call.

    Its lines have no white space but single spaces, none at their edges, and case
    folding maps each character on its own, never to white space (checked over all of
    Unicode by a test): folding the whole text gives every line's key at once.
    """
    return normalised.casefold().split("\n")


def is_hard_wrapped(lines: list[str]) -> bool:
    """True for text wrapped at a fixed width (newswire, e-mail): lines end mid-sentence."""
    return _wrapped_from(lines) is not None


# Hard-wrapped text without enough lines to show its wrap width statistically is
# recognised by its line breaks instead: no line longer than a wire or e-mail line,
# and the breaks fall inside sentences ("...said it named Peter\nL. Scott, chairman
# ...\n<EMH>, to its board.").
_WRAP_WIDTH = 80
_FULL_LINE = 56  # a line this long that runs on into the next was wrapped
# A dateline ("WASHINGTON (AP) -", "LONDON, March 3 -", "CNN -") or a byline.
_BODY_OPENER = re.compile(
    r"(?:By|BY)[ \t]+[A-Z]"
    r"|[A-Z][A-Z.&\x27 ]{1,40}?(?:[ \t]*\([A-Za-z .&]{2,30}\))?(?:[ \t]*,[^\n]{1,30}?)?"
    r"[ \t]*(?:\u2014|\u2013|--?)(?:[ \t]|$)"
)
_SENTENCE_OPENER = re.compile(
    r"(?:The|A|An|It|He|She|They|We|This|These|Those|There|In|On|At|According|After|As|But|If|When|While)"
    r" [A-Za-z]"
)
# Words that leave a line unfinished: a line ending in one runs on into the next.
_RUNS_ON = frozenset("a an the and or but of to in on at for by with from into as than that said says".split())


def _wrapped_from(lines: list[str]) -> int | None:
    """None when `lines` are not hard-wrapped; else the index of the first line of the
    wrapped part (0, or the line after a headline, and a byline or dateline line,
    that stand apart from the body: each line before it is a paragraph).

    Wrapped at a fixed width, most non-final lines of a paragraph end near the wrap
    width, and that width is short; prose with one paragraph per line has long lines
    of every length. A text too short to show that (a three-line wire item whose
    first line lost its dateline) is wrapped when no line is longer than a wire or
    e-mail line and its line breaks fall mid-sentence: of the breaks between two lines
    that do not start a paragraph anyway (an indented line does), at least half follow
    a line that does not end like a sentence, and one of those runs on in lower case
    or follows a full line (not the first: a headline is short or long). A headline,
    a poem or an address line, a list item is followed by a capital or a marker.
    A first line that does not end like a sentence stays apart as a headline when the
    next line opens a body: a dateline or a byline ("WASHINGTON (AP) -", "By Jane
    Doe"), or a sentence starting with an article or a pronoun ("...widen conflict\n
    The US will ..."); wrapped lines run on ("...said its\nwarrants have started").
    """
    lengths = [len(line) for line in lines if line.strip()]
    if len(lengths) >= 4:
        width = sorted(lengths)[int(len(lengths) * 0.9)]
        if width <= 100 and sum(1 for n in lengths if n >= 0.7 * width) >= 0.6 * len(lengths):
            return 0
    if len(lengths) < 2 or max(len(line.strip()) for line in lines) > _WRAP_WIDTH:
        return None
    stripped = [line.strip() for line in lines]
    breaks = [i for i in range(len(lines) - 1)
              if stripped[i] and stripped[i + 1] and lines[i + 1][:1] not in (" ", "\t")]
    if not breaks or not any(_SENTENCE_STOP.search(line) for line in stripped):
        return None
    first = next(i for i, line in enumerate(stripped) if line)
    start = first
    # A headline, then maybe a byline or a dateline line, over the body.
    while breaks and breaks[0] == start and start < first + 3 and _opens_body(stripped[start], stripped[start + 1]):
        start += 1
        breaks = breaks[1:]
    mid = [i for i in breaks if not stripped[i].endswith(_SENTENCE_END)]
    if 2 * len(mid) >= len(breaks) and any(
        stripped[i + 1][0].islower() or (i > first and len(stripped[i]) >= _FULL_LINE) for i in mid
    ):
        return 0 if start == first else start
    return None


def _opens_body(headline: str, line: str) -> bool:
    """Whether `line`, right after a first line `headline` that does not end like a
    sentence, opens a text under it: a dateline or a byline ("WASHINGTON (AP) -",
    "By Jane Doe"), or a sentence that starts with an article or a pronoun ("The US
    will ...") under a line that does not need a continuation ("... said it and")."""
    if headline.endswith(_SENTENCE_END):
        return False
    if _BODY_OPENER.match(line):
        return True
    return _SENTENCE_OPENER.match(line) is not None and headline.rsplit(None, 1)[-1].lower() not in _RUNS_ON


def is_normalised(text: str) -> bool:
    """True when `normalise_layout(text) == text`, checked without normalising.

    That is: non-empty lines separated by exactly one blank line, no white space but
    single spaces inside them and none at their edges. Hard wrapping does not matter
    then: a blank line ends every paragraph anyway.
    """
    if not text:
        return True
    return (
        text[0] not in " \n" and text[-1] not in " \n"
        and "  " not in text and " \n" not in text and "\n " not in text and "\n\n\n" not in text
        and text.count("\n") == 2 * text.count("\n\n")  # every run of line breaks is two long
        and not _has_odd_space(text)
    )


def _collapsed(line: str) -> str:
    return " ".join(line.split())


def normalise_layout(text: str) -> str:
    """Paragraphs separated by one blank line; spaces collapsed; no edge whitespace.

    Each line is a paragraph, except in hard-wrapped text, where lines join into a
    paragraph until a blank line or an indented line starts the next one.
    """
    if is_normalised(text):  # the pipeline normalises once, the cleaner again: cheap then
        return text
    raw_lines = text.split("\n")
    # Without a lone line break, no two non-blank lines follow each other, and joining
    # wrapped lines has nothing to join.
    wrapped_from = _wrapped_from(raw_lines) if "\n" in text.replace("\n\n", "") else None
    # A line stripped, and each run of white space in it made one space when it has any
    # but single spaces (splitting a line into its words costs more than stripping it).
    tidy = _collapsed if "  " in text or _has_odd_space(text) else str.strip
    if wrapped_from is None:  # every non-empty line is a paragraph
        return "\n\n".join([line for line in map(tidy, raw_lines) if line])
    paragraphs: list[str] = []
    current: list[str] = []
    for i, raw in enumerate(raw_lines):
        line = tidy(raw)
        starts_paragraph = not line or raw[:1] in (" ", "\t") or i <= wrapped_from
        if starts_paragraph and current:
            paragraphs.append(" ".join(current))
            current = []
        if line:
            current.append(line)
    if current:
        paragraphs.append(" ".join(current))
    return "\n\n".join(paragraphs)
