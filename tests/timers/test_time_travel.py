"""Timers with time travel, on SQLite and PostgreSQL: reminders, escalations, cycles, extensions,
an outage, incidents, and task due dates in school days."""
from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import select

from service import casework, timers
from service.models import AuditEvent, Case, Notification, OutboxEmail, TaskRecord, TimerIncident
from service.scheduler import TimerScheduler
from workflows import clock

from .helpers import complete, count, fired_events, notes, setup_world, start_case, timers_of

MONDAY = datetime(2027, 1, 4, 9, 0, tzinfo=timezone.utc)  # proposed_start 2027-01-11 → review 2027-02-01


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


@pytest.fixture
def w(sessions):
    clock.set(MONDAY)
    return setup_world(sessions, "reviews", "extend", "mini", "wait")


def test_review_reminder_fires_seven_days_before_and_not_before(app, sessions, w):
    case_id = start_case(sessions, w, "timer_reviews")
    due = {t.element_id: t.due_at for t in timers_of(sessions, case_id)}
    assert due["remind_before"] == utc(2027, 1, 25, 9, 0)  # 09:00 London, 7 days before 1 Feb
    clock.set(utc(2027, 1, 25, 8, 59))
    timers.run_due_timers(app)
    assert notes(sessions, "Review in 7 days") == []
    clock.set(utc(2027, 1, 25, 9, 0))
    timers.run_due_timers(app)
    assert notes(sessions, "Review in 7 days") == []  # due means strictly after the instant
    clock.set(utc(2027, 1, 25, 9, 0, 1))
    timers.run_due_timers(app)
    clock.travel(timedelta(hours=6))
    timers.run_due_timers(app)
    [note] = notes(sessions, "Review in 7 days")
    assert (note.user_id, note.case_id, note.body) == (w["lead"], case_id, "The placement review is on 2027-02-01")
    assert [t.element_id for t in timers_of(sessions, case_id)] == ["overdue"]


def test_overdue_escalation_fires_once_even_with_concurrent_runs(app, sessions, w):
    case_id = start_case(sessions, w, "timer_reviews")
    clock.set(utc(2027, 2, 3, 9, 0, 1))
    barrier = threading.Barrier(3)
    results = []

    def run():
        barrier.wait()
        results.append(timers.run_due_timers(app))

    threads = [threading.Thread(target=run) for _ in range(3)]
    [t.start() for t in threads]
    [t.join(60) for t in threads]
    clock.travel(timedelta(days=30))
    results.append(timers.run_due_timers(app))
    escalations = notes(sessions, "Escalation")
    assert [(n.user_id, n.kind) for n in escalations] == [(w["head"], "escalation")]
    # all missed timers of the case fired once, in one run: 3 nudges + the reminder + the escalation
    assert sorted(results)[:3] == [0, 0, 0] and max(results) > 0 and timers_of(sessions, case_id) == []
    assert len(notes(sessions, "Nudge")) == 3 and len(notes(sessions, "Review in 7 days")) == 1
    assert count(sessions, AuditEvent, AuditEvent.type == "timers_fired") == 1


def test_cycle_fires_exactly_its_count(app, sessions, w):
    case_id = start_case(sessions, w, "timer_reviews")
    per_day = []
    clock.travel(timedelta(minutes=1))  # a timer is due the instant after its time
    for day in range(6):
        clock.travel(timedelta(days=1))
        per_day.append(timers.run_due_timers(app))
    assert per_day == [1, 1, 1, 0, 0, 0]
    nudges = notes(sessions, "Nudge", case_id)
    assert len(nudges) == 3 and {n.user_id for n in nudges} == {w["la_officer"]}
    assert [t.element_id for t in timers_of(sessions, case_id)] == ["remind_before", "overdue"]


