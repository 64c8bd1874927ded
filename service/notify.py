"""Turn the model's notify tasks into in-app notifications and queued emails (same transaction).

Emails carry no pupil names: only the case reference and a link.
"""
from __future__ import annotations

from flask import has_app_context, current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows import clock

from .models import Case, Notification, OutboxEmail, PupilParent, User, UserRole

# Which of the case's organisations a role belongs to.
ROLE_PARTY = {
    "school_ap_lead": "school_id", "head_teacher": "school_id", "dsl": "school_id", "senco": "school_id",
    "la_officer": "la_id", "provider": "provider_id", "social_worker": "social_care_id",
    "virtual_school": "virtual_school_id",
}


def people_in_role(session: Session, case: Case, role: str) -> list[User]:
    """Active users who hold `role` for this case's party organisation."""
    stmt = select(User).join(UserRole).where(UserRole.role == role, User.active.is_(True))
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


def deliver_notifications(session: Session, case: Case, notifications) -> int:
    now = clock.now()
    base_url = current_app.config.get("BASE_URL", "") if has_app_context() else ""
    count = 0
    for note in notifications:
        kind = "escalation" if "escalat" in (note.subject or "").lower() else "reminder"
        for user in people_in_role(session, case, note.role):
            session.add(Notification(user_id=user.id, case_id=case.id, kind=kind, subject=note.subject,
                                     body=note.body or "", created_at=now))
            session.add(OutboxEmail(
                to_address=user.email, subject=f"{note.subject} ({case.reference})",
                body=f"{note.body or note.subject}\n\nCase {case.reference}: {base_url}/cases/{case.id}\n",
                created_at=now, next_attempt_at=now,
            ))
            count += 1
    return count
