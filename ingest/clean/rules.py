"""The named artefact rules, applied with an audit trail: `Cleaner`.

Every cut is a `Removal` naming the rule that made it, with its offsets into the
text the cleaner was given, so that the kept text plus the removed spans account for
the whole input. Rules come from the config (`[[clean.rules]]`); learned boilerplate
lines (`ingest/clean/boilerplate.py`) are applied as one more line rule named
"boilerplate".
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from ingest.clean.layout import line_key, normalise_layout
from ingest.clean.literals import Haystack, line_matches, literal_groups, stays_within_a_line
from ingest.config import CleanConfig, Rule

BOILERPLATE_RULE = "boilerplate"
CUT_GROUP = "cut"  # in a line or prefix rule's pattern: only the line from there on goes


_NON_SPACE = re.compile(r"\S")


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
    # Values taken out of the text by "move" rules: created, title, author, url, dateline, credit.
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


class Cleaner:
    """Applies the configured artefact rules to one text."""

    def __init__(self, config: CleanConfig) -> None:
        rules = [rule for rule in config.rules if rule.enabled]
        self._compiled = {rule.name: rule.compiled() for rule in rules}
        self._by_kind: dict[str, list[Rule]] = {kind: [] for kind in ("line", "prefix", "inline", "header", "trailer")}
        for rule in rules:
            self._by_kind[rule.kind].append(rule)
        self._inline = [(r.name, self._compiled[r.name], literal_groups(r.pattern, self._compiled[r.name]))
                        for r in self._by_kind["inline"]]
        # Line rules match a whole line, prefix rules its start; surrounding blanks
        # (including cuts already blanked out) do not count. Line rules come first.
        self._whole_line = [self._line_rule(r, r"[^\S\n]*$") for r in self._by_kind["line"]]
        self._whole_line += [self._line_rule(r, "") for r in self._by_kind["prefix"]]
        self._headers = [(r, self._compiled[r.name]) for r in self._by_kind["header"]]
        self._trailers = [(r, self._compiled[r.name]) for r in self._by_kind["trailer"]]

    def _line_rule(self, rule: Rule, tail: str) -> tuple:
        compiled = self._compiled[rule.name]
        rx = _line_pattern(rule, tail)
        return (rule.name, rx, literal_groups(rule.pattern, compiled), stays_within_a_line(rule.pattern, compiled),
                CUT_GROUP in rx.groupindex)

    def clean(
        self,
        text: str,
        known: Collection[str] = (),
        boilerplate: Collection[str] = (),
        normalised: bool = False,
        headings: Collection[str] = (),
    ) -> CleanResult:
        """Clean `text`.

        The rules see the text with its layout normalised first (one paragraph per line
        pair, hard-wrapped lines joined), so that a rule about a line is about a
        paragraph whatever the source's wrapping; offsets in the removals are into that
        normalised text (`CleanResult.source_text`).
        `known` names the fields the document already has from its metadata (a "move"
        to `title` does not fire then: a short first paragraph under a known title is
        a lead, not a headline).  `boilerplate` holds learned line keys (`line_key`);
        `headings` the keys of the lines the source marks as headings: a learned
        heading goes only with its section, when the section's lines all go too (a
        "Share this" heading over share links); over text that stays, or over nothing
        (a heading over a sub-heading, a book card's shortcode), it is the text's
        structure ("## References" in every post) and stays.
        `normalised`: `text` is what `normalise_layout` returned (a prepared record's
        text), which it returns unchanged: not checked again.
        """
        if not normalised:
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
            joined = self._line_rules(current_view(), remove, boilerplate, headings)
            before = coverage.size()
            self._header_rules(current_view(), remove, fields, known)
            self._trailer_rules(current_view(), remove, fields, known)
            if not joined and coverage.size() == before:
                break
        removals.sort(key=lambda r: r.start)
        cut = _cut(text, coverage) if coverage.size() else text
        return CleanResult(normalise_layout(cut), removals, fields, text)

    def _line_rules(self, view: str, remove, boilerplate: Collection[str], headings: Collection[str]) -> bool:
        """Inline rules first; line, prefix and boilerplate rules then see the lines
        without their inline cuts ("[ad_1]READ: ..." is still a cross-link line).
        Rules with a `cut` group come last and see the lines without those cuts too
        (a sign-off above a removed last line is then the last line).

        Each rule scans the whole text once (multiline patterns), not line by line:
        one regex call per rule instead of one per line and rule, and none for a rule
        whose pattern needs a literal that the text lacks (`literal_groups`); a pattern that
        never takes a line break is tried only on the lines that hold its literals.
        Returns whether an inline rule cut something or a `cut` group shortened a
        line: both leave text that a new pass may match.
        """
        haystack = Haystack(view)
        cuts = sorted((m.start(), m.end(), name) for name, rx, needles in self._inline
                      if haystack.may_hold(needles) for m in rx.finditer(view) if m.end() > m.start())
        for start, end, name in cuts:
            remove(start, end, name)
        if cuts:
            view = _blank_spans(view, [(s, e) for s, e, _ in cuts])
            haystack = Haystack(view)
        line_cuts: list[tuple[int, int]] = []
        for name, rx, needles, within_a_line, has_cut in self._whole_line:
            if not has_cut:
                for start in line_matches(view, haystack, rx, needles, within_a_line, starts_only=True):
                    line_cuts.append((start, _line_end(view, start)))
                    remove(*line_cuts[-1], name)
        if boilerplate:
            longest = max(map(len, boilerplate))
            lines = (_blank_spans(view, sorted(line_cuts)) if line_cuts else view).split("\n")
            # An empty line can only make an empty cut, which removes nothing.
            learned = [bool(line) and len(line.strip()) <= longest and line_key(line) in boilerplate for line in lines]
            if headings:
                _keep_headings_over_text(lines, learned, headings)
            pos = 0
            for line, is_learned in zip(lines, learned):
                if is_learned:
                    line_cuts.append((pos, pos + len(line)))
                    remove(*line_cuts[-1], BOILERPLATE_RULE)
                pos += len(line) + 1
        shortened = False
        for name, rx, needles, within_a_line, has_cut in self._whole_line:
            if not has_cut:
                continue
            if line_cuts:
                view = _blank_spans(view, sorted(line_cuts))
                haystack = Haystack(view)
                line_cuts = []
            for m in line_matches(view, haystack, rx, needles, within_a_line):
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
            start = _NON_SPACE.search(view, pos)  # past white space and blanked cuts
            if start is None:
                return
            pos = start.start()
            for rule, rx in self._headers:
                m = rx.match(view, pos)
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
            end = len(view[:end].rstrip())  # before white space and blanked cuts
            if end <= 0:
                return
            line_start = view.rfind("\n", 0, end) + 1
            while line_start < end and view[line_start] in " \t":
                line_start += 1
            for rule, rx in self._trailers:
                m = rx.fullmatch(view, line_start, end)
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
        elif value and rule.to == "credit":
            # Trailers are taken from the end up: an earlier credit line goes first.
            fields[rule.to] = f"{value}; {fields[rule.to]}"
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


def _line_pattern(rule: Rule, tail: str) -> re.Pattern[str]:
    flags = re.MULTILINE | (re.IGNORECASE if rule.ignore_case else 0)
    return re.compile(rf"^[^\S\n]*(?:{rule.pattern}){tail}", flags)


def _keep_headings_over_text(lines: list[str], learned: list[bool], headings: Collection[str]) -> None:
    """Unmark (in `learned`) each learned heading whose section, the lines up to the
    next heading, is not all cut: it holds text that stays, or nothing. A line of
    blanks is one an earlier cut took; an empty line separates paragraphs."""
    section_cut = section_kept = False  # of the section below, scanning upwards
    for i in range(len(lines) - 1, -1, -1):
        line = lines[i]
        if not line.strip():
            section_cut = section_cut or bool(line)
        elif line_key(line) in headings:
            if learned[i] and (section_kept or not section_cut):
                learned[i] = False
            section_cut = section_kept = False
        elif learned[i]:
            section_cut = True
        else:
            section_kept = True


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
