"""Projections rewritten in the same transaction as the state: open tasks and waiting timers."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, JsonType


class TaskRecord(Base):
    """A user task of a case: open ones are what the inbox lists without touching workflow state;
    finished ones stay as the case's task history (and tell a late second submit it is too late)."""

    __tablename__ = "tasks"
    __table_args__ = (Index("ix_tasks_role_state", "role", "state"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # the engine's task id
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    element_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(300), default="")
    title: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(30), index=True)
    stage: Mapped[str | None] = mapped_column(String(200))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    due_at: Mapped[datetime | None] = mapped_column(index=True)
    created_at: Mapped[datetime]
    draft: Mapped[dict | None] = mapped_column(JsonType)
    state: Mapped[str] = mapped_column(String(20), default="open", index=True)  # open|completed|cancelled
    completed_at: Mapped[datetime | None]
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    case = relationship("Case")
    assignee = relationship("User", foreign_keys=[assignee_id])
    completed_by = relationship("User", foreign_keys=[completed_by_id])


class WaitingTimer(Base):
    """A timer an instance waits on; the scheduler selects rows by due_at, nothing else."""

    __tablename__ = "waiting_timers"
    __table_args__ = (Index("ix_waiting_timers_due", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    task_id: Mapped[str] = mapped_column(String(36))
    element_id: Mapped[str] = mapped_column(String(200))
    due_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


class TimerIncident(Base):
    """A case whose timers kept failing and was parked after the last retry (shown to admins).

    Kept apart from `waiting_timers` because that projection is rewritten on every save; an
    incident stays as history once resolved (by an admin's retry, or by the timer firing)."""

    __tablename__ = "timer_incidents"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    element_ids: Mapped[str] = mapped_column(String(1000), default="")
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    opened_at: Mapped[datetime] = mapped_column(index=True)
    resolved_at: Mapped[datetime | None] = mapped_column(index=True)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolution: Mapped[str | None] = mapped_column(String(30))  # retried | fired

    case = relationship("Case")
    resolved_by = relationship("User", foreign_keys=[resolved_by_id])
