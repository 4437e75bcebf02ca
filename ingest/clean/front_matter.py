"""Front matter of Markdown files: YAML between "---" lines, TOML between "+++" lines.

Values come back safe for JSON (dates as ISO 8601 strings, keys as strings), and
alias bombs ("billion laughs") are refused rather than expanded.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from typing import TYPE_CHECKING, Any

import yaml

from ingest.clean.html import ExtractError

if TYPE_CHECKING:
    pass


# yaml.safe_load expands aliases into shared (even self-referencing) structures; turning
# them into JSON values would blow up on "billion laughs" front matter.
_MAX_FRONT_MATTER_NODES = 10_000
_MAX_FRONT_MATTER_DEPTH = 50


_YAML_FRONT = re.compile(r"\A\ufeff?---[ \t]*\r?\n(.*?\r?\n)??(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.DOTALL)
_TOML_FRONT = re.compile(r"\A\ufeff?\+\+\+[ \t]*\r?\n(.*?\r?\n)??\+\+\+[ \t]*(?:\r?\n|\Z)", re.DOTALL)


def split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """(front matter, body) of a Markdown file; ({}, text) when it has none.

    YAML between "---" lines or TOML between "+++" lines (Hugo), at the very start.
    Dates come back as ISO 8601 strings, so the dict can go straight into JSON.
    """
    if match := _YAML_FRONT.match(text):
        data = _load_yaml(match.group(1) or "")
    elif match := _TOML_FRONT.match(text):
        data = _load_toml(match.group(1) or "")
    else:
        return {}, text
    if data is None:  # empty front matter
        data = {}
    if not isinstance(data, dict):
        # "---" lines around prose are Markdown rules, not front matter.
        return {}, text
    return _json_safe(data), text[match.end() :]


def _load_yaml(source: str) -> Any:
    try:
        return yaml.safe_load(source)
    except yaml.MarkedYAMLError as exc:
        located = ((exc.context, exc.context_mark), (exc.problem, exc.problem_mark))
        parts = [f"{text}{_yaml_line(mark)}" for text, mark in located if text]
        raise ExtractError("invalid YAML front matter: " + ", ".join(parts)) from None
    except yaml.YAMLError as exc:
        raise ExtractError("invalid YAML front matter: " + " ".join(str(exc).split())) from None


def _yaml_line(mark: Any) -> str:
    # The mark counts from 0 in the YAML, which starts on the file's second line.
    return f" at line {mark.line + 2}" if mark is not None else ""


def _load_toml(source: str) -> dict[str, Any]:
    try:
        return tomllib.loads(source)
    except tomllib.TOMLDecodeError as exc:
        raise ExtractError("invalid TOML front matter: " + " ".join(str(exc).split())) from None


def _json_safe(data: dict[str, Any]) -> dict[str, Any]:
    """The front matter with dates as ISO strings and string keys, safe for JSON."""
    nodes = 0

    def convert(value: Any, depth: int) -> Any:
        nonlocal nodes
        nodes += 1
        if nodes > _MAX_FRONT_MATTER_NODES or depth > _MAX_FRONT_MATTER_DEPTH:
            raise ExtractError("front matter too large or self-referencing (YAML aliases)")
        if isinstance(value, dict):
            return {_json_key(k): convert(v, depth + 1) for k, v in value.items()}
        if isinstance(value, (list, tuple, set, frozenset)):
            return [convert(v, depth + 1) for v in value]
        if isinstance(value, (dt.date, dt.time)):  # datetime is a date
            return value.isoformat()
        if value is None or isinstance(value, (str, int, float, bool)):
            return value
        return str(value)  # !!binary and other exotic tags

    return convert(data, 0)


def _json_key(key: Any) -> str:
    # YAML keys may be dates or numbers; JSON object keys are strings.
    return key.isoformat() if isinstance(key, (dt.date, dt.time)) else str(key)