def test_extend_moves_the_pending_timer(app, sessions, w):
    case_id = start_case(sessions, w, "timer_extend")
    [timer] = timers_of(sessions, case_id)
    assert timer.due_at == utc(2027, 3, 26, 9, 0)
    clock.set(utc(2027, 3, 1, 12, 0))
    complete(sessions, w, case_id, "la_officer", {"action": "extend", "new_end": "2027-04-16"})
    [timer] = timers_of(sessions, case_id)
    assert timer.due_at == utc(2027, 4, 16, 8, 0)  # 09:00 British Summer Time
    with sessions() as session:
        case = session.get(Case, case_id)
        assert case.next_timer_at == timer.due_at and str(case.end_date) == "2027-04-16"
    clock.set(utc(2027, 3, 27, 12, 0))
    assert timers.run_due_timers(app) == 0 and notes(sessions, "Placement ended") == []
    clock.set(utc(2027, 4, 16, 8, 0, 1))
    assert timers.run_due_timers(app) == 1
    assert timers.run_due_timers(app) == 0
    assert [n.user_id for n in notes(sessions, "Placement ended")] == [w["la_officer"]]
    with sessions() as session:
        assert session.get(Case, case_id).status == "closed"


def test_outage_of_three_days_fires_missed_timers_once_at_start_in_due_order(app, sessions, w):
    # Cases created in one order, due in another: each waits an hour after it starts.
    offsets = [5, 1, 4, 2, 3]
    started = {}
    for hours in offsets:
        clock.set(MONDAY + timedelta(hours=hours))
        started[start_case(sessions, w, "timer_wait")] = hours
    clock.set(MONDAY)
    review_case = start_case(sessions, w, "timer_reviews")  # three daily nudges missed
    due_order = sorted(started, key=started.get)
    # Nothing runs for three days.
    clock.reset()
    clock.travel(MONDAY + timedelta(days=3, hours=6))
    scheduler = TimerScheduler(app, BackgroundScheduler(timezone="UTC"), poll_seconds=60, mail_seconds=600)
    scheduler.start()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and count(sessions, Notification) < 5 + 3:
            time.sleep(0.05)
        time.sleep(0.3)
    finally:
        scheduler.stop()
    assert scheduler.ticks >= 1
    events = fired_events(sessions)
    wait_events = [e.case_id for e in events if e.case_id in started]
    assert wait_events == due_order  # in due order, each once
    assert len(notes(sessions, "Nudge", review_case)) == 3
    assert len([e for e in events if e.case_id == review_case]) == 1  # one transaction caught up
    assert count(sessions, Notification, Notification.subject.startswith("Reminder")) == 5
    assert count(sessions, TaskRecord, TaskRecord.element_id == "check", TaskRecord.state == "open") == 5


def test_scheduler_wakes_at_due_time_within_a_second_in_real_time(app, sessions, w):
    clock.reset()
    clock.travel(MONDAY)  # travelled, not frozen: the clock runs
    case_id = start_case(sessions, w, "timer_wait")
    [timer] = timers_of(sessions, case_id)
    scheduler = TimerScheduler(app, BackgroundScheduler(timezone="UTC"), poll_seconds=600, mail_seconds=600)
    app.extensions["placements.scheduler"] = scheduler
    try:
        clock.travel(timer.due_at - timedelta(seconds=1.5))
        scheduler.start()
        time.sleep(0.3)
        assert fired_events(sessions) == []
        assert abs((scheduler.armed_at - timer.due_at).total_seconds()) < 0.01
        # A save in between stores an earlier timer: the commit hook moves the wake-up.
        other = start_case(sessions, w, "timer_extend", proposed_end=(clock.now() + timedelta(days=40)).date().isoformat())
        assert other and abs((scheduler.armed_at - timer.due_at).total_seconds()) < 0.01
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not fired_events(sessions):
            time.sleep(0.02)
    finally:
        scheduler.stop()
        app.extensions.pop("placements.scheduler", None)
    [event] = fired_events(sessions)
    delay = (event.at - timer.due_at).total_seconds()
    assert 0 < delay < 1.0, delay


