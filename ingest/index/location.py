"""Where the near-duplicate index lives: a folder (embedded SQLite) or a Redis server.

`open_index` picks the kind from the location: `redis://` and `rediss://` URLs open a
`RedisIndex` (shared by every run on every host), anything else is a folder for the
embedded `StateIndex`. A Redis URL may carry a password, so a location is only ever
shown through `redact`, and handed to Prefect as an `IndexLocation`, whose every
printed or serialised form is the redacted one.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import SecretStr

from ingest.config import DedupConfig
from ingest.index.sqlite_index import StateIndex

if TYPE_CHECKING:
    from ingest.index.redis_index import RedisIndex


REDIS_SCHEMES = ("redis", "rediss")
_HIDDEN = "***"


def is_redis_url(location: str | Path) -> bool:
    return isinstance(location, str) and urlsplit(location).scheme in REDIS_SCHEMES


def redact(location: str | Path) -> str:
    """The location with its password (in the userinfo or a query parameter) replaced by ***."""
    text = str(location)
    if not is_redis_url(text):
        return text
    parts = urlsplit(text)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        user, has_password, _ = userinfo.partition(":")
        netloc = f"{user}:{_HIDDEN}@{host}" if has_password else netloc
    query = urlencode([(k, _HIDDEN if "password" in k.lower() else v) for k, v in parse_qsl(parts.query)],
                      safe="*/")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


class IndexLocation(SecretStr):
    """An index location as a Prefect flow parameter: Prefect stores and shows the
    parameters of a flow run, so this one displays (and serialises) redacted."""

    def _display(self) -> str:
        return redact(self.get_secret_value())


def open_index(location: str | Path, config: DedupConfig) -> StateIndex | RedisIndex:
    """The index at `location`; raises StateError when it cannot serve `config`."""
    if is_redis_url(location):
        # Imported here: redis costs every worker 0.05 s to import, and only these runs use it.
        from ingest.index.redis_index import RedisIndex

        return RedisIndex(str(location), config, shown_as=redact(location))
    return StateIndex(location, config)
