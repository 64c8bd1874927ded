"""Placement records kept beside the provider's register: the school's decisions on absences,
attendance alerts already raised, and the provider's progress reports.

All three are append-only: a later decision supersedes an earlier one (the latest counts) but
nothing is updated away or deleted, so the record shows who decided what and when.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base


class AttendanceDecision(Base):
    """The school's decision on an absence the provider reported (the provider's mark stays)."""

    __tablename__ = "attendance_decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    attendance_record_id: Mapped[int] = mapped_column(ForeignKey("attendance_records.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    decision: Mapped[str] = mapped_column(String(20))  # authorised | unauthorised
    note: Mapped[str] = mapped_column(Text, default="")
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime]

    decided_by = relationship("User")


class AttendanceAlert(Base):
    """An alert raised about a case's attendance, once per run of absence (run_start)."""

    __tablename__ = "attendance_alerts"
    __table_args__ = (UniqueConstraint("case_id", "kind", "run_start", name="uq_attendance_alerts_case_kind_run"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))  # continuous_unauthorised, continuous_absence
    run_start: Mapped[date]
    run_end: Mapped[date]
    school_days: Mapped[int]
    created_at: Mapped[datetime]


class ProgressReport(Base):
    """A provider's (half-termly) progress report on a placement, with the pupil's own voice."""

    __tablename__ = "progress_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    period: Mapped[str] = mapped_column(String(100))
    report_date: Mapped[date]
    progress: Mapped[str] = mapped_column(Text)
    behaviour: Mapped[str] = mapped_column(Text, default="")
    pupil_voice: Mapped[str] = mapped_column(Text)
    next_steps: Mapped[str] = mapped_column(Text, default="")
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime]

    recorded_by = relationship("User")
