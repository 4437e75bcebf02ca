"""The near-duplicate index in Redis (`--index redis://HOST:PORT/DB`), shared by all runs.

The same interface and content as the embedded `StateIndex`: per document the LSH band
keys, what the keep policy needs, the decision taken and the clean text compressed with
zstd (exact verification). Keys, all under `ingest:` in the URL's database:

    ingest:meta         hash    format version and the settings that shape band keys
    ingest:seq          string  insertion counter: a document's `seq` is its place in it
    ingest:doc:<id>     hash    kept, of, sim, created, added, len, source, text, run, seq, dups
    ingest:band:<key>   zset    the ids in one LSH bucket, scored by their seq
    ingest:lock         string  the run claiming documents now, with a lease

Concurrency. Runs decide in parallel, each against the index as it was when it first
read it (its snapshot: `ingest:seq` then). A run then claims its new documents: it takes
the lock, checks that no document entered any of their buckets since its snapshot, and
inserts them. If one did, another run indexed a copy of one of its stories meanwhile:
it lets go of the lock, decides again against the index as it is now (its copies join
the other run's kept documents, which are published already) and claims again. So two
runs that meet two copies of one story at once keep exactly one. The lock is held for
the check and the inserts only, and every insert checks that the lock is still this
run's (fencing): a run whose lease ran out fails instead of inserting beside another.

`kept` is the cluster's kept document; `of` the document this one was verified against
(`duplicate_of`), absent when it is the kept one (always so in a format 1 index, which
is opened as format 2: nothing else differs); `sim` their aligned-word similarity (`ingest/dedup/verify.py`).

Standalone Redis (with or without replicas): the scripts read keys they discover, which
Redis Cluster does not allow.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

import redis
import zstandard
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from ingest.config import DedupConfig
from ingest.dedup.prior import IndexedDocument
from ingest.index.format import FORMAT_VERSION, StateError, check_settings, index_settings, stored_link

PREFIX = "ingest:"
_META = PREFIX + "meta"
_SEQ = PREFIX + "seq"
_LOCK = PREFIX + "lock"
_DOC_FIELDS = ("kept", "sim", "created", "added", "len", "source", "of")
# A claim holds the lock for at most this long without renewing it (each chunk renews).
LOCK_LEASE_MS = 60_000
# How long a run waits for another run's claim before it gives up.
LOCK_WAIT_SECONDS = 600.0


_CHUNK = 200  # documents per insert script call: a few ms of Redis time each
_READ_CHUNK = 1000

# Sets the meta hash if the index is new; returns what is stored.
_INIT_META = """
if redis.call('EXISTS', KEYS[1]) == 0 then redis.call('HSET', KEYS[1], unpack(ARGV)) end
return redis.call('HGETALL', KEYS[1])
"""

# KEYS: meta; ARGV: the format found, the current one. Migrates an index of an older
# format in place (its documents need no change) unless another run did meanwhile.
_UPGRADE_META = """
if redis.call('HGET', KEYS[1], 'format_version') == ARGV[1] then
  redis.call('HSET', KEYS[1], 'format_version', ARGV[2])
end
return redis.call('HGET', KEYS[1], 'format_version')
"""

# KEYS: lock; ARGV: token, lease ms. Renews the lease if the lock is still ours.
_RENEW = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
"""

# KEYS: lock; ARGV: token. Lets go of the lock if it is still ours.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
"""

# KEYS: band keys. The distinct ids in those buckets: one round trip for a document's
# bands (a command each from the client would cost more than the lookups themselves).
_BUCKET_MEMBERS = """
local seen, ids = {}, {}
for _, key in ipairs(KEYS) do
  for _, id in ipairs(redis.call('ZRANGE', key, 0, -1)) do
    if not seen[id] then seen[id] = true; table.insert(ids, id) end
  end
