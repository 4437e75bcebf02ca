"""Artefact removal with an audit trail, and text layout normalisation.

Every cut is a `Removal` naming the rule that made it, with its offsets into the
text the cleaner was given, so that the kept text plus the removed spans account for
the whole input.  Rules come from the config (`[[clean.rules]]`); learned boilerplate
lines (see `boilerplate.py`) are applied as one more line rule named "boilerplate".
"""

from __future__ import annotations

import bisect
import re
import re._constants as _sre
import re._parser as _sre_parse
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from ingest.config import CleanConfig, Rule

BOILERPLATE_RULE = "boilerplate"
CUT_GROUP = "cut"  # in a line or prefix rule's pattern: only the line from there on goes

# Replacing its matches with " " collapses every run of white space but line breaks
# into one space (as r"[^\S\n]+" would), matching only the runs that change: two or
# more characters, or one other than " " (the look-behind sees the character just
# matched), not every single space between two words.
_SPACE_FIX = re.compile(r"[^\S\n](?:[^\S\n]+|(?<! ))")
_ODD_SPACE = re.compile(r"[^\S\n ]")  # white space other than " " and "\n"
_ASCII_ODD_SPACE = "\t\r\x0b\x0c\x1c\x1d\x1e\x1f"  # the ASCII ones
_NON_SPACE = re.compile(r"\S")
_SENTENCE_END = tuple('.!?:;"”’)»')
# A sentence ends somewhere in the line (not only at its end: "... said. Reuter").
_SENTENCE_STOP = re.compile(r"[.!?][\"”’)»]*(?:\s|$)")


@dataclass(frozen=True)
class Removal:
    rule: str
    start: int
    end: int
    text: str
    moved_to: str | None = None  # the field a "move" rule filled (or tried to)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"rule": self.rule, "start": self.start, "end": self.end, "text": self.text}
        if self.moved_to:
            out["moved_to"] = self.moved_to
        return out


@dataclass
class CleanResult:
    text: str
    removals: list[Removal]
    # Values taken out of the text by "move" rules: created, title, author, url, dateline.
    fields: dict[str, str] = field(default_factory=dict)
    source_text: str = ""  # what the rules saw: the input with its layout normalised


class _Coverage:
    """Disjoint, sorted spans already removed; new spans only add what is uncovered."""

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []
        self._size = 0

    def size(self) -> int:
        return self._size

    def add(self, start: int, end: int) -> list[tuple[int, int]]:
        """Mark [start, end) removed; return the sub-spans that were not removed before."""
        fresh: list[tuple[int, int]] = []
        pos = start
        i = bisect.bisect_right(self.ends, start)
        while pos < end:
            if i < len(self.starts) and self.starts[i] < end:
                if self.starts[i] > pos:
                    fresh.append((pos, self.starts[i]))
                pos = max(pos, self.ends[i])
                i += 1
            else:
                fresh.append((pos, end))
                pos = end
        for s, e in fresh:
            j = bisect.bisect_left(self.starts, s)
            self.starts.insert(j, s)
            self.ends.insert(j, e)
            self._size += e - s
        return fresh


def _has_odd_space(text: str) -> bool:
    """Whether `text` has white space other than " " and "\n"."""
    if text.isascii():  # a flag of the string: no scan
        return any(c in text for c in _ASCII_ODD_SPACE)
    return _ODD_SPACE.search(text) is not None


