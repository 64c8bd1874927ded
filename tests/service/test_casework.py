"""The transactional case service: start, complete, refuse, conflict, timers, notifications."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from service import casework, timers
from service.errors import Conflict, InvalidInput, NotAllowed, NotFound
from service.models import AuditEvent, Case, Notification, OutboxEmail, TaskRecord, WaitingTimer
from workflows import clock

from .factories import deploy, referral, world


@pytest.fixture
def w(sessions):
    with sessions() as session:
        people = world(session)
        deploy(session)
        session.commit()
        ids = {k: v.id for k, v in people.items()}
    return ids


def _user(session, user_id):
    from service.models import User
    return session.get(User, user_id)


def _orgs(session, w):
    from service.models import Organisation
    return {k: session.get(Organisation, w[k]) for k in ("school", "provider", "la", "other_provider")}


def start(sessions, w, **overrides):
    with sessions() as session:
        case = casework.start_case(session, _user(session, w["lead"]), referral(_orgs(session, w), **overrides),
                                   model_key="mini")
        session.commit()
        return case.id


def open_tasks(sessions, case_id):
    with sessions() as session:
        return list(session.scalars(select(TaskRecord).where(TaskRecord.case_id == case_id,
                                                             TaskRecord.state == "open")))


def test_start_case_projects_first_task_with_due_date(sessions, w):
    case_id = start(sessions, w)
    tasks = open_tasks(sessions, case_id)
    assert [(t.element_id, t.role) for t in tasks] == [("consult", "school_ap_lead")]
    assert tasks[0].title == "Consult the pupil's parents"
    assert tasks[0].due_at is not None and tasks[0].due_at > clock.now() + timedelta(days=4)
    with sessions() as session:
        case = session.get(Case, case_id)
        assert case.status == "open" and case.data["case_id"] == case_id
        assert case.data["provider"]["registration_status"] == "registered_school"
        assert session.scalar(select(func.count()).select_from(AuditEvent)
                              .where(AuditEvent.case_id == case_id, AuditEvent.type == "case_started")) == 1


def test_invalid_referral_lists_fields(sessions, w):
    with sessions() as session:
        body = referral(_orgs(session, w), pupil={"upn": "B801200005002"}, proposed_end="2026-01-01")
        with pytest.raises(InvalidInput) as raised:
            casework.start_case(session, _user(session, w["lead"]), body, model_key="mini")
    assert set(raised.value.details) == {"pupil.upn", "proposed_end"}


def test_parent_cannot_refer(sessions, w):
    from .factories import user
    with sessions() as session:
        parent = user(session, None, "parent")
        with pytest.raises(NotAllowed, match="talk to your child's school"):
            casework.start_case(session, parent, referral(_orgs(session, w)), model_key="mini")


def test_complete_refuses_wrong_role_other_school_and_invalid_data(sessions, w):
    case_id = start(sessions, w)
    task_id = open_tasks(sessions, case_id)[0].id
    with sessions() as session:
        with pytest.raises(NotAllowed):
            casework.complete_task(session, _user(session, w["head"]), task_id, {"parent_views": "fine"})
    with sessions() as session:
        with pytest.raises(NotFound):
            casework.complete_task(session, _user(session, w["other_lead"]), task_id, {"parent_views": "x"})
    with sessions() as session:
        with pytest.raises(InvalidInput) as raised:
            casework.complete_task(session, _user(session, w["lead"]), task_id, {"parent_views": ""})
        assert "parent_views" in raised.value.details


def test_complete_twice_is_a_conflict(sessions, w):
    case_id = start(sessions, w)
    task_id = open_tasks(sessions, case_id)[0].id
    with sessions() as session:
        casework.complete_task(session, _user(session, w["lead"]), task_id, {"parent_views": "Supportive"})
        session.commit()
    with sessions() as session:
        with pytest.raises(Conflict):
            casework.complete_task(session, _user(session, w["lead"]), task_id, {"parent_views": "Again"})


def test_two_threads_completing_the_same_task_one_wins(sessions, w):
    case_id = start(sessions, w)
    task_id = open_tasks(sessions, case_id)[0].id
    barrier = threading.Barrier(2)
    outcomes = []

    def attempt(text):
        barrier.wait()
        try:
            with sessions() as session:
                casework.complete_task(session, _user(session, w["lead"]), task_id, {"parent_views": text})
                session.commit()
            outcomes.append("ok")
        except Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=attempt, args=(t,)) for t in ("first", "second")]
    [t.start() for t in threads]
    [t.join(30) for t in threads]
    assert sorted(outcomes) == ["conflict", "ok"]
    with sessions() as session:
        completions = session.scalars(select(AuditEvent).where(AuditEvent.case_id == case_id,
                                                               AuditEvent.type == "task_completed")).all()
        assert len(completions) == 1
        case = session.get(Case, case_id)
        assert case.data["parent_views"] == completions[0].detail["data"]["parent_views"]


def test_timer_fires_once_after_due_and_notifies_the_head(app, sessions, w):
    case_id = start(sessions, w)
    task_id = open_tasks(sessions, case_id)[0].id
    with sessions() as session:
        casework.complete_task(session, _user(session, w["lead"]), task_id, {"parent_views": "Supportive"})
        session.commit()
    with sessions() as session:
        timer = session.scalars(select(WaitingTimer).where(WaitingTimer.case_id == case_id)).one()
        assert timedelta(hours=23) < timer.due_at - clock.now() <= timedelta(days=1)
    assert timers.run_due_timers(app) == 0
    assert open_tasks(sessions, case_id) == []
    clock.travel(timedelta(days=1, minutes=1))
    assert timers.run_due_timers(app) == 1
    assert timers.run_due_timers(app) == 0
    tasks = open_tasks(sessions, case_id)
    assert [(t.element_id, t.role) for t in tasks] == [("decide", "head_teacher")]
    with sessions() as session:
        notes = session.scalars(select(Notification)).all()
        assert [(n.user_id, n.subject) for n in notes] == [(w["head"], "A placement decision is waiting")]
        email = session.scalars(select(OutboxEmail)).one()
        assert "Sam" not in email.body and "Taylor" not in email.body and f"/cases/{case_id}" in email.body
        assert session.scalar(select(func.count()).select_from(WaitingTimer)) == 0


def test_decline_closes_case_with_status(sessions, app, w):
    case_id = start(sessions, w)
    consult_id = open_tasks(sessions, case_id)[0].id
    with sessions() as session:
        casework.complete_task(session, _user(session, w["lead"]), consult_id, {"parent_views": "Against it"})
        session.commit()
    clock.travel(timedelta(days=2))
    timers.run_due_timers(app)
    decide_id = open_tasks(sessions, case_id)[0].id
    with sessions() as session:
        casework.complete_task(session, _user(session, w["head"]), decide_id, {"decision": "decline"})
        session.commit()
    with sessions() as session:
        case = session.get(Case, case_id)
        assert case.status == "declined" and case.closed_at is not None and case.stage is None


def test_registration_rule_counts_placed_full_time_pupils_once_and_never_this_one(sessions, w):
    """Pending referrals do not fill a provider; a pupil referred twice counts once; a referral
    never counts its own pupil (the rule adds one)."""
    upns = ["B801200005001", "Q801200005002", "E801200005003"]

    def refer(upn):
        return start(sessions, w, pattern="full_time", sessions_per_week=10, pupil={"upn": upn})

    def pupils_seen_by(case_id):
        with sessions() as session:
            return session.get(Case, case_id).data["provider"]["current_full_time_pupils"]

    first = refer(upns[0])
    assert pupils_seen_by(refer(upns[1])) == 0  # the first is only a referral
    with sessions() as session:
        session.get(Case, first).stage = "Placement active"
        session.commit()
    assert pupils_seen_by(refer(upns[2])) == 1
    assert pupils_seen_by(refer(upns[0])) == 0  # the same child again: not counted against itself
    again = refer(upns[0])
    with sessions() as session:
        session.get(Case, again).stage = "Before the start"
        session.commit()
    assert pupils_seen_by(refer(upns[1])) == 1  # two placements of one child count once
