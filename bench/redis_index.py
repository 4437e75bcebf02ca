"""What the shared index costs per document: Redis operations, memory, and the rates of
the central step against it, beside the embedded index (README, "Scaling out").

    python bench/redis_index.py OUT --redis redis://127.0.0.1:6379/15

OUT is the output folder of a finished `ingest run` (documents.jsonl, duplicates.jsonl).
Its documents are split in two halves in file order: the first is decided and claimed
into an empty index (a first day), then the second is decided against it and claimed
(the next day: every document is looked up among the first half's buckets). The Redis
database is emptied first. Redis work is counted from INFO commandstats (the commands
that scripts run included), memory from used_memory.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import redis

from ingest.config import load_config
from ingest.dedup.clusters import Deduplicator
from ingest.dedup.minhash import MinHasher, sketch
from ingest.index.claim import claim_run
from ingest.index.location import redact
from ingest.index.redis_index import RedisIndex
from ingest.index.sqlite_index import StateIndex
from ingest.write.jsonl import read_jsonl


def load_documents(out: Path) -> list[dict]:
    return [*read_jsonl(out / "documents.jsonl"), *read_jsonl(out / "duplicates.jsonl")]


def redis_work(db: redis.Redis) -> tuple[int, int]:
    """Commands run so far (those scripts run included) and the server's microseconds on
    the commands clients sent (a script's time includes the commands it ran)."""
    stats = db.info("commandstats")
    scripted = ("cmdstat_evalsha", "cmdstat_eval")
    calls = sum(v["calls"] for k, v in stats.items() if k not in scripted)
    usec = sum(v["usec"] for k, v in stats.items() if k in scripted or not _run_by_scripts(k))
    return calls, usec


def _run_by_scripts(command: str) -> bool:
    # The commands that only the index's scripts run (their time is in the script's).
    return command in ("cmdstat_zrange", "cmdstat_zrangebyscore", "cmdstat_zadd", "cmdstat_incr",
                       "cmdstat_exists", "cmdstat_hincrby", "cmdstat_pexpire")


def deduplicator(docs: list[dict], config) -> tuple[Deduplicator, float]:
    hasher = MinHasher(config.num_perm, config.seed)
    dedup = Deduplicator(config)
    started = time.perf_counter()
    for d in docs:
        dedup.add(sketch(d["id"], d["text"], d["created"], d["added"], d["source"], config, hasher))
    return dedup, time.perf_counter() - started


def redis_day(docs: list[dict], url: str, config, db: redis.Redis) -> dict:
    dedup, sketch_s = deduplicator(docs, config)
    index = RedisIndex(url, config, shown_as=redact(url))
    (calls, usec), memory = redis_work(db), db.info("memory")["used_memory"]
    started = time.perf_counter()
    result = dedup.run(index)
    decide_s = time.perf_counter() - started
    calls_decide, usec_decide = redis_work(db)
    started = time.perf_counter()
    claim_run(index, dedup, result, lambda: docs)
    claim_s = time.perf_counter() - started
    index.close()
    calls_claim, usec_claim = redis_work(db)
    n = len(docs)
    return {"docs": n, "sketch_docs_per_s": round(n / sketch_s), "decide_docs_per_s": round(n / decide_s),
            "claim_docs_per_s": round(n / claim_s), "redis_ops_per_doc_decide": round((calls_decide - calls) / n, 1),
            "redis_ops_per_doc_claim": round((calls_claim - calls_decide) / n, 1),
            "redis_server_us_per_doc_decide": round((usec_decide - usec) / n, 1),
            "redis_server_us_per_doc_claim": round((usec_claim - usec_decide) / n, 1),
            "redis_bytes_per_doc": round((db.info("memory")["used_memory"] - memory) / n),
            "duplicates": sum(1 for d in result.decisions.values() if d.duplicate_of)}


def sqlite_day(docs: list[dict], folder: Path, config) -> dict:
    dedup, _ = deduplicator(docs, config)
    index = StateIndex(folder, config)
    started = time.perf_counter()
    result = dedup.run(index)
    decide_s = time.perf_counter() - started
    started = time.perf_counter()
    index.add(dedup.index_entry(d["id"], d["text"], result.decisions[d["id"]]) for d in docs)
    add_s = time.perf_counter() - started
    stats = index.stats()
    index.close()
    n = len(docs)
    return {"docs": n, "decide_docs_per_s": round(n / decide_s), "claim_docs_per_s": round(n / add_s),
            "index_bytes_per_doc_so_far": stats["bytes_per_document"],
            "duplicates": sum(1 for d in result.decisions.values() if d.duplicate_of)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path, help="output folder of a finished ingest run")
    parser.add_argument("--redis", required=True, help="Redis URL (its database is emptied)")
    args = parser.parse_args()
    config = load_config().dedup
    docs = load_documents(args.out)
    halves = docs[: len(docs) // 2], docs[len(docs) // 2 :]
    db = redis.Redis.from_url(args.redis)
    db.flushdb()
    db.config_resetstat()
    rows = [{"index": "redis", "day": day + 1, **redis_day(half, args.redis, config, db)} for day, half in enumerate(halves)]
    with tempfile.TemporaryDirectory() as folder:
        rows += [{"index": "sqlite", "day": day + 1, **sqlite_day(half, Path(folder), config)}
                 for day, half in enumerate(halves)]
    for row in rows:
        print(json.dumps(row))


if __name__ == "__main__":
    main()
