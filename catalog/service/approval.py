"""Commit approval: a warehouse's built-in rules, then its approval endpoint, before a commit's
pointer moves.

A warehouse without approval settings costs its commits one `is None` on the warehouse row the
commit reads anyway. With settings, each commit is summarized (`change_summary`); the built-in
rules refuse a change they name unless the caller is an admin (or the catalog itself, whose
maintenance commits change no schema); then the endpoint, if any, is asked over HTTP, outside
any database transaction. The swap that follows is the same compare-and-swap as always: the
change was approved against the table version it will replace, and if another commit lands
first the commit is prepared again and, if its summary changed, asked again.

The request is signed: `X-Icefloe-Signature: sha256=<hex HMAC-SHA256(secret,
"<X-Icefloe-Timestamp>.<body>")>`, so the endpoint can tell it came from this catalog and is
recent. Every decision is an audit record (`approveCommit`, `denyCommit`).
"""

from __future__ import annotations

import hmac
import logging
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from catalog.exceptions import BadRequest, Forbidden
from catalog.service.change_summary import RULES, ChangeSummary, summarize
from catalog.service.context import ServiceContext
from catalog.service.identifiers import dotted
from catalog.service.placement import Placer
from catalog.store.records import WarehouseRecord

log = logging.getLogger("icefloe.approval")

SIGNATURE_HEADER = "X-Icefloe-Signature"
TIMESTAMP_HEADER = "X-Icefloe-Timestamp"
DEFAULT_TIMEOUT = 5.0
MAX_TIMEOUT = 60.0
_MAX_REASON = 1000


@dataclass(frozen=True)
class ApprovalSettings:
    """What a warehouse stores (`WarehouseRecord.approval`); `secret` is sealed there."""

    url: str | None = None
    secret: str | None = None
    timeout_seconds: float = DEFAULT_TIMEOUT
    fail_open: bool = False
    rules: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, stored: Mapping[str, Any]) -> ApprovalSettings:
        return cls(
            url=stored.get("url"),
            secret=stored.get("secret"),
            timeout_seconds=float(stored.get("timeout-seconds", DEFAULT_TIMEOUT)),
            fail_open=stored.get("on-failure") == "allow",
            rules=frozenset(stored.get("rules") or ()),
        )

    def stored(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "secret": self.secret,
            "timeout-seconds": self.timeout_seconds,
            "on-failure": "allow" if self.fail_open else "deny",
            "rules": sorted(self.rules),
        }

    def public(self) -> dict[str, Any]:
        """As the admin API and the CLI show it: whether a secret is set, never the secret."""
        shown = self.stored()
        shown["secret"] = "set" if self.secret else None
        return shown


def check_settings(settings: ApprovalSettings) -> ApprovalSettings:
    """Refuse settings that could never work, when they are set rather than at a commit."""
    unknown = sorted(settings.rules - set(RULES))
    if unknown:
        raise BadRequest(f"Unknown approval rule(s) {unknown}: choose from {list(RULES)}")
    if not 0 < settings.timeout_seconds <= MAX_TIMEOUT:
        raise BadRequest(f"timeout-seconds must be above 0 and at most {MAX_TIMEOUT:g}")
    if settings.url is not None:
        parsed = httpx.URL(settings.url)
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise BadRequest("The approval url must be an http:// or https:// URL")
        if not settings.secret:
            raise BadRequest("An approval endpoint needs a secret to sign its requests with")
    if settings.url is None and not settings.rules:
        raise BadRequest("Name an approval url, at least one rule, or both")
    return settings


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header's value for `body` sent at `timestamp` (also what an endpoint
    computes to check it)."""
    mac = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, "sha256")
    return "sha256=" + mac.hexdigest()


@dataclass(frozen=True)
class Proposal:
    """One table's part of a commit, as the endpoint is shown it."""

    namespace: tuple[str, ...]
    name: str
    requirements: list[Any]
    updates: list[Any]
    summary: ChangeSummary

    @property
    def identifier(self) -> str:
        return dotted((*self.namespace, self.name))

    def wire(self) -> dict[str, Any]:
        return {
            "identifier": {"namespace": list(self.namespace), "name": self.name},
            "requirements": self.requirements,
            "updates": self.updates,
            "summary": self.summary.lines,
        }


