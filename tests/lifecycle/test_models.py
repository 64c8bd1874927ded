"""Every diagram of the placement bundle: user tasks have a role lane, a title and a valid form;
every element has layout; the bundle passes the adapter's validation."""
from __future__ import annotations

import json

import pytest
from jsonschema import Draft202012Validator
from lxml import etree

from workflows import validate_bundle

from .helpers import BUNDLE_DIR, ROLES, bundle_files

NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
      "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
      "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core"}
DIAGRAMS = sorted(BUNDLE_DIR.glob("*.bpmn"))
STAGES = ["referral_suitability", "safeguarding_check", "consultations", "placement_decision",
          "commissioning_agreement", "pre_start", "monitoring", "closure"]


def user_tasks():
    for path in DIAGRAMS:
        root = etree.parse(str(path)).getroot()
        lanes = {}
        for lane in root.iterfind(".//bpmn:lane", NS):
            for ref in lane.iterfind("bpmn:flowNodeRef", NS):
                lanes[ref.text] = lane.get("name")
        for task in root.iterfind(".//bpmn:userTask", NS):
            props = {p.get("name"): p.get("value")
                     for p in task.iterfind("bpmn:extensionElements/spiffworkflow:properties/"
                                            "spiffworkflow:property", NS)}
            yield path.name, task.get("id"), lanes.get(task.get("id")), props


ALL_TASKS = list(user_tasks())


def test_bundle_is_valid():
    assert validate_bundle(bundle_files()) == []
    assert json.loads((BUNDLE_DIR / "bundle.json").read_text()) == {"main": "placement"}


def test_every_stage_is_a_call_activity_to_its_own_file():
    root = etree.parse(str(BUNDLE_DIR / "placement.bpmn")).getroot()
    called = [c.get("calledElement") for c in root.iterfind(".//bpmn:callActivity", NS)]
    assert called == STAGES
    for pid in STAGES:
        files = [p.name for p in DIAGRAMS
                 if etree.parse(str(p)).getroot().find(f"bpmn:process[@id='{pid}']", NS) is not None]
        assert len(files) == 1, (pid, files)


@pytest.mark.parametrize("file,element_id,lane,props", ALL_TASKS, ids=[t[1] for t in ALL_TASKS])
def test_user_task_has_role_lane_title_and_valid_form(file, element_id, lane, props):
    assert lane in ROLES, f"{element_id} in {file} is in lane {lane!r}"
    assert props.get("title"), f"{element_id} has no title"
    form_path = BUNDLE_DIR / "forms" / props.get("form", "-")
    assert form_path.is_file(), f"{element_id}: no form file {props.get('form')}"
    form = json.loads(form_path.read_text())
    Draft202012Validator.check_schema(form["schema"])
    schema = form["schema"]
    assert schema["type"] == "object" and schema.get("title")
    for name in schema.get("required", []):
        assert name in schema["properties"], f"{form_path.name}: required {name} is not a field"
    for name, field in schema["properties"].items():
        assert field.get("title"), f"{form_path.name}: {name} has no label"
        assert name in form["ui"], f"{form_path.name}: {name} has no ui hint"
        if "enum" in field:
            assert [o["const"] for o in field["oneOf"]] == field["enum"]
            assert all(o.get("title") for o in field["oneOf"])
        if field.get("format") == "date":
            assert form["ui"][name]["widget"] == "date"
    assert form["ui"]["order"] == list(schema["properties"])
    for key in ("due_days", "due_school_days"):
        if key in props:
            assert props[key].isdigit()


def test_every_form_is_used():
    used = {props["form"] for _, _, _, props in ALL_TASKS}
    assert used == {p.name for p in (BUNDLE_DIR / "forms").glob("*.json")}


CONTRACT_FIELDS = {
    "check_provider_suitability.json": {"provider_suitable": "boolean", "registration_consideration": "string"},
    "check_safeguarding.json": {"safeguarding_outcome": ["pass", "fail"]},
    "consult_parents.json": {"parent_views": "string"},
    "hold_professionals_meeting.json": {"meeting_date": "date"},
    "decide_placement.json": {"decision": ["approve", "decline", "revise"]},
    "record_review.json": {"review_outcome": ["continue", "extend", "amend", "end"], "new_end_date": "date"},
    "close_placement.json": {"destination": ["home_school", "other_school", "special_school",
                                             "further_education", "employment_with_training",
                                             "apprenticeship", "neet", "other"],
                             "pupil_assessment": "string", "parent_assessment": "string"},
}


@pytest.mark.parametrize("form_name", sorted(CONTRACT_FIELDS))
def test_contract_decision_fields_are_used_as_written(form_name):
    props = json.loads((BUNDLE_DIR / "forms" / form_name).read_text())["schema"]["properties"]
    for field, kind in CONTRACT_FIELDS[form_name].items():
        assert field in props, f"{form_name} lacks {field}"
        if isinstance(kind, list):
            assert props[field]["enum"] == kind
        elif kind == "date":
            assert props[field]["format"] == "date"
        else:
            assert props[field]["type"] == kind


@pytest.mark.parametrize("path", DIAGRAMS, ids=[p.name for p in DIAGRAMS])
def test_every_element_has_layout(path):
    root = etree.parse(str(path)).getroot()
    shapes = {s.get("bpmnElement") for s in root.iterfind(".//bpmndi:BPMNShape", NS)}
    edges = {e.get("bpmnElement") for e in root.iterfind(".//bpmndi:BPMNEdge", NS)}
    process = root.find("bpmn:process", NS)
    for el in process.iter():
        if not isinstance(el.tag, str) or el.get("id") is None:
            continue
        tag = etree.QName(el).localname
        if tag == "sequenceFlow":
            assert el.get("id") in edges, f"{path.name}: flow {el.get('id')} has no edge"
        elif tag in ("lane", "userTask", "scriptTask", "serviceTask", "businessRuleTask",
                     "callActivity", "startEvent", "endEvent", "intermediateCatchEvent",
                     "boundaryEvent", "exclusiveGateway", "parallelGateway", "inclusiveGateway",
                     "subProcess"):
            assert el.get("id") in shapes, f"{path.name}: {el.get('id')} has no shape"
    for gw in process.iter(f"{{{NS['bpmn']}}}exclusiveGateway"):
        outgoing = process.findall(f".//bpmn:sequenceFlow[@sourceRef='{gw.get('id')}']", NS)
        if len(outgoing) > 1:
            assert gw.get("name"), f"{path.name}: splitting gateway {gw.get('id')} has no label"
            assert all(f.get("name") for f in outgoing), f"{path.name}: unlabelled flow from {gw.get('id')}"
