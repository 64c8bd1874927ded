"""The restricted script engine: every BPMN script, condition, DMN cell and timer expression.

Scripts are untrusted input (process owners write them, not developers), so they are compiled
with RestrictedPython: no imports, no dunder or underscore attributes, no I/O, guarded
attribute/item access, and only the names listed in docs/conventions.md.
"""
from __future__ import annotations

import ast
import builtins
import json
import operator
from copy import deepcopy
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from functools import lru_cache

from RestrictedPython import compile_restricted, safe_builtins
from RestrictedPython.Eval import default_guarded_getitem, default_guarded_getiter
from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safer_getattr,
)
from RestrictedPython.PrintCollector import PrintCollector
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment
from SpiffWorkflow.exceptions import SpiffWorkflowException

from . import clock
from .calendar import add_school_days, school_days_between
from .clock import LONDON
from .errors import ScriptNotAllowed
from .views import Notification

OUTBOX_ATTR = "_placements_notifications"


# ---------------------------------------------------------------- helpers offered to scripts
def today() -> date:
    return clock.today_london()


def now() -> datetime:
    return clock.now()


def at_nine(d) -> str:
    """09:00 Europe/London on date ``d`` as ISO 8601 with offset: a safe timer expression."""
    if isinstance(d, str):
        d = date.fromisoformat(d[:10])
    elif isinstance(d, datetime):
        d = d.astimezone(LONDON).date() if d.tzinfo else d.date()
    return datetime.combine(d, time(9, 0), tzinfo=LONDON).isoformat()


def iso(d) -> str:
    return d.isoformat()


def _forbidden(name: str):
    def refuse(*args, **kwargs):
        raise ScriptNotAllowed(f"{name}() is not allowed in scripts")
    refuse.__name__ = name
    return refuse


def _import(name, *args, **kwargs):
    raise ScriptNotAllowed(f"import is not allowed in scripts (tried to import {name!r})")


_INPLACE = {
    "+=": operator.iadd, "-=": operator.isub, "*=": operator.imul, "/=": operator.itruediv,
    "//=": operator.ifloordiv, "%=": operator.imod, "**=": operator.ipow,
    "|=": operator.ior, "&=": operator.iand, "^=": operator.ixor,
}


def _inplacevar(op, x, y):
    try:
        return _INPLACE[op](x, y)
    except KeyError:
        raise ScriptNotAllowed(f"operator {op} is not allowed in scripts") from None


SAFE_NAMES = {
    "date": date, "datetime": datetime, "timedelta": timedelta, "timezone": timezone,
    "Decimal": Decimal,
    "len": len, "min": min, "max": max, "sorted": sorted, "any": any, "all": all,
    "str": str, "int": int, "float": float, "bool": bool, "round": round, "abs": abs,
    "dict": dict, "list": list, "set": set, "tuple": tuple, "enumerate": enumerate,
    "range": range, "zip": zip, "sum": sum, "isinstance": isinstance,
}
HELPERS = {
    "today": today, "now": now, "add_school_days": add_school_days,
    "school_days_between": school_days_between, "at_nine": at_nine, "iso": iso,
}

_BUILTINS = {k: v for k, v in safe_builtins.items()
             if k not in {"__build_class__", "setattr", "delattr", "_getattr_"}}
_BUILTINS.update(SAFE_NAMES)
_BUILTINS["__import__"] = _import
for _name in ("open", "eval", "exec", "compile", "getattr", "globals", "locals", "vars",
              "input", "breakpoint", "help", "exit", "quit", "memoryview", "type", "object",
              "super", "classmethod", "staticmethod", "property"):
    _BUILTINS[_name] = _forbidden(_name)

# Names RestrictedPython's compiled code calls; set last so task data can never replace them.
_GUARDS = {
    "__builtins__": _BUILTINS,
    "_getattr_": safer_getattr,
    "_getitem_": default_guarded_getitem,
    "_getiter_": default_guarded_getiter,
    "_write_": full_write_guard,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence,
    "_inplacevar_": _inplacevar,
    "_print_": PrintCollector,
}
_BASE = {**SAFE_NAMES, **HELPERS}
_BASE_NAMES = frozenset(_BASE) | frozenset(_GUARDS)


@lru_cache(maxsize=4096)
def compile_script(source: str, mode: str = "exec"):
    """Compile once per source string; raise ScriptNotAllowed with RestrictedPython's reasons."""
    try:
        tree = ast.parse(source, mode=mode)
    except SyntaxError as err:
        raise ScriptNotAllowed(f"syntax error on line {err.lineno}: {err.msg}") from None
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            raise ScriptNotAllowed(f"import is not allowed in scripts (line {node.lineno})")
    try:
        return compile_restricted(source, filename="<script>", mode=mode)
    except SyntaxError as err:
        reasons = err.args[0] if err.args else err
        if isinstance(reasons, (list, tuple)):
            reasons = "; ".join(str(r) for r in reasons)
        raise ScriptNotAllowed(f"not allowed in scripts: {reasons}") from None


