"""The fast reads' answers, kept whole at the front door while nothing they depend on changed.

On SQLite a warm loadTable spent most of its ~50 µs in process working out again the answer it
gave the same request a moment ago: the token's SHA-256 and policy decision, the name checks,
the pointer read, the ETag and headers. Everything such an answer depends on is in one of
three places, and each has a way to tell it is unchanged:

- the request: the method, the raw path and query, and every header a fast read or the checks
  before it look at (the `Authorization` header as its SHA-256: no secret is kept), the scheme,
  host and server (a remote signer's URL is made from them). They make the key.
- the database: tokens, grants, warehouses, namespaces, tables and their metadata. SQLite's
  `PRAGMA data_version` changes whenever any connection, in any process, commits
  (`remembered.RememberedReads.version`); an answer is kept under the value taken before it
  was worked out, and served only while the value is the same.
- time: the token row the answer was authorized with is trusted only as long as the token cache
  trusts it (`tokens.TOKEN_CACHE_SECONDS` from when it was read: it may predate a revoke made
  before the answer's own reads), an API token or an access token only until it expires, and a
  vended credential only while the credential cache would still hand it out
  (`Answer.expires`).

The request id, the metrics and the access line stay per request (`middleware`). Only on
SQLite: PostgreSQL has no `data_version`. Entries are bounded in number and in bytes, least
recently used out first; a database that cannot be asked (its connection busy on another
thread, or failing) keeps nothing and serves nothing from here.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Final

from starlette.types import Scope

from catalog.api.fast import Answer
from catalog.api.security import Authenticator
from catalog.service.tokens import TOKEN_CACHE_SECONDS, HeldRow, TokenService
from catalog.store.remembered import Miss, RememberedReads

Key = tuple[Any, ...]
# What a fast read or the checks before it (`RequestContextMiddleware`) read of the headers.
KEYED_HEADERS: Final = frozenset(
    (b"authorization", b"if-none-match", b"x-iceberg-access-delegation", b"host", b"content-length")
)
DEFAULT_ENTRIES = 4096
DEFAULT_BYTES = 64 * 1024 * 1024


@dataclass(slots=True)
class Pending:
    """What was true before an answer was worked out, for `AnswerCache.keep`."""

    version: tuple[int, int]  # the database's
    sampled: float  # time.monotonic() once `version` was taken
    token: str | None  # the token id the request presents (None: authentication is off)
    held: HeldRow | None  # the token row this process held for it
    expires: float  # time.time(): when the presented credential itself ends


@dataclass(slots=True)
class Kept:
    """An answer as sent, and how long it holds."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    operation: str
    before: Pending
    fresh_until: float  # time.monotonic(): the token row's trust
    expires: float  # time.time(): the token's, an access token's, a credential's


def request_key(scope: Scope) -> Key:
    """Everything in the request a fast read's answer depends on."""
    key: list[Any] = [
        scope["method"],
        scope.get("raw_path"),
        scope.get("query_string", b""),
        scope.get("root_path", ""),
        scope.get("scheme"),
        scope.get("server"),
    ]
    for name, value in scope["headers"]:
        if name in KEYED_HEADERS:
            key.append(name)
            key.append(hashlib.sha256(value).digest() if name == b"authorization" else value)
    return tuple(key)


class AnswerCache:
    def __init__(
        self,
        database: RememberedReads,
        authenticator: Authenticator,
        tokens: TokenService,
        max_entries: int = DEFAULT_ENTRIES,
        max_bytes: int = DEFAULT_BYTES,
    ) -> None:
        self.database = database
        self.authenticator = authenticator
        self.tokens = tokens
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Key, Kept] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0  # answers sent from here: what a test or a profile looks at

    def get(self, key: Key) -> Kept | None:
        """The answer kept for `key`, if it still holds now."""
        kept = self._entries.get(key)
        if kept is None or time.time() >= kept.expires:
            return None
        now = time.monotonic()
        if now >= kept.fresh_until and not self._renewed(kept, now):
            return None
        if self.database.version() != kept.before.version:
            return None
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
            self.hits += 1
        return kept

    def _renewed(self, kept: Kept, now: float) -> bool:
        """Whether the token row this process holds now vouches for `kept` as the row it was
        authorized with did: one whose read began after the database's version was taken
        (when that version is still current, the row is too), and the same row. Then the
        entry lasts as long as the token cache trusts that row. All of a token's entries
        thus last past the token cache's renewal of its row, which the first request to
        find it stale makes."""
        before = kept.before
        if before.token is None or before.held is None:
            return False
        held = self.tokens.held(before.token)
        if held is None or held.read_at <= before.sampled or held.record != before.held.record:
            return False
        fresh_until = held.read_at + TOKEN_CACHE_SECONDS
        if now >= fresh_until:
            return False
        kept.fresh_until = fresh_until
        return True

    def before(self, authorization: str | None) -> Pending | None:
        """What must still be true after an answer to this request is worked out for it to be
        kept: the database's version and the token row the check will use, taken now."""
        version = self.database.version()
        if isinstance(version, Miss):
            return None
        sampled = time.monotonic()  # after: a read begun later sees at least `version`
        if not self.authenticator.enabled:
            return Pending(version, sampled, None, None, math.inf)
        presented = self.authenticator.token_of(authorization)
        if presented is None:
            return None
        token_id, expires = presented
        held = self.tokens.held(token_id)
        if held is None:
            return None  # the check reads the row now: kept from the next answer on
        return Pending(version, sampled, token_id, held, expires)

    def keep(self, key: Key, pending: Pending, answer: Answer, operation: str) -> None:
        """Keep `answer`, if the token row the check used is the one held before it."""
        fresh_until = math.inf
        expires = min(pending.expires, answer.expires)
        if pending.token is not None:
            held = self.tokens.held(pending.token)
            if held is None or held is not pending.held:
                return
            fresh_until = held.read_at + TOKEN_CACHE_SECONDS
            if held.record.expires_at is not None:
                expires = min(expires, held.record.expires_at.timestamp())
        size = len(answer.body)
        if size > self.max_bytes // 8 or time.time() >= expires:
            return
        kept = Kept(
            answer.status, answer.headers, answer.body, operation, pending, fresh_until, expires
        )
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= len(old.body)
            self._entries[key] = kept
            self._bytes += size
            while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
                _, evicted = self._entries.popitem(last=False)
                self._bytes -= len(evicted.body)

    def __len__(self) -> int:
        return len(self._entries)
