"""Comparing bundle versions and moving a running instance from one version to another.

Pure engine code (no Flask, no database): the service locks, persists and audits.

* ``compare_files(old, new)`` lists the elements added, removed and changed between two bundles'
  files, per file, by element id.  Layout (BPMN DI) is ignored: moving a shape is not a change.
* ``preview(old_bundle, new_bundle, state)`` says what a migration would change for one instance
  and whether it is safe.  It is refused when the instance's completed path changed (a completed
  step was removed, or changed in a way that matters for what already happened: its script, its
  type, its event, the flow it took), or when the instance waits at a step the new version
  removes.
* ``migrate(old_bundle, new_bundle, state)`` applies it with SpiffWorkflow's
  ``diff_workflow``/``migrate_workflow``.  Those reset every READY/WAITING task, so a waiting
  timer would restart its clock; the timer's ``event_value`` (its due time) is carried over.
"""
from __future__ import annotations

from copy import deepcopy
from dataclasses import dataclass, field
from datetime import datetime

from lxml import etree
from SpiffWorkflow.bpmn.util.diff import diff_workflow, migrate_workflow
from SpiffWorkflow.util.task import TaskState

from .errors import EngineError
from .serializer import REGISTRY, dump_instance, load_instance

DI_NAMESPACES = {
    "http://www.omg.org/spec/BPMN/20100524/DI", "http://www.omg.org/spec/DD/20100524/DC",
    "http://www.omg.org/spec/DD/20100524/DI", "https://www.omg.org/spec/DMN/20191111/DMNDI/",
    "http://www.omg.org/spec/DMN/20180521/DMNDI/", "http://www.omg.org/spec/DMN/20180521/DI/",
    "http://www.omg.org/spec/DMN/20180521/DC/", "https://www.omg.org/spec/DMN/20191111/DI/",
}
# Elements with an id that are part of their owner rather than things of their own.
FOLDED = {
    "laneSet", "conditionExpression", "timeDate", "timeDuration", "timeCycle", "script",
    "multiInstanceLoopCharacteristics", "standardLoopCharacteristics", "ioSpecification",
    "inputSet", "outputSet", "inputEntry", "outputEntry", "inputExpression", "text",
    "extensionElements", "documentation", "incoming", "outgoing",
}
# Attributes at their BPMN default mean the same as absent (the modeler drops them on export).
DEFAULTS = {"cancelActivity": "true", "isInterrupting": "true", "isForCompensation": "false",
            "parallelMultiple": "false", "isClosed": "false", "completionQuantity": "1",
            "startQuantity": "1", "gatewayDirection": "Unspecified"}
# Redundant with the flows' sourceRef/targetRef.
REDUNDANT_CHILDREN = {"incoming", "outgoing"}
# Task spec attributes that do not alter what an already completed step did.
HARMLESS_WHEN_DONE = {"documentation", "bpmn_name", "description", "extensions", "lane", "inputs",
                      "outputs", "data_input_associations", "data_output_associations",
                      "io_specification", "lookahead", "manual"}
ACTIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED


# ----------------------------------------------------------------------------- comparing files
@dataclass(frozen=True)
class ElementChange:
    file: str
    element_id: str
    kind: str          # "added" | "removed" | "changed"
    type: str          # the element's tag, e.g. "userTask"
    name: str = ""

    def as_dict(self) -> dict:
        return {"file": self.file, "element_id": self.element_id, "kind": self.kind,
                "type": self.type, "name": self.name}


def _root(data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_comments=True,
                             remove_blank_text=True)
    try:
        return etree.fromstring(data, parser=parser)
    except Exception:
        return None


def _is_unit(el) -> bool:
    if not isinstance(el.tag, str) or not el.get("id"):
        return False
    qname = etree.QName(el.tag)
    if qname.namespace in DI_NAMESPACES:
        return False
    local = qname.localname
    return local not in FOLDED and not local.endswith("EventDefinition")


def _signature(el) -> str:
    """The element's meaning: tag, attributes and folded children, not its sub-units or layout."""
    parts = [etree.QName(el.tag).localname]
    parts += [f"@{k}={v}" for k, v in sorted(el.attrib.items())
              if k != "id" and DEFAULTS.get(k) != v]
    text = (el.text or "").strip()
    if text:
        parts.append(f"#{text}")
    for child in el:
        if not isinstance(child.tag, str) or etree.QName(child.tag).namespace in DI_NAMESPACES:
            continue
        if _is_unit(child) or etree.QName(child.tag).localname in REDUNDANT_CHILDREN:
            continue
        parts.append("<" + _signature(child) + ">")
    return "".join(parts)


def _units(root) -> dict[str, tuple[str, str, str]]:
    units = {}
    for el in root.iter():
        if _is_unit(el):
            units[el.get("id")] = (etree.QName(el.tag).localname, el.get("name") or "", _signature(el))
    return units