def check_script(source: str, mode: str = "exec") -> str | None:
    """The reason a script would be refused, or None. Used when a bundle is deployed."""
    try:
        compile_script(source, mode)
    except ScriptNotAllowed as err:
        return str(err)
    return None


class RestrictedEnvironment(BasePythonScriptEngineEnvironment):
    """Task data is the namespace; the sandbox names sit below it, the guards above it."""

    def __init__(self):
        super().__init__(dict(_BASE))

    def _namespace(self, context, external_context):
        ns = dict(_BASE)
        if external_context:
            ns.update(external_context)
        ns.update(context)
        ns.update(_GUARDS)
        return ns

    def evaluate(self, expression, context, external_context=None):
        code = compile_script(expression.strip(), "eval")
        return eval(code, self._namespace(context, external_context))

    def execute(self, script, context, external_context=None):
        code = compile_script(script, "exec")
        ns = self._namespace(context, external_context)
        exec(code, ns)
        for key in [k for k in context if k not in ns]:  # `del x` in the script
            del context[key]
        external_context = external_context or {}
        for key, value in ns.items():
            if key in _BASE_NAMES and (key in _GUARDS or value is _BASE.get(key)):
                continue
            if key in external_context and value is external_context[key]:
                continue
            if callable(value) and not isinstance(value, (date, Decimal)):
                continue  # functions defined in a script are not data
            context[key] = value
        return True

    def call_service(self, context, **kwargs):
        raise ScriptNotAllowed("service calls need a task: use the script engine")


class RestrictedScriptEngine(PythonScriptEngine):
    """PythonScriptEngine on the restricted environment, with errors that name the element."""

    def __init__(self):
        super().__init__(environment=RestrictedEnvironment())

    @staticmethod
    def _element(task) -> str:
        spec = getattr(task, "task_spec", None)
        return getattr(spec, "bpmn_id", None) or getattr(spec, "name", "?")

    @staticmethod
    def _boundary_timer_context(task):
        """Library bug workaround: a boundary timer is evaluated before its task's pre-script
        runs, so a duration set by that pre-script is not there yet (NameError, instance stuck).
        Evaluate such a timer on a copy of the data with the attached task's pre-script applied.
        """
        spec = getattr(task, "task_spec", None)
        if not isinstance(getattr(spec, "event_definition", None), TimerEventDefinition) or \
                task.parent is None or not isinstance(task.parent.task_spec, BoundaryEventSplit):
            return None
        for sibling in task.parent.children:
            prescript = getattr(sibling.task_spec, "prescript", None)
            if sibling is not task and prescript:
                context = deepcopy(task.data)
                RestrictedEnvironment().execute(prescript, context)
                return context
        return None

    def evaluate(self, task, expression, external_context=None):
        try:
            context = self._boundary_timer_context(task)
            if context is not None:
                return self.environment.evaluate(expression, context, external_context)
            return self.environment.evaluate(expression, task.data, external_context)
        except SpiffWorkflowException as se:
            se.add_note(f"Error evaluating expression '{expression}'")
            raise
        except Exception as err:
            raise WorkflowTaskException(
                f"Expression '{expression}' in '{self._element(task)}' failed: "
                f"{type(err).__name__}: {err}", task=task, exception=err) from err

    def execute(self, task, script, external_context=None):
        try:
            return self.environment.execute(script, task.data, external_context or {})
        except SpiffWorkflowException:
            raise
        except Exception as err:
            raise WorkflowTaskException(
                f"Script in '{self._element(task)}' failed: {type(err).__name__}: {err}",
                task=task, exception=err) from err

    def call_service(self, task, operation_name=None, operation_params=None, **kwargs):
        """Only the ``notify`` operator exists: record a notification for the host to send."""
        if operation_name != "notify":
            raise WorkflowTaskException(
                f"Service task '{self._element(task)}' uses unknown operator {operation_name!r}"
                " (only 'notify' is available)", task=task)
        params = {k: (v.get("value") if isinstance(v, dict) else v)
                  for k, v in (operation_params or {}).items()}
        note = Notification(
            role=str(params.get("role") or ""),
            subject=str(params.get("subject") or ""),
            body=str(params.get("body") or ""),
            element_id=self._element(task),
        )
        top = task.workflow.top_workflow
        outbox = getattr(top, OUTBOX_ATTR, None)
        if outbox is None:
            outbox = []
            setattr(top, OUTBOX_ATTR, outbox)
        outbox.append(note)
        return json.dumps({})


# One engine is enough: it holds no per-instance state (notifications go on the workflow).
ENGINE = RestrictedScriptEngine()
