"""Versions and migration through the service: deploy never moves cases; migration is explicit."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from service import casework, model_migration, processes, timers
from service.errors import InvalidInput
from service.models import AuditEvent, Case, Organisation, TaskRecord, User, WaitingTimer
from workflows import BundleInvalid, clock

from ..service.factories import referral, world
from .helpers import EXTRA_STEP, EXTRA_STEP_END, LONGER_WAIT, NEW_FIRST_STEP, NEW_FIRST_STEP_REFS, mini, variant


@pytest.fixture
def w(sessions):
    with sessions() as session:
        people = world(session)
        v1 = processes.deploy(session, mini(), note="first")
        session.commit()
        ids = {k: v.id for k, v in people.items()}
        ids["v1"] = v1.id
    return ids


def start(sessions, w, upn="B801200005001"):
    with sessions() as session:
        orgs = {k: session.get(Organisation, w[k]) for k in ("school", "provider")}
        case = casework.start_case(session, session.get(User, w["lead"]),
                                   referral(orgs, pupil={"upn": upn}), model_key="mini")
        session.commit()
        return case.id


def open_task(sessions, case_id):
    with sessions() as session:
        return session.scalars(select(TaskRecord).where(TaskRecord.case_id == case_id,
                                                        TaskRecord.state == "open")).one_or_none()


def complete(sessions, w, case_id, who, data):
    task = open_task(sessions, case_id)
    with sessions() as session:
        casework.complete_task(session, session.get(User, w[who]), task.id, data)
        session.commit()


def deploy(sessions, files, note="v"):
    with sessions() as session:
        version = processes.deploy(session, files, note=note)
        session.commit()
        return version.id


def case(sessions, case_id):
    with sessions() as session:
        c = session.get(Case, case_id)
        return c.model_version_id, c.status, c.next_timer_at


def test_invalid_edit_is_refused_with_element_ids(sessions, w):
    bad = variant(LONGER_WAIT, ('"P2D"', 'P2D'),
                  ('<spiffworkflow:property name="form" value="decide.json" />',
                   '<spiffworkflow:property name="form" value="missing.json" />'))
    with sessions() as session, pytest.raises(BundleInvalid) as refused:
        processes.deploy(session, bad)
    ids = {p.element_id for p in refused.value.problems}
    assert {"wait_a_day", "decide"} <= ids


def test_deploy_v2_leaves_running_cases_on_v1_and_each_completes(app, sessions, w):
    clock.set(clock.now().replace(year=2027, month=1, day=11, hour=9, minute=0))
    old_case = start(sessions, w)
    v2 = deploy(sessions, variant(EXTRA_STEP, EXTRA_STEP_END), "log the outcome")
    assert case(sessions, old_case)[0] == w["v1"]
    new_case = start(sessions, w, upn="Q801200005002")
    assert case(sessions, new_case)[0] == v2
    for cid in (old_case, new_case):
        complete(sessions, w, cid, "lead", {"parent_views": "happy"})
    clock.travel(timedelta(days=2))
    assert timers.run_due_timers(app) == 2
    for cid in (old_case, new_case):
        complete(sessions, w, cid, "head", {"decision": "approve"})
    with sessions() as session:
        old, new = session.get(Case, old_case), session.get(Case, new_case)
        assert (old.status, new.status) == ("closed", "closed")
        assert "logged" not in old.data and new.data["logged"] is True
        assert old.model_version_id == w["v1"]
    with sessions() as session:
        counts = model_migration.running_counts(session)
    assert counts == {}


def test_preview_and_migrate_keep_the_waiting_timer_due(app, sessions, w):
    clock.set(clock.now().replace(year=2027, month=1, day=11, hour=9, minute=0))
    case_id = start(sessions, w)
    complete(sessions, w, case_id, "lead", {"parent_views": "happy"})
    _, _, due = case(sessions, case_id)
    assert due is not None
    clock.travel(timedelta(hours=6))
    v2 = deploy(sessions, variant(LONGER_WAIT, EXTRA_STEP, EXTRA_STEP_END))
    with sessions() as session:
        p = model_migration.preview_case(session, case_id, v2)
    assert p.safe and "wait_a_day" in p.active
    assert [e for e, _ in p.timers] == ["wait_a_day"]
    with sessions() as session:
        model_migration.migrate_case(session, None, case_id, v2)
        session.commit()
    version_id, status, due_after = case(sessions, case_id)
    assert version_id == v2 and status == "open" and due_after == due
    with sessions() as session:
        [row] = session.scalars(select(WaitingTimer).where(WaitingTimer.case_id == case_id))
        assert row.due_at.replace(tzinfo=None) == due.replace(tzinfo=None)
        event = session.scalars(select(AuditEvent).where(AuditEvent.type == "case_migrated")).one()
        assert event.case_id == case_id and event.detail["to_version"] == 2
    clock.set(due + timedelta(minutes=1))
    assert timers.run_due_timers(app) == 1
    complete(sessions, w, case_id, "head", {"decision": "approve"})
    with sessions() as session:
        c = session.get(Case, case_id)
        assert c.status == "closed" and c.data["logged"] is True


def test_refused_when_the_completed_path_changed(sessions, w):
    case_id = start(sessions, w)
    complete(sessions, w, case_id, "lead", {"parent_views": "happy"})
    v2 = deploy(sessions, variant(NEW_FIRST_STEP, *NEW_FIRST_STEP_REFS))
    with sessions() as session:
        p = model_migration.preview_case(session, case_id, v2)
    assert not p.safe and "consult" in p.reason
    with sessions() as session, pytest.raises(InvalidInput):
        model_migration.migrate_case(session, None, case_id, v2)
    results = model_migration.migrate_many(app_sessions := sessions, w["owner"], [case_id], v2)
    assert results[case_id] and "consult" in results[case_id]
    assert case(app_sessions, case_id)[0] == w["v1"]
    with sessions() as session:
        assert session.scalars(select(AuditEvent).where(AuditEvent.type == "case_migration_refused")).all()
