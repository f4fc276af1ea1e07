"""The dispatcher: one process at a time positions new events and delivers them to sinks.

It runs in a thread of `icefloe serve` (worker 0 with `--workers N`) and holds the
`events-dispatcher` lease (the maintenance scheduler's lease row, `take_lease`), so of
several processes sharing a database exactly one delivers; a crashed holder's lease expires
and another takes over. Delivery is at-least-once: an event is marked delivered after the
sink took it, so a crash between the two sends it again (consumers de-duplicate by id).

Per sink, events of one stream (a table, view or namespace) go out in position order: a
stream whose oldest pending event failed waits for that event's retry (exponential back-off)
while other streams go on. After `max_attempts` the event is dead-lettered (kept, visible in
the admin API) and the stream moves on.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from catalog.events.sinks import DeliveryFailed, Sink
from catalog.service.ports import CatalogStore
from catalog.store.models import utcnow
from catalog.store.outbox import Delivery, DeliveryState, Outbox, Outcome

log = logging.getLogger("icefloe.events")

LEASE_KEY = "events-dispatcher"
BATCH = 200


@dataclass(frozen=True)
class Delivering:
    poll_interval: timedelta = timedelta(milliseconds=500)
    lease_ttl: timedelta = timedelta(seconds=30)
    max_attempts: int = 8
    first_retry: timedelta = timedelta(seconds=1)
    max_retry: timedelta = timedelta(minutes=5)
    #: How long events stay in the outbox once every sink is done with them (None: forever).
    retention: timedelta | None = timedelta(days=30)
    prune_interval: timedelta = timedelta(hours=1)

    def retry_after(self, attempts: int) -> timedelta:
        """Exponential back-off: first_retry, twice that, four times, … up to max_retry."""
        delay: timedelta = self.first_retry * 2 ** (attempts - 1)
        return min(delay, self.max_retry)


class Dispatcher:
    def __init__(
        self, store: CatalogStore, outbox: Outbox, sinks: Sequence[Sink], policy: Delivering
    ) -> None:
        self._store = store
        self._outbox = outbox
        self._sinks = list(sinks)
        self._policy = policy
        self._holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._lease_until: datetime | None = None
        self._pruned_at: datetime | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # lifecycle --------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="events", daemon=True)
        self._thread.start()
        log.info("event=event_dispatcher_started sinks=%s", ",".join(s.name for s in self._sinks))

    def stop(self, timeout: float = 15) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._release()

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        try:
            while not self._stop.is_set():
                busy = False
                try:
                    if self._holds_lease():
                        busy = await self.round()
                except Exception:  # the database was away: try again next round
                    log.exception("event=event_dispatch_failed")
                if not busy:
                    await asyncio.sleep(self._policy.poll_interval.total_seconds())
        finally:
            for sink in self._sinks:
                try:
                    await sink.close()
                except Exception:
                    log.exception("event=event_sink_close_failed sink=%s", sink.name)

    # the lease --------------------------------------------------------------------------
    def _holds_lease(self) -> bool:
        """Take or renew the lease when a third of its lifetime has passed."""
        now = utcnow()
        ttl = self._policy.lease_ttl
        if self._lease_until is not None and now < self._lease_until - ttl * 2 / 3:
            return True
        with self._store.write() as tx:
            taken = tx.take_lease(LEASE_KEY, self._holder, now, now + ttl)
        self._lease_until = now + ttl if taken else None
        return taken

    def _release(self) -> None:
        if self._lease_until is None:
            return
        try:
            with self._store.write() as tx:
                tx.release_lease(LEASE_KEY, self._holder)
        except Exception:
            log.exception("event=event_lease_release_failed")
        self._lease_until = None

    # one round --------------------------------------------------------------------------
    async def round(self) -> bool:
        """Position new events, then one batch per sink; True if there may be more to do now."""
        stamped = self._outbox.stamp([s.name for s in self._sinks], utcnow())
        results = await asyncio.gather(*(self._deliver(sink) for sink in self._sinks))
        self._prune()
        return stamped > 0 or any(results)

    def _prune(self) -> None:
        """Once per `prune_interval`, forget what every sink is done with and the retention
        has passed: the outbox does not grow forever."""
        retention = self._policy.retention
        now = utcnow()
        if retention is None or (
            self._pruned_at is not None and now < self._pruned_at + self._policy.prune_interval
        ):
            return
        self._pruned_at = now
        pruned = self._outbox.prune(now - retention)
        if pruned:
            log.info("event=events_pruned count=%d", pruned)

    async def _deliver(self, sink: Sink) -> bool:
        pending = self._outbox.pending(sink.name, BATCH, utcnow())
        outcomes: list[Outcome] = []
        blocked: set[str] = set()  # streams whose event failed in this round
        sent = 0
        for delivery in pending:
            if self._stop.is_set():
                break
            if delivery.stream in blocked:
                continue
            outcome = await self._attempt(sink, delivery)
            outcomes.append(outcome)
            if outcome.state == "pending":
                blocked.add(delivery.stream)
            else:
                sent += 1
        self._outbox.record(outcomes)
        return sent > 0 and len(pending) == BATCH

    async def _attempt(self, sink: Sink, delivery: Delivery) -> Outcome:
        attempts = delivery.attempts + 1
        now = utcnow()
        try:
            await sink.send(delivery.body)
        except DeliveryFailed as error:
            state: DeliveryState = "dead" if attempts >= self._policy.max_attempts else "pending"
            log.warning(
                "event=event_delivery_failed sink=%s position=%d attempt=%d state=%s error=%s",
                sink.name,
                delivery.position,
                attempts,
                state,
                error,
            )
            retry_at = now + self._policy.retry_after(attempts)
            return Outcome(sink.name, delivery.event, state, attempts, retry_at, str(error)[:1000])
        return Outcome(sink.name, delivery.event, "delivered", attempts, now)
