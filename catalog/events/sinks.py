"""Where events go: HTTP webhooks (HMAC-signed) and NATS subjects.

A sink sends one event's stored CloudEvent JSON, unchanged, and raises `DeliveryFailed` when
the receiver did not take it; the dispatcher retries, in order per table.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Protocol

import httpx
import nats
import orjson
from nats.aio.client import Client as NatsClient

from catalog.events.types import PREFIX

SIGNATURE_HEADER = "X-Icefloe-Signature"
CONTENT_TYPE = "application/cloudevents+json"


class DeliveryFailed(Exception):
    """The sink did not take the event; the message says why (never a secret)."""


class Sink(Protocol):
    name: str

    async def send(self, body: str) -> None: ...
    async def close(self) -> None: ...


def signature(secret: bytes, body: bytes) -> str:
    """`sha256=<hex HMAC-SHA256 of the body>`, as GitHub's webhooks sign theirs: a receiver
    recomputes it over the raw body with the shared secret and compares in constant time."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


class WebhookSink:
    """POSTs each event (structured mode, `application/cloudevents+json`); any 2xx is taken."""

    def __init__(self, name: str, url: str, secret: bytes, timeout: float = 10.0) -> None:
        self.name = name
        self._url = url
        self._secret = secret
        self._client = httpx.AsyncClient(timeout=timeout, follow_redirects=False)

    async def send(self, body: str) -> None:
        payload = body.encode("utf-8")
        headers = {
            "Content-Type": CONTENT_TYPE,
            SIGNATURE_HEADER: signature(self._secret, payload),
        }
        try:
            response = await self._client.post(self._url, content=payload, headers=headers)
        except httpx.HTTPError as error:
            raise DeliveryFailed(f"{type(error).__name__}: {error}") from error
        if not response.is_success:
            raise DeliveryFailed(f"HTTP {response.status_code}")

    async def close(self) -> None:
        await self._client.aclose()


class NatsSink:
    """Publishes each event on `<subject>.<kind>.<change>` (`icefloe.events.table.committed`),
    with the event id as `Nats-Msg-Id` so a JetStream stream de-duplicates redeliveries.
    A publish counts once the server has answered the flush that follows it."""

    name = "nats"

    def __init__(self, url: str, subject: str, timeout: float = 5.0) -> None:
        self._url = url
        self._subject = subject
        self._timeout = timeout
        self._client: NatsClient | None = None

    async def _connected(self) -> NatsClient:
        if self._client is None or self._client.is_closed:
            try:
                self._client = await nats.connect(
                    self._url,
                    connect_timeout=int(self._timeout),
                    max_reconnect_attempts=-1,
                    name="icefloe-events",
                )
            except Exception as error:  # nats raises its own and OS errors alike
                raise DeliveryFailed(f"NATS connect: {type(error).__name__}: {error}") from error
        return self._client

    async def send(self, body: str) -> None:
        event = orjson.loads(body)
        kind = str(event["type"]).removeprefix(f"{PREFIX}.")
        client = await self._connected()
        try:
            await client.publish(
                f"{self._subject}.{kind}",
                body.encode("utf-8"),
                headers={"Nats-Msg-Id": str(event["id"]), "Content-Type": CONTENT_TYPE},
            )
            await client.flush(timeout=int(self._timeout))
        except Exception as error:
            raise DeliveryFailed(f"NATS publish: {type(error).__name__}: {error}") from error

    async def close(self) -> None:
        if self._client is not None and not self._client.is_closed:
            await self._client.close()
