"""The shared index in a real redis-server: the same answers as the embedded index, the
same run output, settings and TLS checked, and two runs at once keep one copy of a story."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from ingest.config import load_config
from ingest.dedup.clusters import Deduplicator
from ingest.dedup.minhash import MinHasher, sketch
from ingest.dedup.prior import IndexedDocument
from ingest.index.claim import claim_run
from ingest.index.format import StateError
from ingest.index.location import IndexLocation, open_index, redact
from ingest.index.redis_index import RedisIndex
from ingest.index.sqlite_index import StateIndex
from ingest.run.pipeline import run
from tests.ingest.index.contract import (
    check_later_runs_link_through_earlier_links,
    check_rerun_reproduces_decisions,
)
from tests.redis_server import (
    PASSWORD,
    near_duplicate_dump,
    output_rows,
    redis_server,
    require_redis_server,
)
from tests.samples import ARTICLE

ADDED = "2026-01-02T03:04:05Z"
SPAWN_SECONDS = 300  # a spawned process importing the pipeline and running, on a busy machine


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    require_redis_server()
    with redis_server(tmp_path_factory.mktemp("redis")) as s:
        yield s


@pytest.fixture()
def url(server) -> str:
    server.client().flushall()
    return server.url


def entries() -> list[tuple[IndexedDocument, str, list[int]]]:
    return [
        (IndexedDocument("a" * 20, "a" * 20, None, "2024-05-01", ADDED, 11, "one.txt"), "first text ü", [1, -2, 3]),
        (IndexedDocument("b" * 20, "a" * 20, 0.8125, None, ADDED, 12, "two.txt#3"), "second text", [3, 4]),
        (IndexedDocument("c" * 20, "c" * 20, None, None, ADDED, 5, "three.md"), "third", [5]),
    ]


def test_answers_like_the_embedded_index(url: str, tmp_path: Path) -> None:
    config = load_config().dedup
    shared, embedded = open_index(url, config), StateIndex(tmp_path / "state", config)
    try:
        for index in (shared, embedded):
            assert index.add(entries()) == 3
            assert index.add(entries()[:1]) == 0  # indexed already
        ids = ["a" * 20, "b" * 20, "c" * 20, "d" * 20]
        assert shared.known(ids) == embedded.known(ids)
        assert shared.candidates([3, 99]) == embedded.candidates([3, 99])
        assert [d.id for d in shared.candidates([-2, 5])] == ["a" * 20, "c" * 20]
        assert [shared.has_duplicates(i) for i in ids] == [embedded.has_duplicates(i) for i in ids] == [True, False, False, False]
        assert shared.text("a" * 20) == embedded.text("a" * 20) == "first text ü"
        with pytest.raises(StateError, match="not in the index"):
            shared.text("d" * 20)
        assert shared.stats()["documents"] == embedded.stats()["documents"] == 3
    finally:
        shared.close()
        embedded.close()


def test_settings_and_format_are_checked(url: str, server) -> None:
    config = load_config().dedup
    open_index(url, config).close()
    with pytest.raises(StateError, match=r"other dedup settings: shingle_size 5 \(config says 3\)") as err:
        open_index(url, config.model_copy(update={"shingle_size": 3}))
    assert PASSWORD not in str(err.value) and redact(url) in str(err.value)
    server.client().hset("ingest:meta", "format_version", "0")
    with pytest.raises(StateError, match="index format 0 is not 2"):
        open_index(url, config)


def test_format_1_index_is_opened_as_format_2(url: str, server) -> None:
    """Format 2 added the `of` field (duplicate_of), absent when it is the kept document:
    a format 1 index's documents read as they were decided, and its meta is upgraded."""
    config = load_config().dedup
    index = open_index(url, config)
    index.add(entries())
    index.close()
    client = server.client()
    client.hset("ingest:meta", "format_version", "1")
    assert all(not client.hexists(f"ingest:doc:{c * 20}", "of") for c in "abc")
    with pytest.raises(StateError, match=r"other dedup settings: shingle_size 5 \(config says 3\)"):
        open_index(url, config.model_copy(update={"shingle_size": 3}))
    assert client.hget("ingest:meta", "format_version") == b"1"  # refused: left alone
    index = open_index(url, config)
    assert client.hget("ingest:meta", "format_version") == b"2"
    assert index.known(["b" * 20])["b" * 20].duplicate_of == "a" * 20
    index.close()


