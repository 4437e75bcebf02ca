"""The `ingest` command as a user runs it: a real process, real files, real exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.processes import clean_env, ingest
from tests.schema_check import validate_lines


def test_help_documents_every_option() -> None:
    result = ingest("run", "--help")
    assert result.returncode == 0
    for option in ("--out", "--config", "--state", "--workers", "--progress", "--debug"):
        assert option in result.stdout


def test_the_command_line_imports_neither_pydantic_nor_prefect_before_it_starts_the_api() -> None:
    """`ingest run` starts the temporary API first: whatever the module imports delays it."""
    probe = "import sys, ingest.cli; print(sorted({'pydantic', 'prefect', 'numpy'} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize(
    "args, message",
    [
        (["run", "--out", "x"], "Missing argument"),
        (["run", "no/such/path", "--out", "x"], "does not exist"),
        (["run", ".", "--out", "x", "--bogus"], "No such option"),
    ],
)
def test_bad_usage_exits_2(args: list[str], message: str, tmp_path: Path) -> None:
    result = ingest(*args, cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr


def test_invalid_config_is_one_line_and_exit_2(tmp_path: Path, seeds: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[dedup]\nthreshold = 7\n", encoding="utf-8")
    result = ingest("run", str(seeds), "--out", str(tmp_path / "out"), "--config", str(config))
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "bad.toml" in result.stderr and "dedup.threshold" in result.stderr
    assert not (tmp_path / "out").exists()


def test_run_completes_with_rejects_and_stays_quiet_without_a_terminal(tmp_path: Path, seeds: Path) -> None:
    dump = tmp_path / "dump"
    dump.mkdir()
    for f in seeds.iterdir():
        (dump / f.name).write_bytes(f.read_bytes())
    (dump / "broken.jsonl").write_text('{"text": "A line that is fine and long enough to keep."}\n{oops\n', encoding="utf-8")
    out = tmp_path / "out"
    result = ingest("run", str(dump), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"7 inputs: 6 documents, 0 duplicates, 1 rejected -> {out}"
    assert result.stderr == ""
    assert "\x1b[" not in result.stdout  # no progress bar drawn into a pipe
    reject = validate_lines(out / "rejects.jsonl", "reject")[0]
    assert reject["source"].endswith("broken.jsonl#2") and reject["error"] == "MalformedJSON"
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["counts"]["balanced"] is True


def test_run_that_cannot_complete_exits_1_with_one_line(tmp_path: Path, seeds: Path) -> None:
    state = tmp_path / "state"
    first = ingest("run", str(seeds / "000_1e98ad1bc5b40cb3.txt"), "--out", str(tmp_path / "o1"), "--state", str(state))
    assert first.returncode == 0, first.stderr
    config = tmp_path / "other.toml"
    config.write_text("[dedup]\nshingle_size = 3\n", encoding="utf-8")
    result = ingest("run", str(seeds), "--out", str(tmp_path / "o2"), "--state", str(state), "--config", str(config))
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert result.stderr.startswith("ingest: error:") and "shingle_size" in result.stderr


def test_explain_labels_every_cut_with_its_rule(seeds: Path) -> None:
    from click.testing import CliRunner

    from ingest.cli.main import main

    result = CliRunner().invoke(main, ["explain", str(seeds / "004_2d5e172159065896.txt"), "--no-color"])
    assert result.exit_code == 0, result.output
    assert "cuts: 6" in result.output
    for marked in ("[-[ad_1]-]{ad-slot}", "[-Source link-]{source-link}", "[-[ad_2]-]{ad-slot}"):
        assert marked in result.output
    assert "wire-dateline      -> dateline" in result.output
    assert "Biden continues to provide regular updates" in result.output


def test_explain_shows_rejected_records(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from ingest.cli.main import main

    feed = tmp_path / "feed.jsonl"
    feed.write_text('{"text": "Fine line of text here."}\n{broken\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["explain", str(feed), "--no-color"])
    assert result.exit_code == 0
    assert "feed.jsonl#2: rejected (MalformedJSON)" in result.output
    assert "Fine line of text here." in result.output


def test_state_on_the_command_line_wins_over_ingest_index_of_the_environment(tmp_path: Path, seeds: Path) -> None:
    # No server answers at this URL: the run succeeds only if it uses the --state folder.
    env = clean_env(INGEST_INDEX="redis://127.0.0.1:9/0")
    result = ingest("run", str(seeds), "--out", str(tmp_path / "out"), "--state", str(tmp_path / "state"),
                    "--no-progress", env=env)
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    assert report["state"]["documents"] == 5 and (tmp_path / "state").is_dir()
    both = ingest("run", str(seeds), "--out", str(tmp_path / "x"), "--index", "a", "--state", "b", env=env)
    assert both.returncode == 2 and "give either --index or --state, not both" in both.stderr


# numpy's huge-page advice as the `ingest` command leaves it, in a fresh process.
_HUGE_PAGES = ("import ingest.cli.main, numpy._core.multiarray as m; "
               "print(m._set_madvise_hugepage(True))")


def test_the_command_turns_numpy_s_huge_page_advice_off_unless_the_user_set_it() -> None:
    env = {k: v for k, v in clean_env().items() if k != "NUMPY_MADVISE_HUGEPAGE"}
    off = subprocess.run([sys.executable, "-c", _HUGE_PAGES], env=env, capture_output=True, text=True, check=True)
    kept = subprocess.run([sys.executable, "-c", _HUGE_PAGES], env={**env, "NUMPY_MADVISE_HUGEPAGE": "1"},
                          capture_output=True, text=True, check=True)
    assert (off.stdout.strip(), kept.stdout.strip()) == ("False", "True")
