"""Plain data the adapter hands out, so callers never touch SpiffWorkflow objects."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Problem:
    """One validation problem of a bundle, tied to a BPMN element where there is one."""
    element_id: str | None
    message: str
    file: str | None = None


@dataclass
class TaskView:
    id: str
    element_id: str
    name: str
    title: str | None
    lane: str | None
    form: dict | None
    instructions: str | None
    due: tuple[str, int] | None
    data: dict
    process_id: str
    state: str = "READY"


@dataclass(frozen=True)
class TimerView:
    task_id: str
    element_id: str
    due_at: datetime


@dataclass(frozen=True)
class Notification:
    role: str
    subject: str
    body: str
    element_id: str


@dataclass
class Outbox:
    messages: list[tuple[str, Any]] = field(default_factory=list)
    notifications: list[Notification] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.messages or self.notifications)
