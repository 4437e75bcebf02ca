"""The scheduled flow on the temporary Prefect API: a partition per run, the report as
an artifact, transient I/O retried and nothing else, the HTML time limit in workers."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest
from prefect import flow, task

from flows.ingest_flow import clean_task, prepare_task, run_ingest
from flows.retry import RETRY_TRANSIENT_IO, retry_transient
from flows.scheduled_flow import ingest_inbox
from ingest.write.partitions import read_manifest
from tests.prefect_api import report_markdowns
from tests.samples import ARTICLE, html_page
from tests.schema_check import validate_lines


def latest_artifact_markdown() -> str:
    from prefect.settings import PREFECT_API_URL

    return report_markdowns(PREFECT_API_URL.value(), 1)[0]  # the temporary API of the session


def test_scheduled_flow_ingests_new_files_and_publishes_its_report(tmp_path: Path) -> None:
    inbox, out, state = tmp_path / "inbox", tmp_path / "out", tmp_path / "state"
    inbox.mkdir()
    (inbox / "ferry.txt").write_text("Ferry timetable approved\n\n" + ARTICLE + "\n\n[ad_2]\n", encoding="utf-8")
    (inbox / "broken.jsonl").write_text('{"text": "cut off\n', encoding="utf-8")

    outcome = ingest_inbox(inbox=str(inbox), out=str(out), state=str(state), workers=1)
    assert outcome["status"] == "ingested"
    (entry,) = read_manifest(out)
    assert (entry["partition"], entry["documents"], entry["rejected"]) == (outcome["partition"], 1, 1)
    assert validate_lines(out / entry["partition"] / "documents.jsonl", "document")[0]["source"] == str(inbox / "ferry.txt")
    markdown = latest_artifact_markdown()
    for line in (f"| partition | {entry['partition']} |", "| documents | 1 |", "| rejected | 1 |",
                 "| ad-slot | 1 |", "## Throughput", "## Largest duplicate clusters (0 in all)"):
        assert line in markdown, markdown

    again = ingest_inbox(inbox=str(inbox), out=str(out), state=str(state), workers=1)
    assert again["status"] == "nothing-new" and len(read_manifest(out)) == 1
    assert latest_artifact_markdown().startswith("# ingest: nothing-new")


def test_scheduled_flow_runs_its_batches_on_the_configured_dask_cluster(tmp_path: Path) -> None:
    inbox, out, state = tmp_path / "inbox", tmp_path / "out", tmp_path / "state"
    inbox.mkdir()
    (inbox / "ferry.txt").write_text(ARTICLE, encoding="utf-8")
    config = tmp_path / "dask.toml"
    config.write_text('[run]\nrunner = "dask"\n', encoding="utf-8")

    outcome = ingest_inbox(inbox=str(inbox), out=str(out), state=str(state), config_path=str(config), workers=1)
    assert outcome["status"] == "ingested"
    (entry,) = read_manifest(out)
    assert entry["documents"] == 1

    # The config really decides: a scheduler nobody runs fails the run.
    (inbox / "more.txt").write_text(ARTICLE.replace("ferry", "bridge"), encoding="utf-8")
    config.write_text('[run]\nrunner = "dask"\ndask_address = "tcp://127.0.0.1:9"\n', encoding="utf-8")
    with pytest.raises(Exception, match="127.0.0.1:9"):
        ingest_inbox(inbox=str(inbox), out=str(out), state=str(state), config_path=str(config), workers=1)
    assert len(read_manifest(out)) == 1


def test_batch_tasks_retry_transient_io_only() -> None:
    for batch_task in (prepare_task, clean_task):
        assert batch_task.retries == 3 and batch_task.retry_condition_fn is retry_transient


@task(**{**RETRY_TRANSIENT_IO, "retry_delay_seconds": 0})
def failing_once(attempts: str, error: str) -> int:
    """Fails on its first attempt with `error`; returns the attempt that succeeded."""
    with open(attempts, "a", encoding="utf-8") as fh:
        fh.write("attempt\n")
    attempt = len(Path(attempts).read_text(encoding="utf-8").splitlines())
    if attempt == 1:
        raise {"EIO": OSError(errno.EIO, "Input/output error"),
               "ENOSPC": OSError(errno.ENOSPC, "No space left on device"),
               "EACCES": PermissionError(errno.EACCES, "Permission denied"),
               "bug": ValueError("a bug, not the disk")}[error]
    return attempt


@flow
def run_failing_once(attempts: str, error: str) -> int:
    return failing_once(attempts, error)


@pytest.mark.parametrize(("error", "retried"), [("EIO", True), ("ENOSPC", True), ("EACCES", False), ("bug", False)])
def test_only_transient_io_errors_are_retried(tmp_path: Path, error: str, retried: bool) -> None:
    attempts = tmp_path / "attempts"
    if retried:
        assert run_failing_once(str(attempts), error) == 2
    else:
        with pytest.raises((OSError, ValueError)):
            run_failing_once(str(attempts), error)
        assert attempts.read_text(encoding="utf-8").count("attempt") == 1


def test_html_time_limit_holds_inside_process_pool_workers(tmp_path: Path) -> None:
    dump = tmp_path / "dump"
    dump.mkdir()
    # About two seconds of extraction: two thousand times the limit below, so that no
    # machine is fast enough to finish it in time.
    body = "\n\n".join(f"Paragraph {i} says the council met again to discuss the ferries and the harbour."
                       for i in range(40_000))
    (dump / "slow.html").write_text(html_page("A very long page", body), encoding="utf-8")
    (dump / "note.txt").write_text(ARTICLE, encoding="utf-8")
    config = tmp_path / "limit.toml"
    config.write_text("[html]\ntimeout_seconds = 0.001\n", encoding="utf-8")
    out = tmp_path / "out"
    report = run_ingest([str(dump)], str(out), config_path=str(config), workers=2)
    (reject,) = validate_lines(out / "rejects.jsonl", "reject")
    assert (reject["error"], reject["reason"]) == ("ExtractError", f"{dump / 'slow.html'}: extraction timed out after 0.001 s")
    assert report["counts"]["documents"] == 1
