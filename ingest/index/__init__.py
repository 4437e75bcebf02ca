"""State kept between runs: the near-duplicate index (a folder or Redis), the ledger, the lock.

location.py      where an index lives: `open_index` for a folder or a Redis URL
sqlite_index.py  the index in a folder (`--state DIR`), embedded in SQLite
redis_index.py   the index in Redis, shared by runs on any host
format.py        what every index stores and checks: format version, key settings
claim.py         a run's new documents into the index; its claim in a shared one
ledger.py        which inbox files incremental runs have ingested
lock.py          the state folder's lock: runs on one state folder take turns
"""