def test_rerun_reproduces_the_decisions(url: str) -> None:
    index = open_index(url, load_config().dedup)
    try:
        check_rerun_reproduces_decisions(index)
    finally:
        index.close()


def test_later_runs_link_through_earlier_links(url: str, server) -> None:
    index = open_index(url, load_config().dedup)
    try:
        check_later_runs_link_through_earlier_links(index)
    finally:
        index.close()
    client = server.client()
    assert client.hget("ingest:doc:d", "of") == b"c" and client.hget("ingest:doc:d", "kept") == b"a"
    assert not client.hexists("ingest:doc:b", "of")  # linked to the kept document: no field
    assert int(client.hget("ingest:doc:a", "dups")) == 3


def test_unreachable_or_wrong_password_is_one_line_without_the_password(server) -> None:
    config = load_config().dedup
    with pytest.raises(StateError, match="Connection refused") as err:
        open_index(f"redis://:{PASSWORD}@127.0.0.1:1/0", config)
    assert str(err.value).startswith("redis://:***@127.0.0.1:1/0: cannot open the index")
    with pytest.raises(StateError, match="invalid username-password") as err:
        open_index(server.url.replace(PASSWORD, "not-" + PASSWORD), config)
    assert PASSWORD not in str(err.value) and "\n" not in str(err.value)


def test_redaction_covers_every_form_of_password() -> None:
    assert redact("redis://:pw@h:1/0") == "redis://:***@h:1/0"
    assert redact("rediss://user:pw@h:1/2?ssl_ca_certs=/ca.pem&ssl_password=kp") == \
        "rediss://user:***@h:1/2?ssl_ca_certs=/ca.pem&ssl_password=***"
    assert redact("redis://h:1/0?password=pw") == "redis://h:1/0?password=***"
    assert redact("/var/lib/ingest/state") == "/var/lib/ingest/state"
    location = IndexLocation("redis://:pw@h:1/0")
    assert str(location) == "redis://:***@h:1/0" and "pw@" not in repr(location)
    assert location.get_secret_value() == "redis://:pw@h:1/0"


def test_tls_with_a_self_signed_certificate(tmp_path: Path) -> None:
    config = load_config().dedup
    with redis_server(tmp_path / "tls", tls=True) as tls:
        index = open_index(tls.url, config)
        assert index.add(entries()) == 3 and index.text("c" * 20) == "third"
        index.close()
        unverified = tls.url.split("?")[0]  # no CA: the self-signed certificate is refused
        with pytest.raises(StateError, match="certificate verify failed") as err:
            open_index(unverified, config)
        assert PASSWORD not in str(err.value)


def test_tls_with_client_certificates(tmp_path: Path, seeds: Path) -> None:
    """The README's `ssl_certfile`/`ssl_keyfile`: a server that requires a client certificate."""
    config = load_config()
    with redis_server(tmp_path / "mtls", tls=True, client_certificates=True) as tls:
        report = run([str(seeds)], tmp_path / "out", config, state_dir=tls.url)
        assert report["state"]["documents"] == report["counts"]["inputs"] == 5
        assert tls.client().dbsize() > 0
        without_certificate = tls.url.split("&ssl_certfile=")[0]
        with pytest.raises(StateError) as err:
            open_index(without_certificate, config.dedup)
        message = str(err.value)
        assert message.startswith(f"{redact(without_certificate)}: cannot open the index"), message
        assert PASSWORD not in message and "\n" not in message


