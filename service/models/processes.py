"""Deployed process models: each deploy is a new immutable version holding its spec once."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from .base import Base, JsonType


class ProcessModel(Base):
    __tablename__ = "process_models"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(100), unique=True)  # the main process id
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]

    versions: Mapped[list["ProcessVersion"]] = relationship(
        back_populates="model", order_by="ProcessVersion.number"
    )


class ProcessVersion(Base):
    __tablename__ = "process_versions"
    __table_args__ = (UniqueConstraint("model_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("process_models.id"), index=True)
    number: Mapped[int]
    note: Mapped[str] = mapped_column(Text, default="")
    deployed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    deployed_at: Mapped[datetime]
    # The bundle's source files (name -> text) and the serialized specs, stored once per version.
    files: Mapped[dict] = deferred(mapped_column(JsonType))
    spec_state: Mapped[dict] = deferred(mapped_column(JsonType))

    model: Mapped[ProcessModel] = relationship(back_populates="versions")
    deployed_by = relationship("User")

    @property
    def label(self) -> str:
        return f"{self.model.key} v{self.number}"
