"""Moving running cases from one model version to another: previewed, per case, audited.

Each case moves in its own transaction step: lock the case row, load its instance on the old
version, migrate (``workflows.migration``), save with ``casework._persist`` (which rewrites the
task and timer projections), and record a ``case_migrated`` audit event.  Deploying a version
never does this by itself.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflows import EngineError, Instance
from workflows.migration import MigrationPreview, MigrationRefused, migrate, preview

from . import audit, casework, processes
from .errors import Conflict, InvalidInput, NotFound
from .models import Case, ProcessVersion, User


@dataclass
class CasePreview:
    case_id: int
    preview: MigrationPreview


def running_counts(session: Session) -> dict[int, int]:
    """{version id: number of open cases on it}."""
    rows = session.execute(select(Case.model_version_id, func.count(Case.id))
                           .where(Case.status == "open").group_by(Case.model_version_id))
    return {vid: n for vid, n in rows}


def running_cases(session: Session, version_id: int) -> list[Case]:
    return list(session.scalars(select(Case).where(Case.model_version_id == version_id,
                                                   Case.status == "open").order_by(Case.id)))


def _target(session: Session, case: Case, target_version_id: int) -> ProcessVersion:
    target = session.get(ProcessVersion, target_version_id)
    if target is None:
        raise NotFound("No such version")
    current = session.get(ProcessVersion, case.model_version_id)
    if target.model_id != current.model_id:
        raise InvalidInput("A case can only move to another version of its own model",
                           {"target": "Choose a version of the same model"})
    return target


def preview_case(session: Session, case_id: int, target_version_id: int) -> MigrationPreview:
    """What moving this case would change; read only."""
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound("No such case")
    _target(session, case, target_version_id)
    if case.model_version_id == target_version_id:
        return MigrationPreview(safe=False, reasons=["the case already runs on this version"])
    if case.status != "open":
        return MigrationPreview(safe=False, reasons=[f"the case is {case.status}"])
    old = processes.bundle_for(session, case.model_version_id)
    new = processes.bundle_for(session, target_version_id)
    try:
        return preview(old, new, case.state)
    except EngineError as error:
        return MigrationPreview(safe=False, reasons=[str(error)])


def migrate_case(session: Session, actor: User | None, case_id: int, target_version_id: int,
                 expected_version: int | None = None) -> MigrationPreview:
    """Move one case to the target version in the caller's transaction; raises when refused."""
    case = casework.lock_case(session, case_id)
    target = _target(session, case, target_version_id)
    if expected_version is not None and expected_version != case.lock_version:
        raise Conflict("This case changed since the preview. Check the preview again.")
    if case.status != "open":
        raise Conflict(f"The case is {case.status}: only running cases move")
    if case.model_version_id == target.id:
        raise Conflict("The case already runs on this version")
    source = session.get(ProcessVersion, case.model_version_id)
    old = processes.bundle_for(session, source.id)
    new = processes.bundle_for(session, target.id)
    try:
        state, report = migrate(old, new, case.state)
    except MigrationRefused as refused:  # the caller records the refusal (this transaction rolls back)
        raise InvalidInput("This case cannot move to version "
                           f"{target.number}: {refused.preview.reason}",
                           {"case": refused.preview.reason}) from refused
    except EngineError as error:
        raise InvalidInput(f"This case cannot move: {error}", {"case": str(error)}) from error
    case.model_version_id = target.id
    instance = Instance.load(new, state)
    audit.record(session, "case_migrated", case_id=case.id, actor_id=actor.id if actor else None,
                 model=target.model.key, from_version=source.number, to_version=target.number,
                 changes=report.changes,
                 timers=[{"element_id": e, "due_at": d.isoformat()} for e, d in report.timers])
    casework._persist(session, case, instance, actor)
    return report


def record_refusal(sessions, actor_id: int | None, case_id: int, target_version_id: int,
                   reason: str) -> None:
    """Audit a refused migration in a transaction of its own (the attempt itself rolled back)."""
    with sessions() as session:
        audit.record(session, "case_migration_refused", case_id=case_id, actor_id=actor_id,
                     to_version_id=target_version_id, reason=reason)
        session.commit()


def migrate_many(sessions, actor_id: int | None, case_ids: list[int],
                 target_version_id: int) -> dict[int, str | None]:
    """Bulk: each case in its own transaction, so one refusal does not stop the others.

    Returns {case id: None when moved, else the reason}.
    """
    results: dict[int, str | None] = {}
    for case_id in case_ids:
        with sessions() as session:
            actor = session.get(User, actor_id) if actor_id else None
            try:
                migrate_case(session, actor, case_id, target_version_id)
                session.commit()
                results[case_id] = None
            except (InvalidInput, Conflict, NotFound) as error:
                session.rollback()
                results[case_id] = error.message
                if isinstance(error, InvalidInput):
                    record_refusal(sessions, actor_id, case_id, target_version_id, error.message)
    return results
