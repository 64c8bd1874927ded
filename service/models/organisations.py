"""Organisations (schools, LAs, providers, social care teams, virtual schools) and the directory."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base

ORG_TYPES = ("school", "la", "provider", "social_care", "virtual_school")
REGISTRATION_STATUSES = ("registered_school", "registered_fe", "unregistered")


class Organisation(Base):
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(20), index=True)
    # The local authority a school, provider or team works within; LA officers see its cases.
    la_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    created_at: Mapped[datetime]

    provider: Mapped["Provider | None"] = relationship(back_populates="organisation", uselist=False)


class Provider(Base):
    """A provider organisation's directory entry; its id is the organisation's id."""

    __tablename__ = "providers"

    id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), primary_key=True)
    address: Mapped[str] = mapped_column(Text, default="")
    urn: Mapped[str | None] = mapped_column(String(20))
    ukprn: Mapped[str | None] = mapped_column(String(20))
    registration_status: Mapped[str] = mapped_column(String(30), default="unregistered")
    ofsted_grade: Mapped[str | None] = mapped_column(String(40))
    ofsted_date: Mapped[date | None]
    last_safeguarding_check: Mapped[date | None]
    la_training_attended: Mapped[bool] = mapped_column(default=False)
    services: Mapped[list] = mapped_column(default=list)
    age_min: Mapped[int | None]
    age_max: Mapped[int | None]
    capacity: Mapped[int | None]
    contact_name: Mapped[str] = mapped_column(String(200), default="")
    contact_email: Mapped[str] = mapped_column(String(200), default="")
    contact_phone: Mapped[str] = mapped_column(String(50), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    # School census setting type for a provider without a URN/UKPRN: NFE, OOT, OTH or WBP.
    setting_type: Mapped[str | None] = mapped_column(String(3))

    organisation: Mapped[Organisation] = relationship(back_populates="provider")

    @property
    def name(self) -> str:
        return self.organisation.name

    @property
    def listed(self) -> bool:
        """Only providers whose staff attended the LA's training appear in the directory."""
        return self.la_training_attended
