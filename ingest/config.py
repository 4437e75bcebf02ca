"""The validated configuration.

`config/default.toml` holds every option with a comment; a user's file (`--config`)
is merged over it: tables merge key by key, and rules merge by name (a user rule with
a default rule's name replaces it, `enabled = false` switches one off, new names are
added).  The merged result is validated by the pydantic models below, so a typo or a
bad value fails at load time with the option's name.
"""

from __future__ import annotations

import re
import sys
import tomllib
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ingest.runners import RUNNERS

RULE_KINDS = ("line", "prefix", "inline", "header", "trailer")
MOVE_TARGETS = ("created", "title", "author", "url", "dateline", "credit")


class ConfigError(Exception):
    """The configuration cannot be used; the message names the file and option."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FieldNames(_Strict):
    """Which of a format's own fields carry the body and the standard metadata, in order of
    preference (see [read.jsonl], [read.table], [read.feed], [read.wxr] in config/default.toml)."""

    text: list[str] = []  # plain-text bodies
    html: list[str] = []  # HTML bodies: through extraction
    title: list[str] = []
    created: list[str] = []
    url: list[str] = []
    author: list[str] = []


class WxrConfig(FieldNames):
    """See [read.wxr]: WordPress export items."""

    type_field: str = "wp:post_type"
    document_types: list[str] = ["post", "page"]
    utc_fields: list[str] = []  # dates given in UTC without a zone
    category_domains: dict[str, str] = {}  # a <category domain=...> to the metadata key


class ReadConfig(_Strict):
    max_file_bytes: int = Field(256 * 2**20, gt=0)
    max_record_bytes: int = Field(16 * 2**20, gt=0)
    follow_symlinks: bool = False
    skip_hidden: bool = True
    jsonl: FieldNames = FieldNames(text=["text"], html=["html"])
    table: FieldNames = FieldNames(text=["text"], html=["html"])
    feed: FieldNames = FieldNames(html=["content", "summary"])
    wxr: WxrConfig = WxrConfig(html=["content:encoded"])
    table_batch_rows: int = Field(1024, ge=1)


class DecodeConfig(_Strict):
    keep_typographic: bool = True
    normalization: Literal["NFC", "NFKC", "none"] = "NFC"


class HtmlConfig(_Strict):
    favor_precision: bool = True
    include_comments: bool = False
    include_tables: bool = True
    timeout_seconds: float = Field(30.0, gt=0)


class Rule(_Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    kind: Literal["line", "prefix", "inline", "header", "trailer"]
    pattern: str
    action: Literal["drop", "move"] = "drop"
    to: Literal["created", "title", "author", "url", "dateline", "credit"] | None = None
    ignore_case: bool = False
    enabled: bool = True
    description: str = ""

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, pattern: str) -> str:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"pattern does not compile: {exc}") from exc
        return pattern

    @model_validator(mode="after")
    def _move_has_target(self) -> Rule:
        if self.action == "move" and self.to is None:
            raise ValueError("action 'move' needs 'to' (one of %s)" % ", ".join(MOVE_TARGETS))
        if self.action == "drop" and self.to is not None:
            raise ValueError("'to' is only for action 'move'")
        return self

    def compiled(self) -> re.Pattern[str]:
        return re.compile(self.pattern, re.IGNORECASE if self.ignore_case else 0)


class ConventionSet(_Strict):
    """One convention's source field names for each standard field ([metadata.sets.NAME])."""

    title: list[str] = []
    date: list[str] = []
    modified: list[str] = []
    url: list[str] = []
    canonical: list[str] = []
    author: list[str] = []
    language: list[str] = []
    summary: list[str] = []
    categories: list[str] = []
    tags: list[str] = []
    draft: list[str] = []
    published: list[str] = []
    status: list[str] = []


CONVENTION_FIELDS = tuple(ConventionSet.model_fields)


class MetadataConfig(_Strict):
    """See [metadata] in config/default.toml: named convention sets, consulted in order."""

    conventions: list[str] = []
    skip_drafts: bool = False
    draft_statuses: list[str] = ["draft", "pending", "auto-draft"]
    sets: dict[str, ConventionSet] = {}

    @model_validator(mode="after")
    def _conventions_defined(self) -> MetadataConfig:
        unknown = [name for name in self.conventions if name not in self.sets]
        if unknown:
            raise ValueError(f"conventions lists undefined sets: {', '.join(unknown)} "
                             f"(defined: {', '.join(self.sets) or 'none'})")
        return self

    @cached_property
    def keys(self) -> dict[str, tuple[str, ...]]:
        """For each standard field, the source fields of every listed set, in order, once each."""
        return self._keys(self.conventions)

    @cached_property
    def _format_keys(self) -> dict[str, dict[str, tuple[str, ...]]]:
        return {name: self._keys([name, *self.conventions]) for name in self.sets}

    def keys_for(self, input_format: str | None) -> dict[str, tuple[str, ...]]:
        """`keys`, after the fields of the set named after `input_format` when there is one."""
        return self._format_keys.get(input_format or "", self.keys)

    def _keys(self, conventions: list[str]) -> dict[str, tuple[str, ...]]:
        return {name: tuple(dict.fromkeys(key for convention in conventions
                                          for key in getattr(self.sets[convention], name)))
                for name in CONVENTION_FIELDS}


class BoilerplateConfig(_Strict):
    enabled: bool = True
    min_documents: int = Field(5, ge=2)
    min_fraction: float = Field(0.3, gt=0, le=1)
    max_line_chars: int = Field(300, gt=0)


