"""Deploying a bundle: validate every file, parse the specs once, report problems in plain English.

``validate_bundle`` never raises: everything it finds becomes a ``Problem`` naming the BPMN
element where there is one.  Checks that only make sense for our own models (titles, forms,
lanes as roles) apply only to bundles that declare forms, so foreign BPMN (e.g. the OMG MIWG
reference models) stays deployable when the engine can run it.
"""
from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from datetime import datetime

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser, full_tag
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser

from .scripting import check_script
from .serializer import deserialize_specs, serialize_specs
from .views import Problem

ROLES = frozenset({
    "school_ap_lead", "head_teacher", "dsl", "senco", "la_officer", "social_worker",
    "virtual_school", "provider", "parent", "process_owner", "admin",
})
BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
NS = {"bpmn": BPMN_NS, "spiffworkflow": SPIFF_NS}

FLOW_NODES = {
    "task", "userTask", "manualTask", "scriptTask", "serviceTask", "sendTask", "receiveTask",
    "businessRuleTask", "subProcess", "adHocSubProcess", "transaction", "callActivity",
    "startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent",
    "boundaryEvent", "exclusiveGateway", "inclusiveGateway", "parallelGateway",
    "complexGateway", "eventBasedGateway",
}
SUPPORTED = {tag for tag in FLOW_NODES
             if full_tag(tag) in BpmnParser.PARSER_CLASSES
             or full_tag(tag) in SpiffBpmnParser.OVERRIDE_PARSER_CLASSES}
# Event definitions the parser silently reads as "none" events: refusing is safer than running
# a model whose link or compensation never happens.
UNSUPPORTED_EVENT_DEFS = {"linkEventDefinition": "link events",
                          "compensateEventDefinition": "compensation events"}

ISO_TOKEN = re.compile(r"^(R\d*/)?(P[\dYMWDTHS.,]*|\d{4}-\d{2}-\d{2}(T[\d:.]+)?([+-]\d{2}:?\d{2}|Z)?)"
                       r"(/\S+)?$", re.I)


