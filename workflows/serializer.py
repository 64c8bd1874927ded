"""Instance state <-> JSON-able dicts, with the spec kept out of each instance's state.

Specs are stored once per model version (``serialize_specs``); an instance's state
(``dump_instance``) holds only tasks and data.  Library behaviours worked around here:

* SpiffWorkflow's task converter stores task data as a delta against the parent task and does
  NOT pass that delta through the registry, so dates/Decimals would reach JSON unconverted;
  ``_TaskConverter`` converts it.
* Restoring a task's delta needs its parent already restored, else the data is silently
  dropped; a database (PostgreSQL JSONB) does not keep key order, so ``load_instance`` sorts the
  tasks parent-first before restoring.
* The registry treats any dict with a ``typename`` key as a serialized object, so task data
  such as ``{"typename": "school"}`` fails to load; such dicts are escaped on the way out.
"""
from __future__ import annotations

from copy import deepcopy
from datetime import date, datetime
from decimal import Decimal
from types import ModuleType

from SpiffWorkflow.bpmn.serializer.default.workflow import (
    BpmnSubWorkflowConverter,
    BpmnWorkflowConverter,
    TaskConverter,
)
from SpiffWorkflow.bpmn.serializer.workflow import VERSION, BpmnWorkflowSerializer
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.bpmn.util.subworkflow import BpmnSubWorkflow
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.deep_merge import DeepMerge

from .scripting import ENGINE

ESCAPED = "placements.escaped_dict"
VERSION_KEY = BpmnWorkflowSerializer.VERSION_KEY


def convert_data(registry, obj):
    """Task/workflow data to JSON-able values; dicts with a 'typename' key are escaped."""
    if type(obj) is dict:
        items = {k: convert_data(registry, v) for k, v in obj.items()
                 if not callable(v) and not isinstance(v, ModuleType)}
        if "typename" in obj:
            return {"typename": ESCAPED, "items": items}
        return items
    if type(obj) in (list, tuple):
        return [convert_data(registry, v) for v in obj]
    return registry.convert(obj)


class _TaskConverter(TaskConverter):
    """The library's task converter, with task data passed through ``convert_data``.

    Written out rather than calling ``super().to_dict``: that converts ``internal_data`` through
    the registry only for it to be replaced here."""

    def to_dict(self, task):
        reg = self.registry
        parent = task.parent
        if parent is None:
            data, delta = convert_data(reg, task.data), {}
        else:
            data = {}
            delta = {
                "updates": convert_data(reg, DeepMerge.get_updated_keys(parent.data, task.data)),
                "deletions": list(DeepMerge.get_deleted_keys(parent.data, task.data)),
            }
        return {
            "id": str(task.id),
            "parent": str(task._parent) if parent is not None else None,
            "children": [str(child) for child in task._children],
            "last_state_change": task.last_state_change,
            "state": task.state,
            "task_spec": task.task_spec.name,
            "triggered": task.triggered,
            "internal_data": convert_data(reg, task.internal_data),
            "data": data,
            "delta": delta,
        }


class _InstanceConverter(BpmnWorkflowConverter):
    """The top workflow without its spec and subprocess specs: those are stored once per version
    (``serialize_specs``), and converting them on every save only to drop them was ~40% of a dump.
    Workflow data goes through ``convert_data`` (once)."""

    def to_dict(self, workflow):
        dct = _workflow_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct


class _SubWorkflowConverter(BpmnSubWorkflowConverter):
    def to_dict(self, workflow):
        dct = _workflow_dict(self, workflow)
        dct["parent_task_id"] = str(workflow.parent_task_id)
        dct["spec"] = workflow.spec.name
        return dct


def _workflow_dict(converter, workflow) -> dict:
    """``WorkflowConverter.to_dict`` with the data converted by ``convert_data``."""
    return {
        "data": convert_data(converter.registry, workflow.data),
        "correlations": workflow.correlations,
        "last_task": str(workflow.last_task.id) if workflow.last_task is not None else None,
        "success": workflow.success,
        "completed": workflow.completed,
        "tasks": converter.mapping_to_dict(workflow.tasks),
        "root": str(workflow.task_tree.id),
    }


