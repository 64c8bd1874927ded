"""Append audit events; the trail is never updated or deleted."""
from __future__ import annotations

from sqlalchemy.orm import Session

from workflows import clock

from .models import AuditEvent


def record(session: Session, type_: str, *, case_id: int | None = None, actor_id: int | None = None,
           **detail) -> AuditEvent:
    event = AuditEvent(case_id=case_id, actor_id=actor_id, type=type_, detail=detail, at=clock.now())
    session.add(event)
    return event
