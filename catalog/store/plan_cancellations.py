"""Data access of cancelled scan plans (`cancelled_plans`), shared by every worker.

The check is one prebuilt Core select by primary key, run in the read transaction the planner
opens anyway to find the table, so a fetch costs no extra round trip. Expired rows are pruned
on each cancellation (through the `expires_at` index): cancellations are rare, and a plan's
tokens are refused after their expiry whether or not its row is still there.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Table, bindparam, delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from catalog.store.models import CancelledPlan

_cancelled: Table = CancelledPlan.__table__  # type: ignore[assignment]

IS_CANCELLED = select(_cancelled.c.plan).where(_cancelled.c.plan == bindparam("plan"))
_PRUNE = delete(_cancelled).where(_cancelled.c.expires_at < bindparam("now"))
_INSERT = insert(_cancelled)


class PlanCancellationQueries:
    """The cancelled plans' share of `SqlTransaction` (one unit of work, one session)."""

    _session: Session

    def plan_cancelled(self, plan: str) -> bool:
        return self._session.execute(IS_CANCELLED, {"plan": plan}).first() is not None

    def cancel_plan(self, plan: str, expires_at: datetime, now: datetime) -> None:
        """Record `plan` as cancelled until `expires_at` (again: nothing changes), and forget
        the cancellations that have expired."""
        self._session.execute(_PRUNE, {"now": now})
        try:
            with self._session.begin_nested():
                self._session.execute(_INSERT, {"plan": plan, "expires_at": expires_at})
        except IntegrityError:
            pass  # cancelled already, by this or another worker
