"""A fast prefilter for the rules: literals that every match of a pattern contains.

A rule's compiled pattern is parsed once for the literal strings any match must hold;
a text (or a line) that lacks them is not searched at all. Most rules need a literal
("[ad_", "Short", "contributed") that most texts lack, so most regex calls are skipped.
"""

from __future__ import annotations

import re
import re._constants as _sre
import re._parser as _sre_parse

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


def literal_groups(pattern: str, compiled: re.Pattern[str]) -> _NeedleGroups:
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


def stays_within_a_line(pattern: str, compiled: re.Pattern[str]) -> bool:
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


class Haystack:
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


def line_matches(view: str, haystack: Haystack, rx: re.Pattern[str], needles: _NeedleGroups,
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
