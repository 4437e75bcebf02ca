"""A real redis-server for the tests that need one, and a dump with near-duplicates.

Each server runs on a free loopback port with a temporary folder and no persistence,
and is stopped when its block ends. Tests skip with a message when redis-server is not
installed (Debian package `redis-server`; .ci/run installs it).
"""

from __future__ import annotations

import dataclasses
import json
import random
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from tests.processes import free_port
from tests.schema_check import validate_lines

REDIS_SERVER = shutil.which("redis-server")
PASSWORD = "s3cret-Pa55word"
_START_SECONDS = 10


def require_redis_server() -> str:
    if REDIS_SERVER is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server; .ci/run installs it)")
    return REDIS_SERVER


@dataclass(frozen=True)
class RedisServer:
    url: str  # with the password
    port: int
    ca_file: Path | None = None  # the self-signed certificate, for rediss://
    client_files: tuple[Path, Path] | None = None  # a client certificate and key the server accepts
    pid: int = 0  # of the redis-server process, for a test that kills it

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url)


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True, timeout=60)
    return cert, key


def client_certificate(folder: Path, ca_cert: Path, ca_key: Path) -> tuple[Path, Path]:
    """A client certificate signed by the (self-signed, CA:TRUE) server certificate."""
    cert, key, request = folder / "client.pem", folder / "client-key.pem", folder / "client.csr"
    subprocess.run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", str(key), "-out", str(request), "-subj", "/CN=ingest-client"],
                   check=True, capture_output=True, timeout=60)
    subprocess.run(["openssl", "x509", "-req", "-in", str(request), "-CA", str(ca_cert), "-CAkey", str(ca_key),
                    "-CAcreateserial", "-out", str(cert), "-days", "1"], check=True, capture_output=True, timeout=60)
    return cert, key


@contextmanager
def redis_server(folder: Path, tls: bool = False, client_certificates: bool = False) -> Iterator[RedisServer]:
    """A password-protected redis-server; with `tls`, it listens only on a TLS port, and
    with `client_certificates` it also requires one signed by its own certificate (the
    URL then names the client's certificate and key)."""
    binary = require_redis_server()
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    args = [binary, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(folder),
            "--requirepass", PASSWORD, "--logfile", str(folder / "redis.log")]
    if tls:
        cert, key = self_signed_certificate(folder)
        args += ["--port", "0", "--tls-port", str(port), "--tls-cert-file", str(cert), "--tls-key-file", str(key),
                 "--tls-ca-cert-file", str(cert), "--tls-auth-clients", "yes" if client_certificates else "no"]
        url = f"rediss://:{PASSWORD}@127.0.0.1:{port}/0?ssl_ca_certs={cert}"
        client = client_certificate(folder, cert, key) if client_certificates else None
        if client is not None:
            url += f"&ssl_certfile={client[0]}&ssl_keyfile={client[1]}"
        server = RedisServer(url, port, cert, client)
    else:
        args += ["--port", str(port)]
        server = RedisServer(f"redis://:{PASSWORD}@127.0.0.1:{port}/0", port)
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = dataclasses.replace(server, pid=process.pid)
    try:
        _wait_until_ready(server, process)
        yield server
    finally:
        process.terminate()
        process.wait(timeout=10)


def _wait_until_ready(server: RedisServer, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + _START_SECONDS
    while True:
        try:
            server.client().ping()
            return
        except redis.ConnectionError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start on port {server.port}") from None
            time.sleep(0.05)


# ---------------------------------------------------------------- a dump to ingest

_WORDS = [f"{a}{b}" for a in ("ka", "lo", "mi", "nu", "pe", "ro", "si", "ta", "ve", "zo", "ba", "du")
          for b in ("ran", "tel", "mos", "vin", "dor", "lasp", "quin", "fe", "gul", "hart", "ix", "ond")]


def _story(rng: random.Random) -> str:
    paragraphs = []
    for _ in range(rng.randint(3, 5)):
        sentences = [" ".join(rng.choice(_WORDS) for _ in range(rng.randint(8, 16))).capitalize() + "."
                     for _ in range(rng.randint(2, 4))]
        paragraphs.append(" ".join(sentences))
    return "\n\n".join(paragraphs)


def _edited(text: str, rng: random.Random, share: float) -> str:
    words = text.split(" ")
    for i in rng.sample(range(len(words)), int(len(words) * share)):
        words[i] = rng.choice(_WORDS)
    return " ".join(words)


def near_duplicate_dump(folder: Path, stories: int = 400, files: int = 24, seed: int = 7) -> Path:
    """JSONL files of generated stories, about one in five followed somewhere by an exact
    or lightly edited copy; the same arguments give the same bytes."""
    rng = random.Random(seed)
    texts = [_story(rng) for _ in range(stories)]
    copies = [_edited(t, rng, rng.choice((0.0, 0.03, 0.08))) for t in rng.sample(texts, stories // 5)]
    records = [{"text": t, "title": f"Story {i}"} for i, t in enumerate(texts + copies)]
    rng.shuffle(records)
    folder.mkdir(parents=True, exist_ok=True)
    for f in range(files):
        lines = (json.dumps(r) for r in records[f::files])
        (folder / f"part-{f:03d}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def output_rows(out: Path, name: str) -> list[dict]:
    """An output file's rows, each validated against its schema, without `added` (the
    ingestion time differs between runs)."""
    rows = validate_lines(out / name, "reject" if name == "rejects.jsonl" else "document")
    for row in rows:
        row.pop("added", None)
    return rows
