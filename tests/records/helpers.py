"""Builders for the placement-records tests: a world, the lifecycle model, a case driven to
'Placement active' through the deployed model, and registers."""
from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select

from service import casework, processes
from service.models import AttendanceRecord, Case, Organisation, TaskRecord, User
from service.notify import people_in_role
from tests.lifecycle.helpers import FORM_DATA
from tests.service.factories import referral, world
from workflows import clock

REPO = Path(__file__).resolve().parents[2]
LONDON = ZoneInfo("Europe/London")
T0 = datetime(2025, 9, 1, 8, 0, tzinfo=ZoneInfo("UTC"))
START = date(2025, 9, 15)
END = date(2026, 2, 13)


def setup_world(sessions) -> dict[str, int]:
    with sessions() as session:
        people = world(session)
        processes.deploy(session, processes.read_bundle_path(REPO / "bpmn" / "placement"), note="test")
        session.commit()
        return {k: v.id for k, v in people.items()}


def user(session, user_id) -> User:
    return session.get(User, user_id)


def placement_referral(session, w, **overrides):
    orgs = {k: session.get(Organisation, w[k]) for k in ("school", "provider", "la", "other_provider",
                                                         "social_care", "virtual_school")}
    body = referral(orgs, proposed_start=START.isoformat(), proposed_end=END.isoformat(), **overrides)
    if body["pupil"].get("has_social_worker"):
        body["social_care_id"] = orgs["social_care"].id
    return body


def start_active_case(sessions, w, stage="Placement active", **overrides) -> int:
    """Start a case at T0 and complete its tasks (with the lifecycle tests' answers) until `stage`."""
    clock.set(T0)
    with sessions() as session:
        case = casework.start_case(session, user(session, w["lead"]), placement_referral(session, w, **overrides))
        session.commit()
        case_id = case.id
    for _ in range(40):
        with sessions() as session:
            case = session.get(Case, case_id)
            if case.stage == stage:
                return case_id
            task = session.scalar(select(TaskRecord).where(TaskRecord.case_id == case_id, TaskRecord.state == "open")
                                  .order_by(TaskRecord.created_at, TaskRecord.id).limit(1))
            assert task is not None, f"no open task at stage {case.stage}"
            person = people_in_role(session, case, task.role)[0]
            data = dict(FORM_DATA[task.element_id])
            if task.element_id == "draft_agreement":
                data.update(start_date=START.isoformat(), end_date=END.isoformat())
            casework.complete_task(session, person, task.id, data)
            session.commit()
    raise AssertionError("the case never reached " + stage)


def at(d: date, hour: int = 16) -> datetime:
    return datetime.combine(d, time(hour), tzinfo=LONDON)


def add_marks(session, case_id: int, marks, recorded_by=None):
    """Write register rows directly (for figure tests): marks = [(date, session, code)]."""
    rows = []
    for d, s, code in marks:
        row = AttendanceRecord(case_id=case_id, date=d, session=s, code=code, note="n",
                               recorded_by_id=recorded_by, recorded_at=clock.now())
        session.add(row)
        rows.append(row)
    session.flush()
    return rows
