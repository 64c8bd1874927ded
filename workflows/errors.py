"""Errors the adapter raises; the service maps them to HTTP codes (404, 409, 403, 500/422)."""
from __future__ import annotations


class WorkflowError(Exception):
    """Base class of the adapter's errors."""


class TaskNotFound(WorkflowError):
    """No task with that id in this instance (404)."""


class TaskNotReady(WorkflowError):
    """The task exists but is not a READY manual task: already done, or not yet reached (409)."""


class WrongLane(WorkflowError):
    """The task's lane is not one of the caller's roles (403)."""


class EngineError(WorkflowError):
    """A script, condition or timer failed while the engine ran; names the BPMN element."""

    def __init__(self, element_id: str | None, message: str):
        self.element_id = element_id
        self.message = message
        super().__init__(f"{element_id}: {message}" if element_id else message)


class ScriptNotAllowed(Exception):
    """A script tried something the sandbox forbids (import, I/O, dunder access ...)."""