def test_run_with_redis_equals_a_local_run_and_links_later_copies(url: str, tmp_path: Path) -> None:
    dump = near_duplicate_dump(tmp_path / "dump", stories=120, files=6)
    config = load_config()
    local = run([str(dump)], tmp_path / "local", config)
    shared = run([str(dump)], tmp_path / "shared", config, state_dir=url)
    for name in ("documents.jsonl", "duplicates.jsonl", "rejects.jsonl"):
        assert output_rows(tmp_path / "local", name) == output_rows(tmp_path / "shared", name), name
    assert local["dedup"] == shared["dedup"] and local["counts"] == shared["counts"]
    assert shared["state"]["documents"] == shared["counts"]["inputs"]
    assert shared["state"]["location"] == redact(url)

    later = tmp_path / "later"
    later.mkdir()
    kept = output_rows(tmp_path / "shared", "documents.jsonl")[0]
    (later / "copy.txt").write_text("A new headline\n\n" + kept["text"], encoding="utf-8")
    run([str(later)], tmp_path / "out-later", config, state_dir=url)
    [copy] = output_rows(tmp_path / "out-later", "duplicates.jsonl")
    assert copy["dedup"]["duplicate_of"] == kept["id"]


def _decide_then_claim(url: str, doc_id: str, text: str, barrier, results) -> None:
    """One run's dedup and claim, with the claim held back until both runs have decided."""
    config = load_config().dedup
    index = RedisIndex(url, config, shown_as=redact(url))
    dedup = Deduplicator(config)
    dedup.add(sketch(doc_id, text, None, ADDED, doc_id, config, MinHasher(config.num_perm, config.seed)))
    result = dedup.run(index)  # neither run has indexed anything yet: both keep their copy
    barrier.wait(timeout=SPAWN_SECONDS)
    result = claim_run(index, dedup, result, lambda: [{"id": doc_id, "text": text}])
    results.put((doc_id, result.decisions[doc_id].duplicate_of, index.conflicts))
    index.close()


def test_two_runs_deciding_at_once_keep_exactly_one_copy(url: str) -> None:
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    copies = {"1" * 20: ARTICLE, "2" * 20: "Ferry timetable: a copy\n\n" + ARTICLE}
    runs = [ctx.Process(target=_decide_then_claim, args=(url, doc_id, text, barrier, results))
            for doc_id, text in copies.items()]
    for p in runs:
        p.start()
    outcomes = sorted(results.get(timeout=SPAWN_SECONDS) for _ in runs)
    for p in runs:
        p.join(timeout=SPAWN_SECONDS)
    kept = [doc_id for doc_id, duplicate_of, _ in outcomes if duplicate_of is None]
    assert len(kept) == 1
    assert [duplicate_of for _, duplicate_of, _ in outcomes if duplicate_of is not None] == kept
    assert sorted(conflicts > 0 for _, _, conflicts in outcomes) == [False, True]  # the loser decided again
    index = open_index(url, load_config().dedup)
    stored = index.known(copies)
    assert {d.kept_id for d in stored.values()} == set(kept) and index.has_duplicates(kept[0])
    index.close()


def _ingest(url: str, dump: str, out: str, barrier) -> None:
    barrier.wait(timeout=SPAWN_SECONDS)
    run([dump], out, load_config(), state_dir=url)


def test_two_whole_runs_started_together_keep_exactly_one_copy(url: str, tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(2)
    runs = []
    for name, text in (("a", ARTICLE), ("b", "Ferry timetable: a copy\n\n" + ARTICLE)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "story.txt").write_text(text, encoding="utf-8")
        runs.append(ctx.Process(target=_ingest, args=(url, str(tmp_path / name), str(tmp_path / f"out-{name}"), barrier)))
    for p in runs:
        p.start()
    for p in runs:
        p.join(timeout=SPAWN_SECONDS)
        assert p.exitcode == 0
    kept = [row for name in "ab" for row in output_rows(tmp_path / f"out-{name}", "documents.jsonl")]
    copies = [row for name in "ab" for row in output_rows(tmp_path / f"out-{name}", "duplicates.jsonl")]
    assert len(kept) == 1 and len(copies) == 1
    assert copies[0]["dedup"]["duplicate_of"] == kept[0]["id"]
