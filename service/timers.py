"""Firing due timers: claim due cases, fire each in its own transaction, record failures.

The claim is on `cases.next_timer_at` (the earliest of the case's waiting timers, indexed), with
`FOR UPDATE SKIP LOCKED` on PostgreSQL so several schedulers share the work without firing a case
twice. Locking the case row (not the timer rows) first avoids a deadlock with the projection
rewrite, which deletes the case's timer rows in the same transaction. On SQLite every write
transaction starts with BEGIN IMMEDIATE, so claims are serialised by the database lock.

Each case fires through `casework.fire_timers` (the same lock-load-step-save-project path as a
task completion); its effects (new tasks, notifications, queued emails, audit) commit together
with the new state, so a crash mid-fire loses nothing and repeats nothing: the transaction rolls
back and the case is still due.

A case that fails is retried with backoff (1, 2, 4, 8 minutes); after MAX_ATTEMPTS it is parked
(`next_timer_at = NULL`) and a `timer_incidents` row is opened for the admin page, where
`retry_incident` puts it back in the queue. A failing case never blocks the others.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask import Flask
from sqlalchemy import select, update
from sqlalchemy.orm import Session, lazyload

from workflows import clock

from . import audit, casework
from .errors import NotFound
from .models import Case, TimerIncident, User, WaitingTimer

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5


class TimerStuck(Exception):
    """A case whose projection says a timer is due but whose engine fired nothing."""


def backoff(attempts: int, cap: timedelta | None = None) -> timedelta:
    """1, 2, 4, 8 ... minutes between retries (optionally capped)."""
    delay = timedelta(minutes=2 ** min(max(0, attempts - 1), 20))
    return min(delay, cap) if cap is not None else delay


def run_due_timers(app: Flask, now: datetime | None = None, limit: int | None = None) -> int:
    """Fire every case whose timers are due; returns how many timers fired.

    One short transaction per case: claim (skip locked), fire, save, commit. Cost is proportional
    to the number of due cases: nothing else is read.
    """
    sessions = app.extensions["placements.sessions"]
    fired_total, handled = 0, 0
    while limit is None or handled < limit:
        moment = now or clock.now()
        with sessions() as session:
            case = _claim(session, moment)
            if case is None:
                session.rollback()
                break
            case_id = case.id
            handled += 1
            try:
                with app.app_context():
                    # `case` (held here, so the identity map keeps it) is the row fire_timers
                    # locks and refreshes: no second read after the fire.
                    fired = casework.fire_timers(session, case_id)
                    if case.status != "open":
                        case.next_timer_at = None  # closed elsewhere: never claim it again
                    if (not fired and case.status == "open" and case.next_timer_at is not None
                            and case.next_timer_at < moment):
                        raise TimerStuck(f"a timer was due at {case.next_timer_at.isoformat()} "
                                         "but the process did not fire it")
                    _resolve(session, case_id, "fired")
                session.commit()
                fired_total += fired
            except Exception as error:  # one failing case never blocks the others
                session.rollback()
                log.exception("timer on case %s failed", case_id)
                _record_failure(sessions, case_id, error, moment)
    return fired_total


def _claim(session: Session, moment: datetime) -> Case | None:
    """The earliest due case (its row, locked: SKIP LOCKED on PostgreSQL; SQLite's BEGIN
    IMMEDIATE holds the write lock). The deferred state is left for fire_timers' own lock."""
    # Strictly before, as the engine compares (`due < now`): a timer is due the instant after.
    # No `status = 'open'` here: a closed case has no next timer (casework._project_timers), and
    # that filter makes SQLite pick the status index and sort every open case.
    stmt = (select(Case).where(Case.next_timer_at < moment).options(lazyload(Case.pupil))  # cases only
            .order_by(Case.next_timer_at).limit(1).execution_options(populate_existing=True))
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(of=Case, skip_locked=True)
    return session.scalar(stmt)


def _resolve(session: Session, case_id: int, resolution: str, actor_id: int | None = None) -> None:
    session.execute(update(TimerIncident)
                    .where(TimerIncident.case_id == case_id, TimerIncident.resolved_at.is_(None))
                    .values(resolved_at=clock.now(), resolution=resolution, resolved_by_id=actor_id))


def _record_failure(sessions, case_id: int, error: Exception, moment: datetime) -> None:
    message = f"{type(error).__name__}: {error}"[:2000]
    with sessions() as session:
        case = casework.lock_case(session, case_id)
        if case.status != "open" or case.next_timer_at is None or case.next_timer_at >= moment:
            session.rollback()  # someone else already recorded this failure, or the case moved on
            return
        timers = list(session.scalars(select(WaitingTimer).where(WaitingTimer.case_id == case_id)))
        attempts = max((t.attempts for t in timers), default=0) + 1
        for timer in timers:
            timer.attempts = attempts
            timer.last_error = message
        if attempts >= MAX_ATTEMPTS:
            # Park the case: no more automatic retries; an admin sees it and retries it.
            case.next_timer_at = None
            session.add(TimerIncident(case_id=case_id, attempts=attempts, last_error=message,
                                      element_ids=",".join(sorted({t.element_id for t in timers}))[:1000],
                                      opened_at=clock.now()))
            audit.record(session, "timer_incident", case_id=case_id, attempts=attempts, error=message)
            log.error("case %s parked after %d failed timer attempts", case_id, attempts)
        else:
            case.next_timer_at = clock.now() + backoff(attempts)
            audit.record(session, "timer_failed", case_id=case_id, attempts=attempts, error=message)
        session.commit()


def next_due(app: Flask) -> datetime | None:
    sessions = app.extensions["placements.sessions"]
    with sessions() as session:
        return session.scalar(select(Case.next_timer_at).where(Case.next_timer_at.is_not(None))
                              .order_by(Case.next_timer_at).limit(1))


# ---------------------------------------------------------------- incidents (the admin page)

def list_incidents(session: Session, include_resolved: bool = False, limit: int = 200) -> list[TimerIncident]:
    """Open incidents (newest first), each with `.case` loaded; resolved ones too if asked."""
    stmt = select(TimerIncident).order_by(TimerIncident.opened_at.desc(), TimerIncident.id.desc()).limit(limit)
    if not include_resolved:
        stmt = stmt.where(TimerIncident.resolved_at.is_(None))
    return list(session.scalars(stmt))


def retry_incident(session: Session, case_id: int, actor: User | None = None) -> Case:
    """Put a parked case back in the queue now; the caller commits (the scheduler then wakes)."""
    case = casework.lock_case(session, case_id)
    open_incidents = list(session.scalars(select(TimerIncident).where(
        TimerIncident.case_id == case_id, TimerIncident.resolved_at.is_(None))))
    if not open_incidents:
        raise NotFound("This case has no open timer incident")
    timers = list(session.scalars(select(WaitingTimer).where(WaitingTimer.case_id == case_id)))
    for timer in timers:
        timer.attempts = 0
        timer.last_error = None
    due = min((t.due_at for t in timers), default=None)
    case.next_timer_at = due if case.status == "open" else None  # already past: claimed at once
    _resolve(session, case_id, "retried", actor.id if actor is not None else None)
    audit.record(session, "timer_incident_retried", case_id=case_id,
                 actor_id=actor.id if actor is not None else None)
    return case
