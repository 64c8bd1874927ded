"""Builders shared by the timer tests: a world, the timer bundles, cases, counts of effects."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from service import casework, processes
from service.models import AuditEvent, Notification, Organisation, TaskRecord, User, WaitingTimer
from tests.service.factories import BUNDLES as SERVICE_BUNDLES
from tests.service.factories import referral, world

BUNDLES = Path(__file__).parent / "bundles"
UPNS = ["B801200005001", "A123456789012"]


def setup_world(sessions, *bundles: str) -> dict[str, int]:
    with sessions() as session:
        people = world(session)
        for name in bundles:
            path = SERVICE_BUNDLES / name if name == "mini" else BUNDLES / name
            processes.deploy(session, processes.read_bundle_path(path), note="test")
        session.commit()
        return {k: v.id for k, v in people.items()}


def start_case(sessions, w, model_key: str, **overrides) -> int:
    with sessions() as session:
        orgs = {k: session.get(Organisation, w[k]) for k in ("school", "provider", "la", "other_provider")}
        case = casework.start_case(session, session.get(User, w["lead"]), referral(orgs, **overrides),
                                   model_key=model_key)
        session.commit()
        return case.id


def complete(sessions, w, case_id: int, who: str, data: dict) -> None:
    with sessions() as session:
        [task] = session.scalars(select(TaskRecord).where(TaskRecord.case_id == case_id,
                                                          TaskRecord.state == "open")).all()
        casework.complete_task(session, session.get(User, w[who]), task.id, data)
        session.commit()


def notes(sessions, subject_prefix: str | None = None, case_id: int | None = None) -> list[Notification]:
    with sessions() as session:
        stmt = select(Notification).order_by(Notification.id)
        if subject_prefix:
            stmt = stmt.where(Notification.subject.startswith(subject_prefix))
        if case_id is not None:
            stmt = stmt.where(Notification.case_id == case_id)
        return list(session.scalars(stmt))


def fired_events(sessions) -> list[AuditEvent]:
    with sessions() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.type == "timers_fired")
                                    .order_by(AuditEvent.id)))


def timers_of(sessions, case_id: int) -> list[WaitingTimer]:
    with sessions() as session:
        return list(session.scalars(select(WaitingTimer).where(WaitingTimer.case_id == case_id)
                                    .order_by(WaitingTimer.due_at)))


def count(sessions, model, *where) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))
