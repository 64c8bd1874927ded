"""Turn the model's notify tasks into in-app notifications and queued emails (same transaction).

Emails carry no pupil names: only the case reference and a link.
"""
from __future__ import annotations

from flask import has_app_context, current_app
from sqlalchemy import select
from sqlalchemy.orm import Session, lazyload

from workflows import clock

from .models import Case, Notification, OutboxEmail, PupilParent, TaskRecord, User, UserRole

# Which of the case's organisations a role belongs to.
ROLE_PARTY = {
    "school_ap_lead": "school_id", "head_teacher": "school_id", "dsl": "school_id", "senco": "school_id",
    "la_officer": "la_id", "provider": "provider_id", "social_worker": "social_care_id",
    "virtual_school": "virtual_school_id",
}


def people_in_role(session: Session, case: Case, role: str) -> list[User]:
    """Active users who hold `role` for this case's party organisation."""
    # Roles load on first use only: notifying needs ids and addresses (one statement fewer).
    stmt = (select(User).join(UserRole).where(UserRole.role == role, User.active.is_(True))
            .options(lazyload(User.role_rows)))
    if role == "parent":
        stmt = stmt.where(User.id.in_(select(PupilParent.user_id).where(PupilParent.pupil_id == case.pupil_id)))
    elif role in ROLE_PARTY:
        org_id = getattr(case, ROLE_PARTY[role])
        if org_id is None:
            return []
        stmt = stmt.where(User.organisation_id == org_id)
    else:
        return []
    return list(session.scalars(stmt))


def recipients(session: Session, case: Case, role: str) -> list[User]:
    """Who hears a notification for `role`: the assignees of the case's open tasks in that lane,
    if any are assigned; otherwise everyone holding the role for the case."""
    assignees = list(session.scalars(
        select(User).options(lazyload(User.role_rows)).join(TaskRecord, TaskRecord.assignee_id == User.id)
        .where(TaskRecord.case_id == case.id, TaskRecord.state == "open", TaskRecord.role == role,
               User.active.is_(True)).distinct()))
    return assignees or people_in_role(session, case, role)


def _without_names(case: Case, text: str) -> bool:
    pupil = case.pupil
    names = [n for n in (getattr(pupil, "first_name", None), getattr(pupil, "last_name", None)) if n]
    lowered = (text or "").lower()
    return not any(len(n) > 1 and n.lower() in lowered for n in names)


def deliver_notifications(session: Session, case: Case, notifications) -> int:
    """One in-app notification and one queued email per recipient, in the caller's transaction."""
    now = clock.now()
    base_url = current_app.config.get("BASE_URL", "") if has_app_context() else ""
    count = 0
    for note in notifications:
        kind = "escalation" if "escalat" in (note.subject or "").lower() else "reminder"
        subject, body = note.subject or "", note.body or ""
        if not (_without_names(case, subject) and _without_names(case, body)):
            # Models must not put pupil names in notifications; never let one reach an inbox.
            subject, body = f"Update on case {case.reference}", "There is an update on this case."
        for user in recipients(session, case, note.role):
            session.add(Notification(user_id=user.id, case_id=case.id, kind=kind, subject=subject,
                                     body=body, created_at=now))
            session.add(OutboxEmail(
                to_address=user.email, subject=f"{subject} ({case.reference})",
                body=f"{body or subject}\n\nCase {case.reference}: {base_url}/cases/{case.id}\n",
                created_at=now, next_attempt_at=now,
            ))
            count += 1
    return count