class Cleaner:
    """Applies the configured artefact rules to one text."""

    def __init__(self, config: CleanConfig) -> None:
        rules = [rule for rule in config.rules if rule.enabled]
        self._compiled = {rule.name: rule.compiled() for rule in rules}
        self._by_kind: dict[str, list[Rule]] = {kind: [] for kind in ("line", "prefix", "inline", "header", "trailer")}
        for rule in rules:
            self._by_kind[rule.kind].append(rule)
        self._inline = [(r.name, self._compiled[r.name], _needles(r.pattern, self._compiled[r.name]))
                        for r in self._by_kind["inline"]]
        # Line rules match a whole line, prefix rules its start; surrounding blanks
        # (including cuts already blanked out) do not count. Line rules come first.
        self._whole_line = [self._line_rule(r, r"[^\S\n]*$") for r in self._by_kind["line"]]
        self._whole_line += [self._line_rule(r, "") for r in self._by_kind["prefix"]]

    def _line_rule(self, rule: Rule, tail: str) -> tuple:
        compiled = self._compiled[rule.name]
        rx = _line_pattern(rule, tail)
        return (rule.name, rx, _needles(rule.pattern, compiled), _within_a_line(rule.pattern, compiled),
                CUT_GROUP in rx.groupindex)

    def clean(
        self,
        text: str,
        known: Collection[str] = (),
        boilerplate: Collection[str] = (),
    ) -> CleanResult:
        """Clean `text`.

        The rules see the text with its layout normalised first (one paragraph per line
        pair, hard-wrapped lines joined), so that a rule about a line is about a
        paragraph whatever the source's wrapping; offsets in the removals are into that
        normalised text (`CleanResult.source_text`).
        `known` names the fields the document already has from its metadata (a "move"
        to `title` does not fire then: a short first paragraph under a known title is
        a lead, not a headline).  `boilerplate` holds learned line keys (`line_key`).
        """
        text = normalise_layout(text)
        coverage = _Coverage()
        removals: list[Removal] = []
        fields: dict[str, str] = {}

        def remove(start: int, end: int, rule: str, moved_to: str | None = None) -> None:
            for s, e in coverage.add(start, end):
                if text[s:e].strip():
                    removals.append(Removal(rule, s, e, text[s:e], moved_to))

        # Every pass sees the text with the cuts so far blanked out (same length, so
        # offsets hold): "[ad_1]" before a dateline does not hide it, and a line that a
        # removed header leaves behind ("date 2024-04-14 READ: ...") is seen as a line.
        # The passes repeat while a cut can have made a new match: an inline cut joins
        # text, a header or trailer cut exposes a new first or last line, a `cut` group
        # leaves a shorter line. Whole-line cuts alone cannot (the header and trailer
        # passes already saw them). This
        # makes cleaning idempotent. Coverage only grows, so the view is blanked anew
        # only when its size changed.
        view, view_size = text, 0

        def current_view() -> str:
            nonlocal view, view_size
            if coverage.size() != view_size:
                view, view_size = _blank(text, coverage), coverage.size()
            return view

        while True:
            joined = self._line_rules(current_view(), remove, boilerplate)
            before = coverage.size()
            self._header_rules(current_view(), remove, fields, known)
            self._trailer_rules(current_view(), remove, fields, known)
            if not joined and coverage.size() == before:
                break
        removals.sort(key=lambda r: r.start)
        cut = _cut(text, coverage) if coverage.size() else text
        return CleanResult(normalise_layout(cut), removals, fields, text)

    def _line_rules(self, view: str, remove, boilerplate: Collection[str]) -> bool:
        """Inline rules first; line, prefix and boilerplate rules then see the lines
        without their inline cuts ("[ad_1]READ: ..." is still a cross-link line).
        Rules with a `cut` group come last and see the lines without those cuts too
        (a sign-off above a removed last line is then the last line).

        Each rule scans the whole text once (multiline patterns), not line by line:
        one regex call per rule instead of one per line and rule, and none for a rule
        whose pattern needs a literal that the text lacks (`_needles`); a pattern that
        never takes a line break is tried only on the lines that hold its literals.
        Returns whether an inline rule cut something or a `cut` group shortened a
        line: both leave text that a new pass may match.
        """
        haystack = _Haystack(view)
        cuts = sorted((m.start(), m.end(), name) for name, rx, needles in self._inline
                      if haystack.may_hold(needles) for m in rx.finditer(view) if m.end() > m.start())
        for start, end, name in cuts:
            remove(start, end, name)
        if cuts:
            view = _blank_spans(view, [(s, e) for s, e, _ in cuts])
            haystack = _Haystack(view)
        line_cuts: list[tuple[int, int]] = []
        for name, rx, needles, within_a_line, has_cut in self._whole_line:
            if not has_cut:
                for start in _line_matches(view, haystack, rx, needles, within_a_line, starts_only=True):
                    line_cuts.append((start, _line_end(view, start)))
                    remove(*line_cuts[-1], name)
        if boilerplate:
            longest = max(map(len, boilerplate))
            pos = 0
            for line in view.split("\n"):
                # An empty line can only make an empty cut, which removes nothing.
                if line and len(line.strip()) <= longest and line_key(line) in boilerplate:
                    line_cuts.append((pos, pos + len(line)))
                    remove(*line_cuts[-1], BOILERPLATE_RULE)
                pos += len(line) + 1
        shortened = False
        for name, rx, needles, within_a_line, has_cut in self._whole_line:
            if not has_cut:
                continue
            if line_cuts:
                view = _blank_spans(view, sorted(line_cuts))
                haystack = _Haystack(view)
                line_cuts = []
            for m in _line_matches(view, haystack, rx, needles, within_a_line):
                start = m.start()
                if m.start(CUT_GROUP) > start:
                    shortened = shortened or bool(view[start : m.start(CUT_GROUP)].strip())
                    start = m.start(CUT_GROUP)
                line_cuts.append((start, _line_end(view, start)))
                remove(*line_cuts[-1], name)
        return bool(cuts) or shortened

    def _header_rules(self, view: str, remove, fields, known) -> None:
        pos = 0
        while True:
            while pos < len(view) and view[pos].isspace():
                pos += 1
            if pos >= len(view):
                return
            for rule in self._by_kind["header"]:
                m = self._compiled[rule.name].match(view, pos)
                # A header heads something: it never takes the whole rest of the text.
                if m is None or m.end() == pos or not _NON_SPACE.search(view, m.end()):
                    continue
                # A headline heads a text at least twice its length. Without this the
                # first line of a three-line dividend notice ("Qtly div 20 cts vs 18
                # cts") became its title, and notices that differ only in that line
                # were merged as duplicates.
                if rule.to == "title" and not _visible_at_least(view, m.end(), 2 * _visible(m.group())):
                    continue
                if not self._take(rule, m, fields, known):
                    continue
                remove(m.start(), m.end(), rule.name, rule.to)
                pos = m.end()
                break
            else:
                return

    def _trailer_rules(self, view: str, remove, fields, known) -> None:
        end = len(view)
        while True:
            while end > 0 and view[end - 1].isspace():
                end -= 1
            if end <= 0:
                return
            line_start = view.rfind("\n", 0, end) + 1
            while line_start < end and view[line_start] in " \t":
                line_start += 1
            for rule in self._by_kind["trailer"]:
                m = self._compiled[rule.name].fullmatch(view, line_start, end)
                if m is None or not self._take(rule, m, fields, known):
                    continue
                remove(line_start, end, rule.name, rule.to)
                end = line_start
                break
            else:
                return

    @staticmethod
    def _take(rule: Rule, m: re.Match[str], fields: dict[str, str], known: Collection[str]) -> bool:
        """Record a "move" rule's value; False when the rule must not fire."""
        if rule.action != "move" or rule.to is None:
            return True
        if rule.to == "title" and ("title" in known or "title" in fields):
            return False
        value = m.groupdict().get("value", m.group(0))
        value = " ".join((value or "").split())
        if value and rule.to not in fields:
            fields[rule.to] = value
        return True