def compare_files(old: dict, new: dict) -> list[ElementChange]:
    """Elements added, removed and changed, per .bpmn/.dmn file, by element id (layout ignored)."""
    changes: list[ElementChange] = []
    names = sorted({n for n in list(old) + list(new) if n.lower().endswith((".bpmn", ".dmn"))})
    for name in names:
        a = _root(old[name]) if name in old else None
        b = _root(new[name]) if name in new else None
        ua = _units(a) if a is not None else {}
        ub = _units(b) if b is not None else {}
        for eid, (tag, label, _) in ub.items():
            if eid not in ua:
                changes.append(ElementChange(name, eid, "added", tag, label))
        for eid, (tag, label, sig) in ua.items():
            if eid not in ub:
                changes.append(ElementChange(name, eid, "removed", tag, label))
            elif ub[eid][2] != sig:
                changes.append(ElementChange(name, eid, "changed", ub[eid][0], ub[eid][1] or label))
    return changes


def changed_forms(old: dict, new: dict) -> list[tuple[str, str]]:
    """(file, "added"|"removed"|"changed") for the other files of the bundles (forms etc.)."""
    out = []
    for name in sorted(set(old) | set(new)):
        if name.lower().endswith((".bpmn", ".dmn")):
            continue
        a, b = old.get(name), new.get(name)
        a = a.decode("utf-8") if isinstance(a, bytes) else a
        b = b.decode("utf-8") if isinstance(b, bytes) else b
        if a is None:
            out.append((name, "added"))
        elif b is None:
            out.append((name, "removed"))
        elif a != b:
            out.append((name, "changed"))
    return out


# ------------------------------------------------------------------------------ migration
@dataclass
class MigrationPreview:
    safe: bool
    reasons: list[str] = field(default_factory=list)      # why it is refused (empty when safe)
    changes: list[str] = field(default_factory=list)      # what changes for this instance
    active: list[str] = field(default_factory=list)       # element ids where the case is now
    timers: list[tuple[str, datetime]] = field(default_factory=list)  # timers kept, with due

    @property
    def reason(self) -> str | None:
        return "; ".join(self.reasons) if self.reasons else None

    def as_dict(self) -> dict:
        return {"safe": self.safe, "reasons": list(self.reasons), "changes": list(self.changes),
                "active": list(self.active),
                "timers": [{"element_id": e, "due_at": d.isoformat()} for e, d in self.timers]}


class MigrationRefused(EngineError):
    def __init__(self, preview: MigrationPreview):
        self.preview = preview
        super().__init__(None, "The case cannot move to this version: " + (preview.reason or ""))


def _label(spec) -> str:
    bpmn_id = getattr(spec, "bpmn_id", None)
    name = getattr(spec, "bpmn_name", None)
    if bpmn_id and name:
        return f"{bpmn_id} ('{name}')"
    return bpmn_id or spec.name


def _visible(spec) -> bool:
    return bool(getattr(spec, "bpmn_id", None))


def _check(wf, diff, spec_diff, where: str, out: MigrationPreview) -> None:
    """Refusals and changes for one (sub)workflow."""
    for task in wf.get_tasks(skip_subprocesses=True):
        spec = task.task_spec
        new_spec = diff.alignment.get(task)
        done = task.state == TaskState.COMPLETED
        active = bool(task.state & ACTIVE)
        if not (done or active):
            continue
        if task in diff.removed or new_spec is None:
            if done and not _visible(spec):
                continue
            what = "completed step" if done else "current step"
            out.reasons.append(f"the {what} {_label(spec)}{where} is not in the new version")
            continue
        keys = set(spec_diff.comparisons.get(spec) or [])
        if done:
            serious = keys - HARMLESS_WHEN_DONE
            if serious:
                out.reasons.append(f"the completed step {_label(spec)}{where} changed "
                                   f"({', '.join(sorted(serious))})")
            taken = [c.task_spec for c in task.children
                     if c.state & (TaskState.COMPLETED | ACTIVE)]
            new_outputs = {o.name for o in new_spec.outputs}
            for child_spec in taken:
                aligned = spec_diff.alignment.get(child_spec)
                if aligned is None or aligned.name not in new_outputs:
                    out.reasons.append(f"the path the case took after {_label(spec)}{where} "
                                       "is not in the new version")
                    break
        elif keys and _visible(spec):
            out.changes.append(f"the current step {_label(spec)}{where} changes "
                               f"({', '.join(sorted(keys))})")
    for spec in spec_diff.added:
        if _visible(spec):
            out.changes.append(f"{_label(spec)}{where} is added")
    for spec in spec_diff.removed:
        if _visible(spec):
            out.changes.append(f"{_label(spec)}{where} is removed")
    for spec, keys in spec_diff.changed.items():
        if _visible(spec) and not any(t.task_spec is spec and (t.state & ACTIVE)
                                      for t in wf.get_tasks(skip_subprocesses=True)):
            out.changes.append(f"{_label(spec)}{where} changes ({', '.join(sorted(keys))})")