class CleanConfig(_Strict):
    rules: list[Rule] = Field(default_factory=list)
    boilerplate: BoilerplateConfig = BoilerplateConfig()

    @field_validator("rules")
    @classmethod
    def _unique_names(cls, rules: list[Rule]) -> list[Rule]:
        seen: set[str] = set()
        for rule in rules:
            if rule.name in seen:
                raise ValueError(f"rule name {rule.name!r} is used twice")
            seen.add(rule.name)
        return rules


class PassageConfig(_Strict):
    """See [dedup.passages] in config/default.toml."""

    enabled: bool = True
    ngram: int = Field(5, ge=2)
    anchor_words: int = Field(7, ge=2)
    min_words: int = Field(10, ge=3)
    max_gap_words: int = Field(6, ge=0)
    max_insert_words: int = Field(25, ge=0)
    stock_min_documents: int = Field(20, ge=1)
    stock_document_share: float = Field(0.001, ge=0, le=1)
    rare_anchor_documents: int = Field(2, ge=0)


class DedupConfig(_Strict):
    mode: Literal["keep", "label"] = "keep"
    shingle_size: int = Field(5, ge=1)
    num_perm: int = Field(128, ge=16)
    bands: int = Field(64, ge=1)
    rows: int = Field(2, ge=1)
    duplicate_similarity: float = Field(0.8, gt=0, le=1)
    contained_share: float = Field(0.9, gt=0, le=1)
    contained_min_words: int = Field(20, ge=1)
    max_substitution_words: int = Field(6, ge=1)
    substitution_gap_words: int = Field(2, ge=0)
    contained_lead_words: int = Field(10, ge=0)
    contained_max_ratio: float = Field(6.0, ge=1)
    moved_run_words: int = Field(4, ge=2)
    figure_words: list[str] = Field(default_factory=list)
    range_words: list[str] = Field(default_factory=list)
    not_names: list[str] = Field(default_factory=list)
    seed: int = 1
    keep_policy: list[Literal["created", "added", "longest", "shortest", "source"]] = [
        "created",
        "added",
        "longest",
    ]
    passages: PassageConfig = PassageConfig()

    @model_validator(mode="after")
    def _bands_fit(self) -> DedupConfig:
        if self.bands * self.rows > self.num_perm:
            raise ValueError(
                f"bands * rows = {self.bands * self.rows} exceeds num_perm = {self.num_perm}"
            )
        return self


class RunConfig(_Strict):
    batch_files: int = Field(500, ge=1)
    batch_bytes: int = Field(16 * 2**20, ge=2**20)
    workers: int = Field(0, ge=0)
    runner: Literal[RUNNERS] = "process"
    dask_address: str = ""
    central_memory_mib: int = Field(512, ge=0)


OUTPUT_FORMATS = ("jsonl", "parquet")


class WriteConfig(_Strict):
    format: Literal[OUTPUT_FORMATS] = "jsonl"


class LoadConfig(_Strict):
    batch_rows: int = Field(2_000, ge=1)
    duckdb_memory_mib: int = Field(128, ge=16)


class Config(_Strict):
    read: ReadConfig = ReadConfig()
    decode: DecodeConfig = DecodeConfig()
    html: HtmlConfig = HtmlConfig()
    metadata: MetadataConfig = MetadataConfig()
    clean: CleanConfig = CleanConfig()
    dedup: DedupConfig = DedupConfig()
    run: RunConfig = RunConfig()
    write: WriteConfig = WriteConfig()
    load: LoadConfig = LoadConfig()

    def with_format(self, output_format: str | None) -> Config:
        """This config with [write] format set to `output_format` (a --format option), when given."""
        if output_format is None:
            return self
        return self.model_copy(update={"write": WriteConfig(format=output_format)})


def default_config_path() -> Path:
    """`config/default.toml` of the source tree, or the copy installed as data."""
    candidates = [
        Path(__file__).resolve().parent.parent / "config" / "default.toml",
        Path(sys.prefix) / "share" / "ingest" / "config" / "default.toml",
    ]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise ConfigError("default configuration not found; looked in " + ", ".join(map(str, candidates)))


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config: {exc.strerror or exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from exc


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if key == "rules" and isinstance(value, list) and isinstance(base.get(key), list):
            merged[key] = _merge_rules(base[key], value)
        elif isinstance(value, dict) and isinstance(base.get(key), dict):
            merged[key] = _merge(base[key], value)
        else:
            merged[key] = value
    return merged


def _merge_rules(base: list[dict], override: list[dict]) -> list[dict]:
    by_name = {rule.get("name"): dict(rule) for rule in base}
    order = [rule.get("name") for rule in base]
    for rule in override:
        name = rule.get("name")
        if name in by_name:
            by_name[name] = {**by_name[name], **rule}
        else:
            by_name[name] = dict(rule)
            order.append(name)
    return [by_name[name] for name in order]


def _describe(exc: ValidationError, raw: dict[str, Any]) -> str:
    lines = []
    for err in exc.errors():
        loc = list(err["loc"])
        # Name a rule by its name rather than its index in the merged list.
        if len(loc) >= 3 and loc[:2] == ["clean", "rules"] and isinstance(loc[2], int):
            rules = raw.get("clean", {}).get("rules", [])
            name = rules[loc[2]].get("name", "?") if loc[2] < len(rules) else "?"
            loc = ["clean", f"rules[{name}]"] + loc[3:]
        lines.append(".".join(str(p) for p in loc) + ": " + err["msg"])
    return "; ".join(lines)


def load_config(path: str | Path | None = None) -> Config:
    """Load the defaults, merge `path` over them, validate."""
    default_path = default_config_path()
    raw = _read_toml(default_path)
    source = default_path
    if path is not None:
        source = Path(path)
        raw = _merge(raw, _read_toml(source))
    try:
        return Config.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{source}: invalid config: {_describe(exc, raw)}") from None