end
return ids
"""

# ARGV: snapshot seq, prefix, then per document: id, number of band keys, band keys...
# The ids inserted after the snapshot under these documents' ids or into their buckets.
_ENTERED_SINCE = """
local after, prefix = '(' .. ARGV[1], ARGV[2]
local found = {}
local i = 3
while i <= #ARGV do
  local id, nkeys = ARGV[i], tonumber(ARGV[i + 1])
  if redis.call('EXISTS', prefix .. 'doc:' .. id) == 1 then table.insert(found, id) end
  for k = 1, nkeys do
    for _, other in ipairs(redis.call('ZRANGEBYSCORE', prefix .. 'band:' .. ARGV[i + 1 + k], after, '+inf')) do
      table.insert(found, other)
    end
  end
  i = i + 2 + nkeys
end
return found
"""

# KEYS: lock, seq; ARGV: token, lease ms, prefix, then per document:
# id, kept, sim, created, added, len, source, text, of, number of band keys, band keys...
# Inserts the documents not indexed yet (kept ones come first, so that a duplicate
# finds its kept document to count it); fails unless the lock is still ours.
_INSERT = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return redis.error_reply('LOCKLOST') end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
local prefix = ARGV[3]
local inserted = 0
local i = 4
while i <= #ARGV do
  local id, kept, nkeys = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 9])
  local doc = prefix .. 'doc:' .. id
  if redis.call('EXISTS', doc) == 0 then
    local seq = redis.call('INCR', KEYS[2])
    local fields = {'kept', kept, 'added', ARGV[i + 4], 'len', ARGV[i + 5], 'source', ARGV[i + 6],
                    'text', ARGV[i + 7], 'run', ARGV[1], 'seq', seq}
    if ARGV[i + 2] ~= '' then table.insert(fields, 'sim'); table.insert(fields, ARGV[i + 2]) end
    if ARGV[i + 3] ~= '' then table.insert(fields, 'created'); table.insert(fields, ARGV[i + 3]) end
    if ARGV[i + 8] ~= '' then table.insert(fields, 'of'); table.insert(fields, ARGV[i + 8]) end
    redis.call('HSET', doc, unpack(fields))
    for k = 1, nkeys do redis.call('ZADD', prefix .. 'band:' .. ARGV[i + 9 + k], seq, id) end
    if kept ~= id and redis.call('EXISTS', prefix .. 'doc:' .. kept) == 1 then
      redis.call('HINCRBY', prefix .. 'doc:' .. kept, 'dups', 1)
    end
    inserted = inserted + 1
  end
  i = i + 10 + nkeys
end
return inserted
"""


def _doc_key(doc_id: str) -> str:
    return f"{PREFIX}doc:{doc_id}"


def _band_key(key: int) -> str:
    return f"{PREFIX}band:{key}"


def _text(value: bytes | None) -> str | None:
    return None if value is None else value.decode("utf-8")


@dataclass
class Claim:
    """The outcome of one claim: the documents inserted, or the other runs' documents
    that entered their buckets since the snapshot (then nothing was inserted)."""

    claimed: dict[str, str] = field(default_factory=dict)  # id -> added
    conflicts: list[str] = field(default_factory=list)


@dataclass
class _Packed:
    id: str
    added: str
    is_duplicate: bool
    args: list  # the insert script's arguments for this document
    keys: Sequence[int]