def _visible(text: str) -> int:
    """Length with runs of white space (and blanked cuts) counted as one space."""
    return len(" ".join(text.split()))


def _visible_at_least(text: str, start: int, n: int) -> bool:
    """`_visible(text[start:]) >= n`, without measuring all of a long text.

    A prefix is never more visible than the whole, so a prefix that is visible
    enough settles it; the whole rest is measured only when it does not.
    """
    end = start + 2 * n + 64
    if end < len(text) and _visible(text[start:end]) >= n:
        return True
    return _visible(text[start:]) >= n


# ---- prefilter: literals that every match of a pattern contains

# A needle group is satisfied when one of its literals occurs in the text; a pattern
# whose groups are not all satisfied cannot match. Each literal is (text, folded):
# folded literals are ASCII with letters under IGNORECASE, looked up in the
# lower-cased text. IGNORECASE also matches "\u212a" (KELVIN SIGN) to "k", "\u017f"
# (long s) to "s", "\u0130" and "\u0131" (dotted and dotless I) to "i", and these
# are the only characters besides "\u0130" and "\u212a" whose lower case has ASCII
# in it; so without them in the text, a lower-cased text holds a folded literal
# exactly when the pattern's literal matches (and "\u0130" is the only character
# whose lower case is longer: the offsets hold). ASCII punctuation, digits and white
# space have no other case.
_FOLD_TO_ASCII = "\u0130\u0131\u017f\u212a"
_Needle = tuple[str, bool]
_NeedleGroups = tuple[tuple[_Needle, ...], ...]
_MAX_NEEDLE_GROUPS = 3
_REPEATS = (_sre.MAX_REPEAT, _sre.MIN_REPEAT, getattr(_sre, "POSSESSIVE_REPEAT", _sre.MAX_REPEAT))


def _needles(pattern: str, compiled: re.Pattern[str]) -> _NeedleGroups:
    """Literal groups every match of `pattern` contains (none when unsure)."""
    ignore_case = bool(compiled.flags & re.IGNORECASE)
    try:
        groups = _required(_sre_parse.parse(pattern, compiled.flags), ignore_case)
    except Exception:  # an unexpected parse tree: no prefilter, the regex decides
        return ()
    # A needle that contains another one of its group adds nothing ("credits" after
    # "credit"). Each needle costs a scan of the text, so only a few groups are looked
    # for: single needles first, longest first (the rarer literals tend to be the
    # longer ones), then the groups with fewest needles.
    pruned = set()
    for group in groups:
        pruned.add(tuple(n for n in group if not any(o != n and o[1] == n[1] and o[0] in n[0] for o in group)))
    ranked = sorted(pruned, key=lambda g: (len(g), -min(len(t) for t, _ in g)))
    return tuple(ranked[:_MAX_NEEDLE_GROUPS])


