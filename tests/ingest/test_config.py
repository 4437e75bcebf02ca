from __future__ import annotations

from pathlib import Path

import pytest

from ingest.config import ConfigError, load_config


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "user.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_default_config_loads_with_named_rules() -> None:
    config = load_config()
    names = [r.name for r in config.clean.rules]
    assert {"ad-slot", "short-link", "source-link", "read-more", "date-header"} <= set(names)
    assert config.dedup.bands * config.dedup.rows <= config.dedup.num_perm


def test_every_default_option_is_commented() -> None:
    path = Path(__file__).resolve().parents[2] / "config" / "default.toml"
    lines = path.read_text(encoding="utf-8").splitlines()
    table = ""
    for i, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith("[") and not stripped.startswith("[["):
            table = stripped.strip("[]")
            if table.startswith("metadata.sets."):
                # Each convention set says whose it is; its fields are documented once, in [metadata].
                assert lines[i - 1].strip().startswith("#"), f"set [{table}] on line {i + 1} has no comment above it"
        elif "=" in stripped and not stripped.startswith("#") and not stripped.startswith("["):
            key = stripped.split("=", 1)[0].strip()
            if key in {"name", "kind", "pattern", "action", "to", "ignore_case", "description"}:
                continue  # rule fields are documented once, above the rules
            if table.startswith("metadata.sets."):
                continue
            assert lines[i - 1].strip().startswith("#"), f"option {key!r} on line {i + 1} has no comment above it"


def test_user_rules_merge_by_name(tmp_path: Path) -> None:
    path = write(tmp_path, """
[[clean.rules]]
name = "ad-slot"
enabled = false

[[clean.rules]]
name = "newsletter"
kind = "line"
pattern = 'Sign up for our newsletter'
""")
    config = load_config(path)
    by_name = {r.name: r for r in config.clean.rules}
    assert by_name["ad-slot"].enabled is False
    assert by_name["newsletter"].kind == "line"
    assert "short-link" in by_name


def test_invalid_rule_is_a_clear_error_naming_it(tmp_path: Path) -> None:
    path = write(tmp_path, """
[[clean.rules]]
name = "broken"
kind = "line"
pattern = '(unclosed'
""")
    with pytest.raises(ConfigError, match=r"rules\[broken\].*pattern does not compile"):
        load_config(path)


def test_unknown_option_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="dedup.treshold"):
        load_config(write(tmp_path, "[dedup]\ntreshold = 0.5\n"))


def test_bands_must_fit_permutations(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="exceeds num_perm"):
        load_config(write(tmp_path, "[dedup]\nbands = 64\nrows = 4\n"))


def test_a_contained_text_cannot_be_longer_than_its_container(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="dedup.contained_max_ratio"):
        load_config(write(tmp_path, "[dedup]\ncontained_max_ratio = 0.5\n"))


def test_move_rule_needs_a_target(tmp_path: Path) -> None:
    path = write(tmp_path, """
[[clean.rules]]
name = "staff-byline"
kind = "header"
pattern = 'By (?P<value>[A-Z][a-z]+ [A-Z][a-z]+)\\n'
action = "move"
""")
    with pytest.raises(ConfigError, match="needs 'to'"):
        load_config(path)


def test_bad_toml_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[dedup\n")
    with pytest.raises(ConfigError, match="user.toml: invalid TOML"):
        load_config(path)