@pytest.mark.parametrize("in_process", [True, False], ids=["commit hook", "another process"])
def test_a_save_storing_an_earlier_timer_wakes_the_scheduler(app, sessions, w, in_process):
    # In process, the commit hook moves the wake-up at once. Not registered with this app (as with
    # `placements scheduler` beside the web app), the scheduler hears of the save through the
    # database (PostgreSQL: LISTEN/NOTIFY; SQLite: its one-second watch), not the 10-minute poll.
    clock.reset()
    clock.travel(utc(2027, 1, 10, 9, 0) - timedelta(seconds=3))  # 3 s before 09:00 on 10 Jan
    scheduler = TimerScheduler(app, BackgroundScheduler(timezone="UTC"), poll_seconds=600, mail_seconds=600)
    if in_process:
        app.extensions["placements.scheduler"] = scheduler
    try:
        scheduler.start()
        time.sleep(0.3)
        assert scheduler.armed_at > clock.now() + timedelta(seconds=500)  # only the safety poll
        case_id = start_case(sessions, w, "timer_extend", proposed_start="2027-01-05", proposed_end="2027-01-10")
        [timer] = timers_of(sessions, case_id)
        assert timer.due_at == utc(2027, 1, 10, 9, 0)
        if in_process:
            assert scheduler.armed_at == timer.due_at
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline and not fired_events(sessions):
            time.sleep(0.02)
    finally:
        scheduler.stop()
        app.extensions.pop("placements.scheduler", None)
    [event] = fired_events(sessions)
    assert 0 < (event.at - timer.due_at).total_seconds() < 1.0


def test_failing_case_backs_off_becomes_an_incident_and_never_blocks_others(app, sessions, w, monkeypatch):
    bad = start_case(sessions, w, "timer_wait")
    good = [start_case(sessions, w, "timer_wait") for _ in range(2)]
    real_fire = casework.fire_timers

    def flaky(session, case_id):
        if case_id == bad:
            raise RuntimeError("engine exploded")
        return real_fire(session, case_id)

    monkeypatch.setattr(casework, "fire_timers", flaky)
    clock.travel(timedelta(hours=1, seconds=1))
    assert timers.run_due_timers(app) == 2  # the good ones fire despite the bad one
    waits = []
    for attempt in range(2, timers.MAX_ATTEMPTS + 1):
        with sessions() as session:
            case = session.get(Case, bad)
            assert case.next_timer_at is not None and case.next_timer_at > clock.now()
            waits.append(round((case.next_timer_at - clock.now()).total_seconds() / 60))
        assert timers.run_due_timers(app) == 0  # not yet: backing off
        clock.set(case.next_timer_at + timedelta(seconds=1))
        timers.run_due_timers(app)
    assert waits == [1, 2, 4, 8]
    with sessions() as session:
        assert session.get(Case, bad).next_timer_at is None  # parked
        [incident] = timers.list_incidents(session)
        assert (incident.case_id, incident.attempts, incident.element_ids) == (bad, 5, "wait_an_hour")
        assert "engine exploded" in incident.last_error and incident.case.reference.startswith("AP-")
    clock.travel(timedelta(days=1))
    assert timers.run_due_timers(app) == 0  # parked cases are not retried automatically
    monkeypatch.setattr(casework, "fire_timers", real_fire)
    with sessions() as session:
        from service.models import User
        timers.retry_incident(session, bad, session.get(User, w["owner"]))
        session.commit()
    assert timers.run_due_timers(app) == 1
    with sessions() as session:
        assert timers.list_incidents(session) == []
        [resolved] = timers.list_incidents(session, include_resolved=True)
        assert (resolved.resolution, resolved.resolved_by_id) == ("retried", w["owner"])
    assert count(sessions, AuditEvent, AuditEvent.type == "timer_failed") == 4
    assert count(sessions, AuditEvent, AuditEvent.type == "timer_incident") == 1
    assert count(sessions, Notification) == 3


def test_stuck_timer_is_recorded_not_looped(app, sessions, w, monkeypatch):
    from workflows import Instance
    case_id = start_case(sessions, w, "timer_wait")
    monkeypatch.setattr(Instance, "fire_timers", lambda self: 0)  # due on paper, engine fires nothing
    clock.travel(timedelta(hours=2))
    assert timers.run_due_timers(app) == 0
    with sessions() as session:
        assert session.get(Case, case_id).next_timer_at > clock.now()
        [event] = session.scalars(select(AuditEvent).where(AuditEvent.type == "timer_failed")).all()
        assert "TimerStuck" in event.detail["error"]


def test_retry_incident_needs_an_open_incident(app, sessions, w):
    from service.errors import NotFound
    case_id = start_case(sessions, w, "timer_wait")
    with sessions() as session:
        with pytest.raises(NotFound):
            timers.retry_incident(session, case_id)