def _required(seq, ignore_case: bool) -> list[tuple[_Needle, ...]]:
    groups: list[tuple[_Needle, ...]] = []
    run: list[str] = []

    def flush() -> None:
        if run:
            needle = _needle("".join(run), ignore_case)
            if needle is not None:
                groups.append((needle,))
            run.clear()

    for op, av in seq:
        if op is _sre.LITERAL:
            run.append(chr(av))
            continue
        flush()
        if op is _sre.SUBPATTERN:
            _group, add_flags, del_flags, sub = av
            if not add_flags and not del_flags:  # local flags change what a literal matches
                groups.extend(_required(sub, ignore_case))
        elif op in _REPEATS:
            low, _high, sub = av
            if low >= 1:
                groups.extend(_required(sub, ignore_case))
        elif op is getattr(_sre, "ATOMIC_GROUP", None):
            groups.extend(_required(av, ignore_case))
        elif op is _sre.BRANCH:
            # One of the branches matches: one literal of each branch is needed.
            either: list[_Needle] = []
            for branch in av[1]:
                options = _required(branch, ignore_case)
                if not options:
                    either = []
                    break
                either.extend(min(options, key=len))
            if either:
                groups.append(tuple(dict.fromkeys(either)))
        # Anything else (classes, anchors, lookarounds, back references,
        # conditionals) requires no literal that is certain.
    flush()
    return groups


def _within_a_line(pattern: str, compiled: re.Pattern[str]) -> bool:
    """True when no match of `pattern` can take a line break (lookarounds aside)."""
    if compiled.flags & re.DOTALL:
        return False
    try:
        return not _takes_newline(_sre_parse.parse(pattern, compiled.flags))
    except Exception:  # an unexpected parse tree: assume it can
        return False


_NEWLINE = ord("\n")
# Categories whose characters include "\n" (\s, \D, \W).
_NEWLINE_CATEGORIES = {_sre.CATEGORY_SPACE, _sre.CATEGORY_NOT_DIGIT, _sre.CATEGORY_NOT_WORD,
                       _sre.CATEGORY_LINEBREAK}


def _takes_newline(seq) -> bool:
    for op, av in seq:
        if op is _sre.LITERAL:
            if av == _NEWLINE:
                return True
        elif op is _sre.NOT_LITERAL:
            if av != _NEWLINE:
                return True
        elif op is _sre.ANY:
            continue  # without DOTALL (checked by the caller, and no local flags below)
        elif op is _sre.IN:
            if _set_has_newline(av):
                return True
        elif op is _sre.SUBPATTERN:
            _group, add_flags, del_flags, sub = av
            if add_flags or del_flags or _takes_newline(sub):
                return True
        elif op in _REPEATS:
            if _takes_newline(av[2]):
                return True
        elif op is getattr(_sre, "ATOMIC_GROUP", None):
            if _takes_newline(av):
                return True
        elif op is _sre.BRANCH:
            if any(_takes_newline(branch) for branch in av[1]):
                return True
        elif op in (_sre.ASSERT, _sre.ASSERT_NOT, _sre.AT):
            continue  # looks, takes nothing
        elif op is _sre.GROUPREF:
            continue  # what its group took
        else:  # conditionals and anything unexpected: assume it can
            return True
    return False


def _set_has_newline(items) -> bool:
    negate = False
    has = False
    for op, av in items:
        if op is _sre.NEGATE:
            negate = True
        elif op is _sre.LITERAL:
            has = has or av == _NEWLINE
        elif op is _sre.RANGE:
            has = has or av[0] <= _NEWLINE <= av[1]
        elif op is _sre.CATEGORY:
            has = has or av in _NEWLINE_CATEGORIES
        else:  # anything unexpected (a charset compiled form): assume it can
            return True
    return has != negate


def _needle(literal: str, ignore_case: bool) -> _Needle | None:
    if not ignore_case or not any(c.isalpha() for c in literal):
        if ignore_case and not literal.isascii():
            return None
        return (literal, False)
    if not literal.isascii():
        return None
    return (literal.lower(), True)


