"""The change-event admin API: page through the outbox, see what was dead-lettered.

Bodies are the stored CloudEvents, framed without being parsed again. A cursor (`after`) is
an event's position: positions only grow, and an event is positioned once its transaction is
visible, so paging by `next-after` never skips one (`catalog.store.outbox`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from catalog.api.responses import json_bytes
from catalog.api.security import authorize
from catalog.integers import LONG_MAX
from catalog.service.rendering import dumps
from catalog.store.outbox import Outbox

router = APIRouter(prefix="/admin/v1", tags=["Events API"], dependencies=[Depends(authorize)])

After = Annotated[
    int,
    Query(ge=0, le=LONG_MAX, description="A cursor: only events positioned after it (0: all)."),
]
Limit = Annotated[int, Query(ge=1, le=1000)]


async def get_outbox(request: Request) -> Outbox:
    outbox: Outbox = request.app.state.outbox
    return outbox


OutboxDep = Annotated[Outbox, Depends(get_outbox)]


@router.get("/events", operation_id="listEvents")
async def list_events(outbox: OutboxDep, after: After = 0, limit: Limit = 100) -> Response:
    """Events oldest first; poll again with `after` = `next-after`."""
    events = await run_in_threadpool(outbox.page, after, limit)
    following = events[-1].position if events else after
    body = b",".join(event.body.encode("utf-8") for event in events)
    return json_bytes(b'{"events":[' + body + b'],"next-after":' + dumps(following) + b"}")


@router.get("/events/dead-letters", operation_id="listDeadLetters")
async def list_dead_letters(
    outbox: OutboxDep,
    sink: Annotated[str | None, Query(max_length=64)] = None,
    after: After = 0,
    limit: Limit = 100,
) -> Response:
    """Events a sink gave up on after its attempts, with the last error, oldest first."""
    dead = await run_in_threadpool(outbox.dead, sink, after, limit)
    items = [
        b'{"sink":'
        + dumps(d.sink)
        + b',"position":'
        + dumps(d.position)
        + b',"attempts":'
        + dumps(d.attempts)
        + b',"last-error":'
        + dumps(d.last_error)
        + b',"event":'
        + d.body.encode("utf-8")
        + b"}"
        for d in dead
    ]
    following = dead[-1].position if dead else after
    return json_bytes(
        b'{"dead-letters":[' + b",".join(items) + b'],"next-after":' + dumps(following) + b"}"
    )