def _analyse(old_bundle, new_bundle, state):
    wf = load_instance(state, old_bundle.spec, old_bundle.subprocess_specs)
    out = MigrationPreview(safe=True)
    if new_bundle.spec.name != wf.spec.name:
        out.reasons.append(f"the new version's main process is '{new_bundle.spec.name}', "
                           f"not '{wf.spec.name}'")
        out.safe = False
        return wf, None, None, out
    top_diff, sp_diffs = diff_workflow(REGISTRY, wf, new_bundle.spec, new_bundle.subprocess_specs)
    spec_diffs = {}
    from SpiffWorkflow.bpmn.util.diff import SpecDiff
    spec_diffs[None] = SpecDiff(REGISTRY, wf.spec, new_bundle.spec)
    _check(wf, top_diff, spec_diffs[None], "", out)
    for sp_id, sp in wf.subprocesses.items():
        where = f" in '{sp.spec.name}'"
        if sp_diffs.get(sp_id) is None:
            out.reasons.append(f"the process '{sp.spec.name}' the case has started is not in the "
                               "new version")
            continue
        spec_diffs[sp_id] = SpecDiff(REGISTRY, sp.spec, new_bundle.subprocess_specs[sp.spec.name])
        _check(sp, sp_diffs[sp_id], spec_diffs[sp_id], where, out)
    for name in new_bundle.subprocess_specs:
        if name not in old_bundle.subprocess_specs:
            out.changes.append(f"the process '{name}' is added")
    for workflow in [wf] + list(wf.subprocesses.values()):
        for task in workflow.get_tasks(skip_subprocesses=True, state=ACTIVE):
            if _visible(task.task_spec):
                out.active.append(task.task_spec.bpmn_id)
    out.timers = _timer_dues(wf)
    out.changes = list(dict.fromkeys(out.changes))
    out.reasons = list(dict.fromkeys(out.reasons))
    out.safe = not out.reasons
    return wf, top_diff, sp_diffs, out


def _timer_dues(wf) -> list[tuple[str, datetime]]:
    from .instance import Instance  # late: instance imports the serializer too
    inst = Instance.__new__(Instance)
    inst.wf = wf
    try:
        return [(t.element_id, t.due_at) for t in inst.waiting_timers()]
    except Exception:
        return []


def preview(old_bundle, new_bundle, state: dict) -> MigrationPreview:
    """What moving this instance to ``new_bundle`` would change, and whether it is safe."""
    return _analyse(old_bundle, new_bundle, state)[3]


def _saved_timers(wf) -> dict:
    """Waiting timers' internal data, by (workflow key, spec name), in tree order."""
    saved: dict = {}
    for key, workflow in [(None, wf)] + list(wf.subprocesses.items()):
        for task in workflow.get_tasks(skip_subprocesses=True, state=TaskState.WAITING):
            value = task.internal_data.get("event_value")
            if value is not None:
                saved.setdefault((key, task.task_spec.name), []).append(deepcopy(value))
    return saved


def migrate(old_bundle, new_bundle, state: dict) -> tuple[dict, MigrationPreview]:
    """The instance state moved to ``new_bundle``; ``MigrationRefused`` when it is not safe."""
    wf, top_diff, sp_diffs, out = _analyse(old_bundle, new_bundle, state)
    if not out.safe:
        raise MigrationRefused(out)
    saved = _saved_timers(wf)
    try:
        migrate_workflow(top_diff, wf, new_bundle.spec)
        for sp_id, sp in list(wf.subprocesses.items()):
            migrate_workflow(sp_diffs[sp_id], sp, new_bundle.subprocess_specs[sp.spec.name])
        wf.subprocess_specs = dict(new_bundle.subprocess_specs)
        # migrate_workflow reset every waiting timer: give each its old due time back.
        for key, workflow in [(None, wf)] + list(wf.subprocesses.items()):
            for task in workflow.get_tasks(skip_subprocesses=True, state=TaskState.WAITING):
                values = saved.get((key, task.task_spec.name))
                if values:
                    task._set_internal_data(event_value=values.pop(0))
        wf.do_engine_steps()
    except EngineError:
        raise
    except Exception as err:
        raise EngineError(None, f"The migration failed: {type(err).__name__}: {err}") from err
    new_state = dump_instance(wf)
    # Sanity: the moved state must load on the new version.
    load_instance(new_state, new_bundle.spec, new_bundle.subprocess_specs)
    out.timers = _timer_dues(wf)
    return new_state, out
