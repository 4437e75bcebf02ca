"""Validation of output lines against the JSON Schemas shipped in ingest/schema/."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from jsonschema import Draft202012Validator, FormatChecker

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "ingest" / "schema"


@cache
def validator(name: str) -> Draft202012Validator:
    schema = json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=FormatChecker())


def validate_lines(path: Path, name: str) -> list[dict]:
    """Every line of `path` against schema `name`; returns the parsed rows."""
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        row = json.loads(line)
        errors = sorted(validator(name).iter_errors(row), key=lambda e: list(e.path))
        assert not errors, f"{path.name} line {n}: {errors[0].message} at {list(errors[0].path)}"
        rows.append(row)
    return rows


OUTPUTS = ("documents.jsonl", "duplicates.jsonl", "rejects.jsonl")


def validated_outputs(out: Path) -> dict[str, list[dict]]:
    """A run's three output files, each line validated, without the ingestion time
    (which differs between runs)."""
    return {name: [{**row, "added": None} for row in validate_lines(out / name, "reject" if name == "rejects.jsonl"
                                                                    else "document")] for name in OUTPUTS}
