"""Front matter of Markdown files: YAML between "---" lines, TOML between "+++" lines,
a JSON object (Hugo), or Pelican's "Title: ..." header lines.

Values come back safe for JSON (dates as ISO 8601 strings, keys as strings), and
alias bombs ("billion laughs") are refused rather than expanded.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import tomllib
from typing import Any

import yaml

from ingest.clean.html import ExtractError


# yaml.safe_load expands aliases into shared (even self-referencing) structures; turning
# them into JSON values would blow up on "billion laughs" front matter.
_MAX_FRONT_MATTER_NODES = 10_000
_MAX_FRONT_MATTER_DEPTH = 50


_YAML_FRONT = re.compile(r"\A\ufeff?---[ \t]*\r?\n(.*?\r?\n)??(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.DOTALL)
_TOML_FRONT = re.compile(r"\A\ufeff?\+\+\+[ \t]*\r?\n(.*?\r?\n)??\+\+\+[ \t]*(?:\r?\n|\Z)", re.DOTALL)
# Hugo's JSON front matter: an object whose "{" ends the first line, its first key next.
_JSON_FRONT = re.compile(r"\A\ufeff?\{[ \t]*\r?\n\s*\"")
_AFTER_JSON = re.compile(r"[ \t]*(?:\r?\n|\Z)")
# Pelican's Markdown metadata: "Key: value" lines from the first, "Title:" among them,
# up to the first blank line; an indented line continues the value above it.
_PELICAN_LINE = re.compile(r"([A-Za-z][A-Za-z0-9_-]{0,40})[ \t]*:[ \t]*(.*)")
_PELICAN_LIST_KEYS = ("tags", "authors", "keywords")  # Pelican reads these as lists


def split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """(front matter, body) of a Markdown file; ({}, text) when it has none.

    YAML between "---" lines, TOML between "+++" lines (Hugo), a JSON object (Hugo) or
    Pelican's header lines, at the very start. Dates come back as ISO 8601 strings, so
    the dict can go straight into JSON.
    """
    if match := _YAML_FRONT.match(text):
        data, end = _load_yaml(match.group(1) or ""), match.end()
    elif match := _TOML_FRONT.match(text):
        data, end = _load_toml(match.group(1) or ""), match.end()
    elif _JSON_FRONT.match(text):
        data, end = _load_json(text)
    elif pelican := _pelican_header(text):
        data, end = pelican
    else:
        return {}, text
    if data is None:  # empty front matter
        data = {}
    if not isinstance(data, dict):
        # "---" lines around prose are Markdown rules, not front matter.
        return {}, text
    return _json_safe(data), text[end:]


def _load_json(text: str) -> tuple[dict[str, Any], int]:
    start = 1 if text.startswith("\ufeff") else 0
    try:
        data, end = json.JSONDecoder().raw_decode(text, start)
    except json.JSONDecodeError as exc:
        raise ExtractError(f"invalid JSON front matter: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise ExtractError("invalid JSON front matter: nested too deeply") from None
    after = _AFTER_JSON.match(text, end)
    if after is None:
        line = text.count("\n", 0, end) + 1
        raise ExtractError(f"invalid JSON front matter: text after the closing brace on line {line}")
    return data, after.end()


def _pelican_header(text: str) -> tuple[dict[str, Any], int] | None:
    """Pelican's "Key: value" lines opening the text, or None when it does not open so."""
    data: dict[str, Any] = {}
    pos, last = 0, None
    for line in text.splitlines(keepends=True):
        content = line.rstrip("\r\n")
        if not content.strip():
            break
        if last is not None and content[:1] in (" ", "\t"):
            data[last] = f"{data[last]} {content.strip()}".strip()
        elif match := _PELICAN_LINE.fullmatch(content.lstrip("\ufeff") if pos == 0 else content):
            last = match.group(1).lower()
            data[last] = match.group(2).strip()
        else:
            return None  # prose that happens to start with "Word:"
        pos += len(line)
    if "title" not in data:
        return None
    for key in _PELICAN_LIST_KEYS:
        if key in data:
            # As Pelican reads them: split at semicolons when there is one, else at commas.
            items = data[key].split(";" if ";" in data[key] else ",")
            data[key] = list(dict.fromkeys(item.strip() for item in items if item.strip()))
    return data, pos


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
