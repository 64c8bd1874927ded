"""Firing due timers: claim due cases, fire each in its own transaction, record failures.

The claim is on `cases.next_timer_at` (the earliest of the case's waiting timers, indexed), with
`FOR UPDATE SKIP LOCKED` on PostgreSQL so several schedulers share the work without firing a case
twice. Locking the case row (not the timer rows) first avoids a deadlock with the projection
rewrite, which deletes the case's timer rows in the same transaction.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask import Flask
from sqlalchemy import select

from workflows import clock

from . import casework
from .models import Case, WaitingTimer

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5


def backoff(attempts: int) -> timedelta:
    """1, 2, 4, 8 ... minutes between retries of a failing timer."""
    return timedelta(minutes=2 ** max(0, attempts - 1))


def run_due_timers(app: Flask, now: datetime | None = None, limit: int | None = None) -> int:
    """Fire every case whose timers are due; returns how many timers fired."""
    sessions = app.extensions["placements.sessions"]
    fired_total, handled = 0, 0
    while limit is None or handled < limit:
        moment = now or clock.now()
        with sessions() as session:
            stmt = (select(Case.id).where(Case.next_timer_at <= moment, Case.status == "open")
                    .order_by(Case.next_timer_at).limit(1))
            if session.get_bind().dialect.name == "postgresql":
                stmt = stmt.with_for_update(skip_locked=True)
            case_id = session.scalar(stmt)
            if case_id is None:
                session.rollback()
                break
            handled += 1
            try:
                with app.app_context():
                    fired_total += casework.fire_timers(session, case_id)
                session.commit()
            except Exception as error:  # one failing case never blocks the others
                session.rollback()
                log.exception("timer on case %s failed", case_id)
                _record_failure(sessions, case_id, error)
    return fired_total


def _record_failure(sessions, case_id: int, error: Exception) -> None:
    with sessions() as session:
        case = session.get(Case, case_id)
        timers = list(session.scalars(select(WaitingTimer).where(WaitingTimer.case_id == case_id)))
        attempts = max((t.attempts for t in timers), default=0) + 1
        for timer in timers:
            timer.attempts = attempts
            timer.last_error = f"{type(error).__name__}: {error}"[:2000]
        # Park the case: retry later with backoff, or stop retrying after MAX_ATTEMPTS (an incident).
        case.next_timer_at = None if attempts >= MAX_ATTEMPTS else clock.now() + backoff(attempts)
        session.commit()


def next_due(app: Flask) -> datetime | None:
    sessions = app.extensions["placements.sessions"]
    with sessions() as session:
        return session.scalar(select(Case.next_timer_at).where(Case.status == "open",
                                                               Case.next_timer_at.is_not(None))
                              .order_by(Case.next_timer_at).limit(1))