# ------------------------------------------------------------------ task due dates (school days)

def _consult_due(sessions, w, when: datetime) -> datetime:
    clock.set(when)
    case_id = start_case(sessions, w, "mini")
    with sessions() as session:
        [task] = session.scalars(select(TaskRecord).where(TaskRecord.case_id == case_id)).all()
        return task.due_at


def test_due_school_days_skip_christmas_boxing_day_substitute_and_new_year(sessions, w):
    # Thu 24 Dec 2026 + 5 school days: not 25 Dec, 26-27 (weekend), 28 Dec (Boxing Day
    # substitute), 1 Jan, 2-3 Jan → 29, 30, 31 Dec, 4 Jan, 5 Jan.
    assert _consult_due(sessions, w, utc(2026, 12, 24, 10, 0)) == utc(2027, 1, 5, 17, 0)


def test_due_school_days_skip_a_weekend(sessions, w):
    assert _consult_due(sessions, w, utc(2027, 1, 8, 10, 0)) == utc(2027, 1, 15, 17, 0)  # Fri → Fri
    # Thu 25 Mar 2027: Good Friday and Easter Monday skipped; due 17:00 British Summer Time
    assert _consult_due(sessions, w, utc(2027, 3, 25, 10, 0)) == utc(2027, 4, 5, 16, 0)


def test_due_and_overdue_are_queryable_from_the_projection(sessions, w):
    due = _consult_due(sessions, w, utc(2027, 1, 8, 10, 0))
    clock.set(due + timedelta(minutes=1))
    with sessions() as session:
        overdue = session.scalars(select(TaskRecord).where(TaskRecord.state == "open",
                                                           TaskRecord.due_at < clock.now())).all()
        assert [t.element_id for t in overdue] == ["consult"]


def test_notifications_go_to_the_assignee_when_the_task_is_assigned(app, sessions, w):
    from tests.service.factories import user
    from service.models import Organisation, User
    with sessions() as session:
        second = user(session, session.get(Organisation, w["school"]), "school_ap_lead")
        session.commit()
        second_id = second.id
    case_id = start_case(sessions, w, "timer_reviews")
    clock.set(utc(2027, 1, 20, 9, 0))
    timers.run_due_timers(app)  # nudges go to the LA; the review task is unassigned
    with sessions() as session:
        [task] = session.scalars(select(TaskRecord).where(TaskRecord.case_id == case_id,
                                                          TaskRecord.state == "open")).all()
        casework.claim(session, session.get(User, second_id), task.id)
        session.commit()
    clock.set(utc(2027, 1, 25, 9, 1))
    timers.run_due_timers(app)
    assert [n.user_id for n in notes(sessions, "Review in 7 days")] == [second_id]
    [email] = [e for e in _emails(sessions) if e.subject.startswith("Review in 7 days")]
    assert "Sam" not in email.body + email.subject and f"/cases/{case_id}" in email.body


def _emails(sessions):
    with sessions() as session:
        return list(session.scalars(select(OutboxEmail).order_by(OutboxEmail.id)))


def test_a_pupil_name_in_a_notification_never_reaches_an_email(app, sessions, w):
    from service.notify import deliver_notifications
    from workflows.views import Notification as Note
    case_id = start_case(sessions, w, "timer_wait")
    with sessions() as session:
        case = session.get(Case, case_id)
        deliver_notifications(session, case, [Note("school_ap_lead", "Sam Taylor missed school", "Call Sam", "x")])
        session.commit()
    [email] = _emails(sessions)
    assert "Sam" not in email.subject + email.body and "Taylor" not in email.subject + email.body
    assert count(sessions, TimerIncident) == 0


def test_a_case_closed_elsewhere_with_a_stale_next_timer_is_dropped_not_looped(app, sessions, w):
    case_id = start_case(sessions, w, "timer_wait")
    with sessions() as session:
        session.get(Case, case_id).status = "withdrawn"  # next_timer_at left behind
        session.commit()
    clock.travel(timedelta(hours=2))
    assert timers.run_due_timers(app) == 0
    with sessions() as session:
        assert session.get(Case, case_id).next_timer_at is None
    assert notes(sessions) == []
