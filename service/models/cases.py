"""Pupils and placement cases. A case is one running workflow instance plus its projections."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from .base import Base, JsonType

CASE_STATUSES = ("open", "closed", "declined", "withdrawn")


class Pupil(Base):
    __tablename__ = "pupils"

    id: Mapped[int] = mapped_column(primary_key=True)
    upn: Mapped[str] = mapped_column(String(13), index=True)
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    date_of_birth: Mapped[date]
    year_group: Mapped[int | None]
    sen_status: Mapped[str] = mapped_column(String(20), default="none")
    has_social_worker: Mapped[bool] = mapped_column(default=False)
    looked_after: Mapped[bool] = mapped_column(default=False)
    fsm_eligible: Mapped[bool] = mapped_column(default=False)
    school_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


class PupilParent(Base):
    """Links a parent or carer's account to their own child."""

    __tablename__ = "pupil_parents"
    __table_args__ = (UniqueConstraint("pupil_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pupil_id: Mapped[int] = mapped_column(ForeignKey("pupils.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)


class Case(Base):
    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    pupil_id: Mapped[int] = mapped_column(ForeignKey("pupils.id"), index=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("providers.id"), index=True)
    la_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    social_care_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    virtual_school_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    referred_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    model_version_id: Mapped[int] = mapped_column(ForeignKey("process_versions.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="open", index=True)
    pattern: Mapped[str] = mapped_column(String(20), default="full_time")
    start_date: Mapped[date | None]
    end_date: Mapped[date | None]
    stage: Mapped[str | None] = mapped_column(String(200))
    # Case variables of the instance (top-level data), kept for reads without deserializing.
    data: Mapped[dict] = deferred(mapped_column(JsonType, default=dict))
    # The serialized workflow state, without the spec; only loaded to change the case.
    state: Mapped[dict] = deferred(mapped_column(JsonType))
    # Optimistic lock: every save bumps it; a save from a stale read is a conflict.
    lock_version: Mapped[int] = mapped_column(Integer, default=1)
    next_timer_at: Mapped[datetime | None] = mapped_column(index=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]

    pupil: Mapped[Pupil] = relationship(lazy="joined")
    school = relationship("Organisation", foreign_keys=[school_id])
    provider = relationship("Provider", foreign_keys=[provider_id])
    model_version = relationship("ProcessVersion")
    pupil_links: Mapped[list[PupilParent]] = relationship(
        primaryjoin="Case.pupil_id == foreign(PupilParent.pupil_id)", viewonly=True, lazy="select"
    )

    __mapper_args__ = {"version_id_col": lock_version}

    @property
    def reference(self) -> str:
        return f"AP-{self.id:05d}"