class BundleInvalid(Exception):
    """A bundle with problems; ``problems`` lists them all."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("; ".join(
            f"{p.element_id + ': ' if p.element_id else ''}{p.message}" for p in self.problems))


@dataclass
class Bundle:
    """A parsed, valid bundle: the specs an instance runs on, its forms and its files."""
    main_process_id: str
    spec: object
    subprocess_specs: dict
    forms: dict = field(default_factory=dict)
    files: dict = field(default_factory=dict)
    problems: list = field(default_factory=list)

    def spec_state(self) -> dict:
        """JSON-able specs, stored once per model version."""
        state = serialize_specs(self.spec, self.subprocess_specs)
        state["main_process_id"] = self.main_process_id
        return state

    @classmethod
    def from_spec_state(cls, state: dict, forms: dict | None = None,
                        files: dict | None = None) -> "Bundle":
        """Rebuild from ``spec_state()`` without parsing XML (cheap)."""
        spec, subs = deserialize_specs(state)
        if forms is None and files:
            forms = _Builder(files).read_forms_only()
        return cls(state.get("main_process_id") or spec.name, spec, subs,
                   forms=dict(forms or {}), files=dict(files or {}))


# ------------------------------------------------------------------------------- public API
def validate_bundle(files: dict) -> list[Problem]:
    """Every problem of the bundle; [] when it can be deployed. Never raises."""
    return _build(files)[0]


def load_bundle(files: dict) -> Bundle:
    """The parsed bundle, or ``BundleInvalid`` with every problem."""
    problems, bundle = _build(files)
    if problems or bundle is None:
        raise BundleInvalid(problems or [Problem(None, "The bundle could not be loaded.")])
    return bundle


# ------------------------------------------------------------------------------ internals
def _build(files: dict):
    try:
        return _Builder(files).run()
    except Exception as err:  # the last resort: a deploy must never show a traceback
        return [Problem(None, f"The bundle could not be checked: {type(err).__name__}: {err}")], None


def _text(node) -> str:
    return (node.text or "").strip() if node is not None else ""


def _local(tag) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _as_bytes(value) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else bytes(value)


class _Builder:
    def __init__(self, files: dict):
        self.files = {str(k).replace("\\", "/"): _as_bytes(v) for k, v in dict(files).items()}
        self.problems: list[Problem] = []
        self.docs: dict[str, object] = {}       # bpmn file -> parsed tree root
        self.dmn_docs: dict[str, object] = {}
        self.forms: dict[str, dict] = {}
        self.bad_forms: set[str] = set()

    def problem(self, element_id, message, file=None):
        p = Problem(element_id or None, message, file)
        if p not in self.problems:
            self.problems.append(p)

    # ---------------------------------------------------------------------------- the steps
    def run(self):
        bpmn = {n: b for n, b in self.files.items() if n.lower().endswith(".bpmn")}
        dmn = {n: b for n, b in self.files.items() if n.lower().endswith(".dmn")}
        if not bpmn:
            self.problem(None, "The bundle has no .bpmn file.")
            return self.problems, None
        self._read_forms()
        for name, data in sorted(bpmn.items()):
            root = self._parse_xml(name, data)
            if root is not None and self._schema_ok(name, root):
                self.docs[name] = root
        for name, data in sorted(dmn.items()):
            root = self._parse_xml(name, data)
            if root is not None:
                self.dmn_docs[name] = root
        if not self.docs:
            return self.problems, None

        self.ours = bool(self.forms or self.bad_forms) or any(
            self._props(t).get("form") is not None
            for _, t in self._elements("userTask"))
        self._static_checks()

        parser = SpiffBpmnParser(validator=VALIDATOR)
        for name, root in self.docs.items():
            self._guard(name, lambda: parser.add_bpmn_xml(etree.ElementTree(root), filename=name),
                        "could not be read")
        for name, root in self.dmn_docs.items():
            self._guard(name, lambda: parser.add_dmn_xml(root, filename=name),
                        "could not be read")

        main = self._main_process(parser)
        if main is None:
            return self.problems, None
        specs = {}
        for pid in parser.get_process_ids():
            spec = self._guard(None, lambda: parser.get_spec(pid), f"process '{pid}' cannot run")
            if spec is not None:
                specs[pid] = spec
        subs = self._guard(None, lambda: parser.get_subprocess_specs(main),
                           f"process '{main}' cannot run")
        if self.problems or main not in specs or subs is None:
            return self.problems, None
        bundle = Bundle(main, specs[main], subs, forms=self.forms, files=dict(self.files))
        return [], bundle

    def _guard(self, file, fn, what):
        try:
            return fn()
        except ValidationException as err:
            msg = str(err).split("\n")[0]
            self.problem(getattr(err, "id", None), f"{msg}", getattr(err, "file_name", None) or file)
        except Exception as err:
            self.problem(None, f"{what}: {type(err).__name__}: {err}", file)
        return None

    def read_forms_only(self) -> dict:
        """The bundle's forms, for rebuilding a stored version without parsing its XML."""
        self._read_forms()
        return self.forms

    def _read_forms(self):
        for name, data in self.files.items():
            parts = name.split("/")
            if "forms" not in parts[:-1] or not name.lower().endswith(".json"):
                continue
            try:
                form = json.loads(data.decode("utf-8"))
                if not isinstance(form, dict) or not isinstance(form.get("schema"), dict):
                    raise ValueError('a form needs a "schema" object (and optionally "ui")')
                self.forms[parts[-1]] = {"schema": form["schema"], "ui": form.get("ui") or {}}
            except Exception as err:
                self.bad_forms.add(parts[-1])
                self.problem(None, f"The form file {name} cannot be read: {err}", name)

    def _parse_xml(self, name, data):
        parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_comments=True)
        try:
            return etree.fromstring(data, parser=parser)
        except etree.XMLSyntaxError as err:
            line = err.lineno if getattr(err, "lineno", None) else "?"
            self.problem(None, f"{name} is not well-formed XML (line {line}): {err.msg}", name)
        except Exception as err:
            self.problem(None, f"{name} cannot be read as XML: {err}", name)
        return None

    def _schema_ok(self, name, root) -> bool:
        VALIDATOR.preprocess(root)
        schema = VALIDATOR.validator
        if schema.validate(root):
            return True
        by_line = {}
        for el in root.iter():
            if isinstance(el.tag, str) and el.get("id") and el.sourceline not in by_line:
                by_line[el.sourceline] = el.get("id")
        for err in schema.error_log:
            self.problem(by_line.get(err.line),
                         f"Not valid BPMN (line {err.line}): {err.message}", name)
        return False

    # ----------------------------------------------------------------- element-level checks
    def _elements(self, tag):
        for name, root in self.docs.items():
            for el in root.iter(f"{{{BPMN_NS}}}{tag}"):
                yield name, el

    @staticmethod
    def _props(el) -> dict:
        props = {}
        for p in el.iterfind("bpmn:extensionElements/spiffworkflow:properties/"
                             "spiffworkflow:property", NS):
            props[p.get("name")] = p.get("value")
        return props

    def _static_checks(self):
        for name, root in self.docs.items():
            for el in root.iter():
                if not isinstance(el.tag, str) or etree.QName(el.tag).namespace != BPMN_NS:
                    continue
                tag = _local(el.tag)
                if tag in FLOW_NODES and tag not in SUPPORTED:
                    self.problem(el.get("id"), f"The engine does not support {tag} elements "
                                               f"('{el.get('name') or el.get('id')}').", name)
                if tag in UNSUPPORTED_EVENT_DEFS:
                    owner = el.getparent()
                    self.problem(owner.get("id"), f"The engine does not support "
                                                  f"{UNSUPPORTED_EVENT_DEFS[tag]} "
                                                  f"('{owner.get('name') or owner.get('id')}').",
                                 name)
        self._check_scripts()
        self._check_timers()
        self._check_call_activities()
        if self.ours:
            self._check_user_tasks()
            self._check_lanes()

    def _check_script(self, element_id, source, mode, what, file):
        if not source:
            return
        reason = check_script(source, mode)
        if reason:
            self.problem(element_id, f"The {what} of '{element_id}' is refused: {reason}", file)

    def _check_scripts(self):
        for name, el in self._elements("scriptTask"):
            self._check_script(el.get("id"), _text(el.find("bpmn:script", NS)), "exec",
                               "script", name)
        for name, root in self.docs.items():
            for tag in ("preScript", "postScript"):
                for s in root.iter(f"{{{SPIFF_NS}}}{tag}"):
                    owner = s.getparent().getparent()
                    self._check_script(owner.get("id"), _text(s), "exec", tag, name)
            for p in root.iter(f"{{{SPIFF_NS}}}parameter"):
                owner = p.getparent().getparent().getparent()
                if p.get("value"):
                    self._check_script(owner.get("id"), p.get("value").strip(), "eval",
                                       f"parameter '{p.get('id')}'", name)
            for c in root.iter(f"{{{BPMN_NS}}}conditionExpression"):
                self._check_script(c.getparent().get("id"), _text(c), "eval", "condition", name)
        for name, root in self.dmn_docs.items():
            for cell in root.iter():
                tag = _local(cell.tag)
                if tag not in ("inputExpression", "inputEntry", "outputEntry"):
                    continue
                text = _text(cell.find("{*}text"))
                if not text or text == "-":
                    continue
                owner = cell.getparent().get("id") or cell.get("id")
                if tag == "inputEntry" and check_script(f"(v) == ({text})", "eval") and \
                        check_script(f"v {text}", "eval") is None:
                    continue
                src = f"(v) == ({text})" if tag == "inputEntry" else text
                reason = check_script(src, "eval")
                if reason:
                    self.problem(owner, f"The decision cell '{text}' of '{owner}' is refused: "
                                        f"{reason}", name)

    def _check_timers(self):
        for name, root in self.docs.items():
            for td in root.iter(f"{{{BPMN_NS}}}timerEventDefinition"):
                event = td.getparent()
                eid = event.get("id")
                for kind in ("timeDate", "timeDuration", "timeCycle"):
                    node = td.find(f"bpmn:{kind}", NS)
                    if node is None:
                        continue
                    msg = _timer_problem(kind, _text(node))
                    if msg:
                        self.problem(eid, f"Timer '{event.get('name') or eid}': {msg}", name)

    def _check_call_activities(self):
        known = set()
        for _, p in self._elements("process"):
            known.add(p.get("id"))
        for name, el in self._elements("callActivity"):
            called = el.get("calledElement")
            if not called:
                self.problem(el.get("id"), "The call activity does not say which process it calls "
                                           "(calledElement).", name)
            elif called not in known:
                self.problem(el.get("id"), f"The call activity calls process '{called}', which is "
                                           "not in the bundle.", name)

    def _check_user_tasks(self):
        for name, el in self._elements("userTask"):
            eid, props = el.get("id"), self._props(el)
            if not props.get("title"):
                self.problem(eid, "The user task has no 'title' property (what to do, in the "
                                  "imperative).", name)
            form = props.get("form")
            if not form:
                self.problem(eid, "The user task has no 'form' property (its form file under "
                                  "forms/).", name)
            elif form not in self.forms and form not in self.bad_forms:
                self.problem(eid, f"The user task's form '{form}' is not in the bundle's forms/ "
                                  "folder.", name)
            for key in ("due_days", "due_school_days"):
                if props.get(key) is not None and not str(props[key]).strip().isdigit():
                    self.problem(eid, f"'{key}' must be a whole number of days.", name)

    def _check_lanes(self):
        for name, root in self.docs.items():
            in_lane = set()
            for lane in root.iter(f"{{{BPMN_NS}}}lane"):
                refs = {_text(r) for r in lane.iterfind("bpmn:flowNodeRef", NS)}
                in_lane |= refs
                if lane.get("name") not in ROLES:
                    self.problem(lane.get("id"), f"The lane '{lane.get('name')}' is not a role "
                                                 f"(use one of {', '.join(sorted(ROLES))}).", name)
            for el in root.iter(f"{{{BPMN_NS}}}userTask"):
                if el.get("id") not in in_lane:
                    self.problem(el.get("id"), "The user task is not in a lane: put it in the lane "
                                               "of the role that does it.", name)

    # ------------------------------------------------------------------------ main process
    def _main_process(self, parser):
        executable = parser.get_process_ids()
        if not executable:
            self.problem(None, 'No executable process: mark the process to run with '
                               'isExecutable="true".')
            return None
        if "bundle.json" in self.files:
            try:
                main = json.loads(self.files["bundle.json"].decode("utf-8"))["main"]
            except Exception as err:
                self.problem(None, f'bundle.json must be {{"main": "<process id>"}} ({err}).',
                             "bundle.json")
                return None
            if main not in executable:
                self.problem(main, f"bundle.json names '{main}' as the main process, but no "
                                   "executable process has that id.", "bundle.json")
                return None
            return main
        called = set()
        for pp in parser.process_parsers.values():
            called.update(pp.called_element_ids())
        candidates = [p for p in executable if p not in called]
        participants = set()
        for _, part in self._elements("participant"):
            if part.get("processRef") in candidates:
                participants.add(part.get("processRef"))
        if len(candidates) > 1 and len(participants) == 1:
            candidates = list(participants)
        if len(candidates) == 1:
            return candidates[0]
        if not candidates:
            self.problem(None, "Every executable process is called by another: there is no main "
                               "process to start.")
        else:
            self.problem(None, f"Several executable processes ({', '.join(sorted(candidates))}): "
                               'name the main one in bundle.json ({"main": "<id>"}).')
        return None