def proposal(
    namespace: tuple[str, ...],
    name: str,
    requirements: list[Any],
    updates: list[Any],
    base: Mapping[str, Any] | None,
    new: Mapping[str, Any],
) -> Proposal:
    return Proposal(namespace, name, requirements, updates, summarize(base, new))


class Approver:
    def __init__(self, context: ServiceContext) -> None:
        self._context = context
        self._client = httpx.Client(follow_redirects=False)

    def settings(self, warehouse: WarehouseRecord) -> ApprovalSettings | None:
        return ApprovalSettings.parse(warehouse.approval) if warehouse.approval else None

    def check(
        self,
        warehouse: WarehouseRecord,
        settings: ApprovalSettings,
        placer: Placer,
        proposals: Sequence[Proposal],
        already_approved: set[bytes],
    ) -> None:
        """Raise Forbidden when a rule or the endpoint refuses the commit. `already_approved`
        holds what the endpoint allowed earlier in this commit (a retry after a lost swap
        asks again only if the change reads differently now)."""
        principal = placer.id if placer is not None else "icefloe"
        target = f"{warehouse.name}/" + ",".join(p.identifier for p in proposals)
        if placer is not None and not placer.is_admin:
            for item in proposals:
                refused = item.summary.refused_by(settings.rules)
                if refused:
                    reason = (
                        f"Commit refused by warehouse {warehouse.name}'s rule "
                        f"{refused[0].rule}: {item.identifier} {refused[0].text}; only an admin "
                        "may make this change"
                    )
                    self._audit(principal, "denyCommit", target, uuid.uuid4().hex, 403)
                    raise Forbidden(reason)
        if settings.url is None:
            return
        request_id = uuid.uuid4().hex
        body = orjson.dumps(
            {
                "id": request_id,
                "warehouse": warehouse.name,
                "principal": {
                    "id": principal,
                    "name": placer.name if placer is not None else "icefloe",
                    "admin": placer.is_admin if placer is not None else True,
                },
                "changes": [item.wire() for item in proposals],
                "summary": "; ".join(
                    f"{item.identifier} {', '.join(item.summary.lines)}" for item in proposals
                ),
            }
        )
        fingerprint = orjson.dumps([item.wire() for item in proposals])
        if fingerprint in already_approved:
            return
        allowed, reason = self._ask(settings, body)
        self._audit(
            principal,
            "approveCommit" if allowed else "denyCommit",
            target,
            request_id,
            200 if allowed else 403,
        )
        if not allowed:
            raise Forbidden(reason)
        already_approved.add(fingerprint)

    def _ask(self, settings: ApprovalSettings, body: bytes) -> tuple[bool, str]:
        assert settings.url is not None
        secret = self._secret(settings)
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(secret, timestamp, body),
        }
        try:
            response = self._client.post(
                settings.url, content=body, headers=headers, timeout=settings.timeout_seconds
            )
            answer = response.json() if response.status_code == 200 else None
        except (httpx.HTTPError, ValueError) as error:
            return self._unanswered(settings, f"{type(error).__name__}")
        if not isinstance(answer, dict) or answer.get("decision") not in ("allow", "deny"):
            return self._unanswered(settings, f"HTTP {response.status_code} without a decision")
        reason = str(answer.get("reason") or "")[:_MAX_REASON]
        if answer["decision"] == "allow":
            return True, reason
        return False, f"Commit denied by the approval endpoint: {reason or 'no reason given'}"

    def _unanswered(self, settings: ApprovalSettings, what: str) -> tuple[bool, str]:
        log.warning("event=approval_unanswered error=%s fail_open=%s", what, settings.fail_open)
        if settings.fail_open:
            return True, f"approval endpoint did not answer ({what}); allowed (fail-open)"
        return False, (
            f"Commit refused: the approval endpoint did not answer ({what}) and this "
            "warehouse refuses commits it cannot have approved (fail-closed)"
        )

    def _secret(self, settings: ApprovalSettings) -> str:
        sealer = self._context.storage.secrets
        stored = {"secret": settings.secret or ""}
        return str((sealer.open(stored) if sealer else stored)["secret"])

    def _audit(
        self, principal: str, operation: str, target: str, request_id: str, status: int
    ) -> None:
        with self._context.store.write() as tx:
            tx.insert_audit(principal, operation, target, request_id, status)