class _Haystack:
    """A text to look for needles in; lower-cased once, when a folded needle needs it."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._lower: str | None = None
        self._foldable: bool | None = None

    def _lowered(self) -> str | None:
        """The text lower-cased, offsets kept; None when folded needles cannot be told."""
        if self._foldable is None:
            self._foldable = self.text.isascii() or not any(c in self.text for c in _FOLD_TO_ASCII)
            if self._foldable:
                self._lower = self.text.lower()
        return self._lower

    def may_hold(self, groups: _NeedleGroups) -> bool:
        """False when the text lacks every needle of a group: the pattern cannot match."""
        for group in groups:
            for literal, folded in group:
                if not folded:
                    if literal in self.text:
                        break
                else:
                    lower = self._lowered()
                    if lower is None or literal in lower:  # None: cannot tell
                        break
            else:
                return False
        return True

    def lines_holding(self, group: tuple[_Needle, ...]) -> list[int] | None:
        """The starts of the lines that hold a needle of `group`, in order; None when
        that cannot be told."""
        starts: set[int] = set()
        for literal, folded in group:
            haystack = self._lowered() if folded else self.text
            if haystack is None:
                return None
            at = haystack.find(literal)
            while at >= 0:
                starts.add(self.text.rfind("\n", 0, at) + 1)
                line_end = self.text.find("\n", at)
                if line_end < 0:
                    break
                at = haystack.find(literal, line_end + 1)
        return sorted(starts)


def _line_matches(view: str, haystack: _Haystack, rx: re.Pattern[str], needles: _NeedleGroups,
                  within_a_line: bool, starts_only: bool = False):
    """The matches of a line or prefix rule (or their starts), as finditer finds them:
    none when a needle is missing, and tried only on the lines holding one when a
    match cannot take a line break (it starts at a line start, ends in that line)."""
    starts = haystack.lines_holding(needles[0]) if within_a_line and needles else None
    if starts is None:
        if not haystack.may_hold(needles):
            return ()
        matches = rx.finditer(view)
    else:
        if not starts or not haystack.may_hold(needles[1:]):
            return ()
        matches = (m for m in map(rx.match, [view] * len(starts), starts) if m is not None)
    return (m.start() for m in matches) if starts_only else matches


def _line_pattern(rule: Rule, tail: str) -> re.Pattern[str]:
    flags = re.MULTILINE | (re.IGNORECASE if rule.ignore_case else 0)
    return re.compile(rf"^[^\S\n]*(?:{rule.pattern}){tail}", flags)


def _line_end(text: str, pos: int) -> int:
    end = text.find("\n", pos)
    return len(text) if end < 0 else end


def _blank_spans(text: str, spans: list[tuple[int, int]]) -> str:
    parts: list[str] = []
    pos = 0
    for start, end in spans:
        if start < pos:  # overlapping matches of two inline rules
            start = pos
        parts.append(text[pos:start])
        parts.append(_spaces(text[start:end]))
        pos = max(pos, end)
    parts.append(text[pos:])
    return "".join(parts)


def _spaces(segment: str) -> str:
    """Blank a segment, keeping its line breaks."""
    return "\n".join([" " * len(part) for part in segment.split("\n")])


def _blank(text: str, coverage: _Coverage) -> str:
    return _blank_spans(text, list(zip(coverage.starts, coverage.ends)))


def _cut(text: str, coverage: _Coverage) -> str:
    """The text without the removed spans; a span removed between two words leaves a space."""
    parts: list[str] = []
    pos = 0
    for start, end in zip(coverage.starts, coverage.ends):
        parts.append(text[pos:start])
        before = text[start - 1] if start > 0 else "\n"
        after = text[end] if end < len(text) else "\n"
        if not before.isspace() and not after.isspace():
            parts.append(" ")
        pos = end
    parts.append(text[pos:])
    return "".join(parts)


def line_key(line: str) -> str:
    """A line folded for comparison: case and whitespace do not matter."""
    return " ".join(line.casefold().split())


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
    wrapped = wrapped_from is not None
    if "  " in text or _has_odd_space(text):
        text = _SPACE_FIX.sub(" ", text)
    lines = text.split("\n")
    if not wrapped:  # every non-empty line is a paragraph
        return "\n\n".join([line for line in map(str.strip, lines) if line])
    paragraphs: list[str] = []
    current: list[str] = []
    for i, (raw, line) in enumerate(zip(raw_lines, lines)):
        line = line.strip()
        starts_paragraph = not line or raw[:1] in (" ", "\t") or i <= wrapped_from
        if starts_paragraph and current:
            paragraphs.append(" ".join(current))
            current = []
        if line:
            current.append(line)
    if current:
        paragraphs.append(" ".join(current))
    return "\n\n".join(paragraphs)