class RedisIndex:
    """One run's connection to the shared index: open it per run (it holds the run's
    snapshot and token). `shown_as` is the redacted location used in messages."""

    def __init__(self, url: str, config: DedupConfig, shown_as: str) -> None:
        self.shown_as = shown_as
        self._password = _password_of(url)
        self._token = uuid.uuid4().hex
        self._snapshot: int | None = None
        self._zc = zstandard.ZstdCompressor(level=6)
        self._zd = zstandard.ZstdDecompressor()
        self.conflicts = 0  # other runs' documents that made this run decide again
        # Fail fast when the server is not there; a few quick retries ride out a blip.
        try:
            self._db = redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=60,
                                            health_check_interval=30,
                                            retry=Retry(ExponentialBackoff(cap=2, base=0.2), 3))
            with self._errors("cannot open the index"):
                self._db.ping()
        except (ValueError, TypeError) as exc:  # a bad URL or option; redis-py never quotes the URL
            raise StateError(f"{shown_as}: not a usable Redis URL: {exc}") from None
        with self._errors("cannot open the index"):
            self._bucket_members = self._db.register_script(_BUCKET_MEMBERS)
            self._entered = self._db.register_script(_ENTERED_SINCE)
            self._insert = self._db.register_script(_INSERT)
            self._renew = self._db.register_script(_RENEW)
            self._release = self._db.register_script(_RELEASE)
            self._check_settings(config)

    # ------------------------------------------------------------ opening

    def _check_settings(self, config: DedupConfig) -> None:
        flat = [x for kv in index_settings(config).items() for x in kv]
        stored_flat = self._db.eval(_INIT_META, 1, _META, *flat)
        stored = {stored_flat[i].decode(): stored_flat[i + 1].decode() for i in range(0, len(stored_flat), 2)}
        version = check_settings(stored, config, self.shown_as)
        if version != str(FORMAT_VERSION):
            # A missing `of` field means the kept document, so format 1 documents are
            # format 2 documents already; the new version keeps format 1 code out.
            self._db.eval(_UPGRADE_META, 1, _META, version, str(FORMAT_VERSION))

    @contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        """Redis failures as one StateError line naming the redacted location."""
        try:
            yield
        except StateError:
            raise
        except redis.RedisError as exc:
            message = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
            if self._password:
                message = message.replace(self._password, "***")
            raise StateError(f"{self.shown_as}: {doing}: {message}") from None

    def close(self) -> None:
        self._db.close()

    # ------------------------------------------------------------ reading

    def _begin_read(self) -> None:
        """The first read of a decision fixes its snapshot: every document inserted up
        to it is visible to the reads that follow (an insert is one atomic script)."""
        if self._snapshot is None:
            self._snapshot = int(self._db.get(_SEQ) or 0)

    def known(self, ids: Iterable[str]) -> dict[str, IndexedDocument]:
        with self._errors("cannot read the index"):
            self._begin_read()
            ids = list(ids)
            found: dict[str, IndexedDocument] = {}
            for i in range(0, len(ids), _READ_CHUNK):
                chunk = ids[i : i + _READ_CHUNK]
                pipe = self._db.pipeline(transaction=False)
                for doc_id in chunk:
                    pipe.hmget(_doc_key(doc_id), _DOC_FIELDS)
                for doc_id, values in zip(chunk, pipe.execute()):
                    if values[0] is not None:
                        found[doc_id] = _record(doc_id, values)
            return found

    def candidates(self, keys: Sequence[int]) -> list[IndexedDocument]:
        """Indexed documents sharing at least one band key."""
        with self._errors("cannot read the index"):
            self._begin_read()
            ids = [m.decode() for m in self._bucket_members(keys=[_band_key(k) for k in keys])]
        if not ids:
            return []
        found = self.known(ids)
        return [found[k] for k in sorted(found)]

    def has_duplicates(self, doc_id: str) -> bool:
        with self._errors("cannot read the index"):
            return int(self._db.hget(_doc_key(doc_id), "dups") or 0) > 0

    def text(self, doc_id: str) -> str:
        with self._errors("cannot read the index"):
            value = self._db.hget(_doc_key(doc_id), "text")
        if value is None:
            raise StateError(f"{self.shown_as}: document {doc_id} is not in the index")
        return self._zd.decompress(value).decode("utf-8")

    def stats(self) -> dict[str, int | float | str]:
        with self._errors("cannot read the index"):
            docs = int(self._db.get(_SEQ) or 0)
            memory = self._db.info("memory")
        size = memory["used_memory"] - memory.get("used_memory_startup", 0)
        return {"documents": docs, "bytes": size, "bytes_per_document": round(size / docs, 1) if docs else 0,
                "location": self.shown_as, "claim_conflicts": self.conflicts}

    # ------------------------------------------------------------ writing

    def add(self, docs: Iterable[tuple[IndexedDocument, str, Sequence[int]]]) -> int:
        """Index documents (record, clean text, band keys); those indexed already are skipped."""
        packed = self._pack(docs)
        if not packed:
            return 0
        with self._errors("cannot write the index"), self._locked():
            return self._insert_all(packed)

    def claim(self, docs: Iterable[tuple[IndexedDocument, str, Sequence[int]]]) -> Claim:
        """Index documents decided against this run's snapshot, unless another run's
        documents entered their buckets since: then insert nothing, return those, and
        start a new snapshot with the next read."""
        packed = self._pack(docs)  # compressing happens before the lock is taken
        if not packed:
            return Claim()
        with self._errors("cannot write the index"):
            snapshot = self._snapshot if self._snapshot is not None else 0
            with self._locked():
                conflicts = self._entered_since(snapshot, packed)
                if conflicts:
                    self._snapshot = None
                    return Claim(conflicts=conflicts)
                self._insert_all(packed)
        return Claim(claimed={p.id: p.added for p in packed})

    def _pack(self, docs: Iterable[tuple[IndexedDocument, str, Sequence[int]]]) -> list[_Packed]:
        packed = []
        for doc, text, keys in docs:
            args = [doc.id, doc.kept_id, "" if doc.similarity is None else repr(doc.similarity), doc.created or "",
                    doc.added, doc.length, doc.source, self._zc.compress(text.encode("utf-8")),
                    stored_link(doc) or "", len(keys), *keys]
            packed.append(_Packed(doc.id, doc.added, doc.kept_id != doc.id, args, keys))
        # Kept documents first: a duplicate's insert counts it on its kept document.
        packed.sort(key=lambda p: p.is_duplicate)
        return packed

    @contextmanager
    def _locked(self) -> Iterator[None]:
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        pause = 0.02
        while not self._db.set(_LOCK, self._token, nx=True, px=LOCK_LEASE_MS):
            if time.monotonic() > deadline:
                raise StateError(f"{self.shown_as}: another run has held the index lock for over "
                                 f"{LOCK_WAIT_SECONDS:.0f} s")
            time.sleep(pause)
            pause = min(pause * 2, 0.5)
        try:
            yield
        finally:
            self._release(keys=[_LOCK], args=[self._token])

    def _keep_lock(self) -> None:
        if not self._renew(keys=[_LOCK], args=[self._token, LOCK_LEASE_MS]):
            raise StateError(f"{self.shown_as}: lost the index lock (lease of {LOCK_LEASE_MS // 1000} s ran out)")

    def _entered_since(self, snapshot: int, packed: list[_Packed]) -> list[str]:
        """Ids inserted after `snapshot` into the buckets of `packed` (or under their ids)."""
        found: set[str] = set()
        for i in range(0, len(packed), _CHUNK):
            self._keep_lock()
            args: list = [snapshot, PREFIX]
            for p in packed[i : i + _CHUNK]:
                args.extend((p.id, len(p.keys), *p.keys))
            # A document under its own id: the same input, indexed by another run meanwhile.
            found.update(m.decode() for m in self._entered(args=args))
        return sorted(found)

    def _insert_all(self, packed: list[_Packed]) -> int:
        inserted = 0
        for i in range(0, len(packed), _CHUNK):
            args: list = [self._token, LOCK_LEASE_MS, PREFIX]
            for p in packed[i : i + _CHUNK]:
                args.extend(p.args)
            try:
                inserted += self._insert(keys=[_LOCK, _SEQ], args=args)
            except redis.ResponseError as exc:
                if "LOCKLOST" in str(exc):
                    raise StateError(f"{self.shown_as}: lost the index lock while inserting "
                                     f"(lease of {LOCK_LEASE_MS // 1000} s ran out)") from None
                raise
        return inserted


def _record(doc_id: str, values: list[bytes | None]) -> IndexedDocument:
    kept, sim, created, added, length, source, link = values
    return IndexedDocument(doc_id, kept.decode(), None if sim is None else float(sim), _text(created),
                           added.decode(), int(length), source.decode("utf-8"), _text(link))


def _password_of(url: str) -> str | None:
    password = urlsplit(url).password
    return unquote(password) if password else None