def _make_serializer() -> BpmnWorkflowSerializer:
    config = dict(SPIFF_CONFIG)
    config[Task] = _TaskConverter
    config[BpmnWorkflow] = _InstanceConverter
    config[BpmnSubWorkflow] = _SubWorkflowConverter
    registry = BpmnWorkflowSerializer.configure(config)
    registry.register(date, lambda v: {"value": v.isoformat()},
                      lambda v: date.fromisoformat(v["value"]), typename="date")
    registry.register(datetime, lambda v: {"value": v.isoformat()},
                      lambda v: datetime.fromisoformat(v["value"]), typename="datetime")
    registry.register(Decimal, lambda v: {"value": str(v)},
                      lambda v: Decimal(v["value"]), typename="Decimal")
    registry.register(set, lambda v: {"items": sorted(v, key=repr)},
                      lambda v: set(v["items"]), typename="set")
    # The escaped dict's own keys include "typename": restore its values, not the dict itself.
    registry.register(dict, lambda v: v,
                      lambda v: {k: registry.restore(x) for k, x in v["items"].items()},
                      typename=ESCAPED)
    # ``register`` keys converters by class; the plain dict must never be converted by it.
    registry.typenames.pop(dict, None)
    return BpmnWorkflowSerializer(registry)


SERIALIZER = _make_serializer()
REGISTRY = SERIALIZER.registry


# ------------------------------------------------------------------------------------ specs
def serialize_specs(spec, subprocess_specs: dict) -> dict:
    """The JSON-able state of a process spec and its subprocess specs (stored per version)."""
    return {
        "spec": REGISTRY.convert(spec),
        "subprocess_specs": {name: REGISTRY.convert(s) for name, s in subprocess_specs.items()},
        VERSION_KEY: VERSION,
    }


def deserialize_specs(state: dict):
    """Back from ``serialize_specs``: (spec, subprocess_specs)."""
    state = deepcopy(state)
    spec = REGISTRY.restore(state["spec"])
    subs = {name: REGISTRY.restore(s) for name, s in state["subprocess_specs"].items()}
    return spec, subs


# -------------------------------------------------------------------------------- instances
def dump_instance(wf) -> dict:
    """The instance's JSON-able state, without its spec (the bundle version holds that)."""
    dct = SERIALIZER.to_dict(wf)  # _InstanceConverter: no spec, data through convert_data
    dct[VERSION_KEY] = VERSION
    return dct


def _parent_first(tasks: dict, root: str) -> dict:
    """Order a serialized task mapping so every task comes after its parent."""
    ordered, queue = {}, [root]
    while queue:
        tid = queue.pop()
        t = tasks.get(tid)
        if t is None or tid in ordered:
            continue
        ordered[tid] = t
        queue.extend(reversed(t.get("children", [])))
    for tid, t in tasks.items():  # orphans (should not happen) keep their place at the end
        ordered.setdefault(tid, t)
    return ordered


def load_instance(state: dict, spec, subprocess_specs: dict):
    """A BpmnWorkflow from ``dump_instance`` state and the version's spec objects."""
    # Shallow copies: from_dict pops keys from the top level and the subprocess mapping only.
    dct = dict(state)
    dct["subprocesses"] = {k: dict(v) for k, v in state.get("subprocesses", {}).items()}
    version = dct.pop(VERSION_KEY, VERSION)
    dct["spec"] = spec                         # restore() passes objects through unchanged
    dct["subprocess_specs"] = dict(subprocess_specs)
    dct["tasks"] = _parent_first(dct["tasks"], dct["root"])
    for sp in dct.get("subprocesses", {}).values():
        sp["tasks"] = _parent_first(sp["tasks"], sp["root"])
    if version != VERSION:
        dct[VERSION_KEY] = version
        SERIALIZER.migrate(dct)
    wf = SERIALIZER.from_dict(dct)
    wf.script_engine = ENGINE                  # the serializer does not store the engine
    return wf
