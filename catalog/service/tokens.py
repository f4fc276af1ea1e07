"""API tokens, like R2 Data Catalog's: an id, a secret shown once, a permission, a scope.

A token has generations: each rotation gives it a new secret and the next generation. An access
token (our OAuth2 JWT) is valid only while the API token it was minted from is active and still
at the generation the access token names, so rotation and revocation end every session minted
before them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import NamedTuple, Protocol

from catalog.auth.principal import Grant, Permission, Principal
from catalog.auth.secrets import TokenParts, hash_secret, new_token, secret_matches
from catalog.exceptions import BadRequest, NotFound
from catalog.service.context import ServiceContext
from catalog.service.identifiers import check_namespace, check_warehouse_name
from catalog.store.records import TokenRecord

# How long a process trusts a token row it has read. Revoking or rotating through this server
# (any of its workers) takes effect on its next request (for secrets and access tokens alike);
# through another server (or the CLI), within this time.
TOKEN_CACHE_SECONDS = 1.0


class Epoch(Protocol):
    """A counter that a revoke or rotation advances, voiding every cached token row read
    before: one per process, or one in shared memory for the workers of one server."""

    def current(self) -> int: ...

    def advance(self) -> None: ...


class LocalEpoch:
    def __init__(self) -> None:
        self._value = 0
        self._lock = threading.Lock()

    def current(self) -> int:
        return self._value

    def advance(self) -> None:
        with self._lock:
            self._value += 1


class NeedsRead(Exception):
    """The check cannot be made from what this process holds: the token's row must be read
    (raised instead, when the caller said it may not read: it then asks again where it may)."""


@dataclass(frozen=True)
class IssuedToken:
    record: TokenRecord
    bearer: str


def grant_of(record: TokenRecord) -> Grant:
    return Grant(Permission.parse(record.permission), record.warehouses, record.namespaces)


def principal_of(record: TokenRecord) -> Principal:
    return Principal(record.id, record.name, (grant_of(record),))


class TokenService:
    def __init__(self, context: ServiceContext) -> None:
        self._context = context
        # token id -> (read at, epoch when read, row, its principal): a database read per
        # request was a fifth of loadTable's cost, and making the principal from the row (its
        # grant, its permission parsed) a tenth of what was left. A revoke or rotation here
        # starts a new epoch, which voids every entry, including one a concurrent request is
        # reading right now.
        self._recent: dict[str, _Recent] = {}
        self._epoch: Epoch = LocalEpoch()

    def share_epoch(self, epoch: Epoch) -> None:
        """Revocations through any process advancing `epoch` void this one's cache at once."""
        self._epoch = epoch
        self._recent.clear()

    def _forget(self) -> None:
        self._epoch.advance()
        self._recent.clear()

    def create(
        self,
        name: str,
        permission: str,
        warehouses: Sequence[str] | None = None,
        namespaces: Sequence[Sequence[str]] | None = None,
        expires_in: timedelta | None = None,
    ) -> IssuedToken:
        if not name or len(name) > 128:
            raise BadRequest("A token needs a name of 1 to 128 characters")
        try:
            level = Permission.parse(permission)
        except ValueError as error:
            raise BadRequest(str(error)) from error
        if level < Permission.ADMIN and not warehouses:
            raise BadRequest("A read-only or read-write token must name its warehouses")
        if level == Permission.ADMIN and (warehouses or namespaces):
            raise BadRequest("An admin token covers the whole catalog; it takes no scope")
        if expires_in is not None and expires_in <= timedelta(0):
            raise BadRequest("A token's lifetime must be positive")
        scoped_warehouses = tuple(check_warehouse_name(w) for w in warehouses or ()) or None
        scoped_namespaces = tuple(check_namespace(n) for n in namespaces or ()) or None
        with self._context.store.read() as tx:
            for warehouse in scoped_warehouses or ():
                self._context.warehouse(tx, warehouse)
        parts = new_token()
        now = datetime.now(UTC)
        record = TokenRecord(
            id=parts.token_id,
            name=name,
            secret_hash=hash_secret(parts.secret),
            permission=level.wire,
            warehouses=scoped_warehouses,
            namespaces=scoped_namespaces,
            created_at=now,
            expires_at=now + expires_in if expires_in else None,
            revoked_at=None,
            generation=1,
        )
        with self._context.store.write() as tx:
            tx.insert_token(record)
        return IssuedToken(record, parts.bearer)

    def list(self) -> list[TokenRecord]:
        with self._context.store.read() as tx:
            return tx.list_tokens()

    def revoke(self, token_id: str) -> None:
        with self._context.store.write() as tx:
            if not tx.revoke_token(token_id):
                raise NotFound(f"No active token with id {token_id}")
        self._forget()

    def rotate(self, token_id: str) -> IssuedToken:
        """A new secret for the same token: same id, scope and expiry, the next generation.

        The old secret and every access token minted from it stop: in this process on the next
        request, in others within TOKEN_CACHE_SECONDS.
        """
        parts = new_token()
        with self._context.store.write() as tx:
            if not tx.set_token_secret(token_id, hash_secret(parts.secret)):
                raise NotFound(f"No active token with id {token_id}")
            record = tx.token(token_id)
        self._forget()
        assert record is not None
        return IssuedToken(record, TokenParts(token_id, parts.secret).bearer)

    def _read(self, token_id: str) -> _Recent | None:
        epoch = self._epoch.current()
        started = time.monotonic()  # the row is as of a moment after this, trusted from it
        with self._context.store.read() as tx:
            record = tx.token(token_id)
        if record is None:
            return None
        entry = _Recent(started, epoch, record, principal_of(record))
        self._recent[token_id] = entry
        return entry

    def _accepted(
        self, token_id: str, accepts: Callable[[TokenRecord], bool], may_read: bool = True
    ) -> _Recent | None:
        """The token's row (with its principal), if it is active and `accepts` it. A cached row
        may accept but never refuse: read up to a second ago, it may predate a rotation through
        another process (or another worker of this server), and the new secret, or an access
        token of the new generation, must not be refused for it. So a refusal reads the row
        again. Without `may_read`, whatever would read raises `NeedsRead`."""
        cached = self._recent.get(token_id)
        fresh = (
            cached is not None
            and cached.epoch == self._epoch.current()
            and time.monotonic() - cached.read_at < TOKEN_CACHE_SECONDS
        )
        if not fresh and not may_read:
            raise NeedsRead(token_id)
        entry = cached if fresh else self._read(token_id)
        if entry is not None and _active(entry.record) and accepts(entry.record):
            return entry
        if not may_read:
            raise NeedsRead(token_id)
        if fresh:
            entry = self._read(token_id)
            if entry is not None and _active(entry.record) and accepts(entry.record):
                return entry
        return None

    def _by_secret(self, parts: TokenParts, may_read: bool = True) -> _Recent | None:
        return self._accepted(
            parts.token_id,
            lambda record: secret_matches(parts.secret, record.secret_hash),
            may_read,
        )

    def _at_generation(
        self, token_id: str, generation: int, may_read: bool = True
    ) -> _Recent | None:
        return self._accepted(token_id, lambda record: record.generation == generation, may_read)

    def held(self, token_id: str) -> HeldRow | None:
        """The row this process holds for `token_id` while it trusts it without reading it
        again (until `read_at + TOKEN_CACHE_SECONDS`). A check that finds the same object
        held before and after it used that row (`answers.AnswerCache`)."""
        entry = self._recent.get(token_id)
        if entry is None or entry.epoch != self._epoch.current():
            return None
        return entry

    def check_secret(self, parts: TokenParts, may_read: bool = True) -> TokenRecord | None:
        """The active token whose secret this is."""
        entry = self._by_secret(parts, may_read)
        return entry.record if entry else None

    def check_generation(
        self, token_id: str, generation: int, may_read: bool = True
    ) -> TokenRecord | None:
        """The active token, while `generation` is still its own: an access token's check.

        The same (cached) row read as for a secret: no query beyond the one each request makes.
        """
        entry = self._at_generation(token_id, generation, may_read)
        return entry.record if entry else None

    def authenticate(self, parts: TokenParts, may_read: bool = True) -> Principal | None:
        entry = self._by_secret(parts, may_read)
        return entry.principal if entry else None

    def principal_for(
        self, token_id: str, generation: int, may_read: bool = True
    ) -> Principal | None:
        """For access tokens minted from an API token: valid while it is, at `generation`."""
        entry = self._at_generation(token_id, generation, may_read)
        return entry.principal if entry else None


class _Recent(NamedTuple):
    """A token row as read at `read_at` (monotonic: when the read began), in `epoch`, and the
    principal it makes."""

    read_at: float
    epoch: int
    record: TokenRecord
    principal: Principal


HeldRow = _Recent  # what `held` gives out of the cache


def _active(record: TokenRecord) -> bool:
    if record.revoked_at is not None:
        return False
    return record.expires_at is None or record.expires_at > datetime.now(UTC)
