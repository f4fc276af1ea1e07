"""The outbox's other side: positions, pages for pollers, and each sink's delivery queue.

Events are inserted by the change's own transaction (`SqlTransaction.write_events`) with an
id taken at insert time. On PostgreSQL a transaction that took id 7 may commit after one that
took id 8, so ids cannot be a cursor. `stamp` gives the events visible now a `position` in id
order, after everything stamped before; run by one process at a time (the dispatcher's
lease), it makes positions a cursor that never skips a late commit. Within one table, id
order already is commit order: every change locks the table's row before its event is
inserted.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, cast

from sqlalchemy import Engine, Select, Table, bindparam, delete, func, insert, select, update
from sqlalchemy.orm import Session, aliased, sessionmaker

from catalog.store.database import WRITE_OPTIONS
from catalog.store.models import ChangeEventRow, EventDelivery

DeliveryState = Literal["pending", "delivered", "dead"]
# Core tables for the executemany UPDATEs (the ORM's bulk update wants whole primary keys).
_EVENTS = cast(Table, ChangeEventRow.__table__)
_DELIVERIES = cast(Table, EventDelivery.__table__)


@dataclass(frozen=True)
class StoredEvent:
    position: int
    stream: str
    body: str  # the CloudEvent, structured JSON, exactly as it is sent


@dataclass(frozen=True)
class Delivery:
    sink: str
    event: int  # the outbox row's id
    position: int
    stream: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    body: str


@dataclass(frozen=True)
class Outcome:
    """What one delivery attempt ended with."""

    sink: str
    event: int
    state: DeliveryState
    attempts: int
    next_attempt_at: datetime
    error: str | None = None


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _deliveries() -> Select[*tuple[Any, ...]]:
    return select(
        EventDelivery.sink,
        EventDelivery.event,
        EventDelivery.position,
        EventDelivery.stream,
        EventDelivery.attempts,
        EventDelivery.next_attempt_at,
        EventDelivery.last_error,
        ChangeEventRow.body,
    ).join(ChangeEventRow, ChangeEventRow.id == EventDelivery.event)


class Outbox:
    def __init__(self, engine: Engine) -> None:
        self._reader = sessionmaker(engine)
        self._writer = sessionmaker(engine.execution_options(**WRITE_OPTIONS))

    def _read(self) -> Session:
        return self._reader()

    # positions --------------------------------------------------------------------------
    def stamp(self, sinks: Sequence[str], now: datetime, batch: int = 1000) -> int:
        """Position the events committed since the last call, and queue them for `sinks`."""
        with self._read() as session:
            waiting = select(ChangeEventRow.id).where(ChangeEventRow.position.is_(None))
            if session.scalar(waiting.limit(1)) is None:
                return 0
        with self._writer() as session, session.begin():
            rows = session.execute(
                select(ChangeEventRow.id, ChangeEventRow.stream)
                .where(ChangeEventRow.position.is_(None))
                .order_by(ChangeEventRow.id)
                .limit(batch)
            ).all()
            if not rows:
                return 0
            last = session.scalar(select(func.max(ChangeEventRow.position))) or 0
            stamped = [
                {"row": row.id, "pos": last + n, "stream": row.stream}
                for n, row in enumerate(rows, start=1)
            ]
            session.connection().execute(
                update(_EVENTS)
                .where(_EVENTS.c.id == bindparam("row"))
                .values(position=bindparam("pos")),
                [{"row": s["row"], "pos": s["pos"]} for s in stamped],
            )
            if sinks:
                session.execute(
                    insert(EventDelivery),
                    [
                        {
                            "sink": sink,
                            "event": s["row"],
                            "position": s["pos"],
                            "stream": s["stream"],
                            "state": "pending",
                            "attempts": 0,
                            "next_attempt_at": now,
                        }
                        for s in stamped
                        for sink in sinks
                    ],
                )
            return len(stamped)

    def page(self, after: int, limit: int) -> list[StoredEvent]:
        """Positioned events after the cursor `after`, oldest first."""
        with self._read() as session:
            rows = session.execute(
                select(ChangeEventRow.position, ChangeEventRow.stream, ChangeEventRow.body)
                .where(ChangeEventRow.position > after)
                .order_by(ChangeEventRow.position)
                .limit(limit)
            ).all()
        return [StoredEvent(int(r.position), r.stream, r.body) for r in rows]

    # deliveries -------------------------------------------------------------------------
    def pending(self, sink: str, limit: int, now: datetime) -> list[Delivery]:
        """The oldest pending deliveries of `sink` that may be tried at `now`, in position
        order: none of a stream whose oldest pending event waits for its retry, so a table
        held back by one failing event never keeps the other tables' events out of the batch."""
        waiting = aliased(EventDelivery)
        held_back = (
            select(waiting.event)
            .where(
                waiting.sink == EventDelivery.sink,
                waiting.stream == EventDelivery.stream,
                waiting.state == "pending",
                waiting.position <= EventDelivery.position,
                waiting.next_attempt_at > now,
            )
            .exists()
        )
        query = _deliveries().where(
            EventDelivery.sink == sink, EventDelivery.state == "pending", ~held_back
        )
        return self._fetch(query.order_by(EventDelivery.position).limit(limit))

    def dead(self, sink: str | None, after: int, limit: int) -> list[Delivery]:
        """Dead-lettered deliveries after position `after`, oldest first."""
        query = _deliveries().where(EventDelivery.state == "dead", EventDelivery.position > after)
        if sink is not None:
            query = query.where(EventDelivery.sink == sink)
        return self._fetch(query.order_by(EventDelivery.position, EventDelivery.sink).limit(limit))

    def _fetch(self, query: Select[*tuple[Any, ...]]) -> list[Delivery]:
        with self._read() as session:
            rows = session.execute(query).all()
        return [
            Delivery(
                r.sink,
                r.event,
                r.position,
                r.stream,
                r.attempts,
                _aware(r.next_attempt_at),
                r.last_error,
                r.body,
            )
            for r in rows
        ]

    def record(self, outcomes: Iterable[Outcome]) -> None:
        """The outcomes of a round of attempts, in one transaction."""
        values = [
            {
                "s": o.sink,
                "e": o.event,
                "state": o.state,
                "attempts": o.attempts,
                "next_at": o.next_attempt_at,
                "error": o.error,
            }
            for o in outcomes
        ]
        if not values:
            return
        with self._writer() as session, session.begin():
            session.connection().execute(
                update(_DELIVERIES)
                .where(_DELIVERIES.c.sink == bindparam("s"), _DELIVERIES.c.event == bindparam("e"))
                .values(
                    state=bindparam("state"),
                    attempts=bindparam("attempts"),
                    next_attempt_at=bindparam("next_at"),
                    last_error=bindparam("error"),
                ),
                values,
            )

    # retention --------------------------------------------------------------------------
    def prune(self, recorded_before: datetime, batch: int = 5000) -> int:
        """Forget positioned events recorded before `recorded_before` that no sink still has
        to deliver (delivered or dead-lettered everywhere), oldest first. The newest
        positioned event always stays: `stamp` continues from the highest position."""
        with self._writer() as session, session.begin():
            newest = session.scalar(select(func.max(ChangeEventRow.position)))
            if newest is None:
                return 0
            undelivered = (
                select(EventDelivery.event)
                .where(EventDelivery.event == ChangeEventRow.id, EventDelivery.state == "pending")
                .exists()
            )
            ids = list(
                session.scalars(
                    select(ChangeEventRow.id)
                    .where(
                        ChangeEventRow.position.is_not(None),
                        ChangeEventRow.position < newest,
                        ChangeEventRow.recorded_at < recorded_before,
                        ~undelivered,
                    )
                    .order_by(ChangeEventRow.position)
                    .limit(batch)
                )
            )
            if not ids:
                return 0
            session.execute(delete(EventDelivery).where(EventDelivery.event.in_(ids)))
            session.execute(delete(ChangeEventRow).where(ChangeEventRow.id.in_(ids)))
            return len(ids)