def _timer_problem(kind: str, expr: str) -> str | None:
    """Why a timer expression would fail when reached, or None. Checked at deploy time."""
    if not expr:
        return f"the {kind} expression is empty."
    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError:
        tree = None
    literal = None
    if tree is not None and isinstance(tree.body, ast.Constant):
        if not isinstance(tree.body.value, str):
            return f"the expression {expr} must give a string (an ISO 8601 {kind})."
        literal = tree.body.value
    elif ISO_TOKEN.match(expr):
        return (f"the ISO 8601 value {expr} must be quoted: write \"{expr}\" "
                "(timer expressions are Python).")
    if literal is None:
        if tree is None:
            return f"the expression {expr} is not valid Python."
        reason = check_script(expr, "eval")
        return f"the expression {expr} is refused: {reason}" if reason else None
    return _iso_problem(kind, literal)


def _has_offset(text: str) -> bool:
    return datetime.fromisoformat(text).tzinfo is not None


def _iso_problem(kind: str, value: str) -> str | None:
    try:
        if kind == "timeDuration":
            TimerEventDefinition.parse_iso_duration(value)
        elif kind == "timeDate":
            if value.upper().startswith("P"):
                return f"'{value}' is a duration, but the timer is a date: use timeDuration."
            TimerEventDefinition.parse_time_or_duration(value)
            if "W" not in value.upper() and not _has_offset(value):
                return (f"the date-time '{value}' has no offset: write one "
                        "(e.g. +00:00) or use at_nine(date).")
        else:
            parts = value.upper().replace("--", "/").split("/")
            if not parts[0].startswith("R") or len(parts) not in (2, 3):
                return f"'{value}' is not an ISO 8601 repeating interval (e.g. \"R3/P1W\")."
            TimerEventDefinition.parse_iso_recurring_interval(value)
            for part in parts[1:]:
                if not part.startswith("P") and "W" not in part and not _has_offset(part):
                    return f"the date-time '{part}' in '{value}' has no offset."
    except Exception:
        return f"'{value}' is not a valid ISO 8601 {kind}."
    return None
