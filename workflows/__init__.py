"""The engine adapter: everything that knows SpiffWorkflow. No Flask, no ``service``.

See docs/conventions.md section 2 for the interface.
"""
from . import calendar, clock  # noqa: F401  (clock patches SpiffWorkflow's timers on import)
from .bundle import ROLES, Bundle, BundleInvalid, load_bundle, validate_bundle
from .errors import EngineError, TaskNotFound, TaskNotReady, WorkflowError, WrongLane
from .instance import Instance
from .scripting import RestrictedScriptEngine, check_script
from .serializer import deserialize_specs, dump_instance, load_instance, serialize_specs
from .views import Notification, Outbox, Problem, TaskView, TimerView

__all__ = [
    "Bundle", "BundleInvalid", "EngineError", "Instance", "Notification", "Outbox", "Problem",
    "ROLES", "RestrictedScriptEngine", "TaskNotFound", "TaskNotReady", "TaskView", "TimerView",
    "WorkflowError", "WrongLane", "calendar", "check_script", "clock", "deserialize_specs",
    "dump_instance", "load_bundle", "load_instance", "serialize_specs", "validate_bundle",
]
