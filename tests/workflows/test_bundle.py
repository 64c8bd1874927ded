"""Deploy-time validation: every problem named, nothing raised."""
import pytest

from tests.workflows.helpers import files_for
from workflows import BundleInvalid, load_bundle, validate_bundle
from workflows.bundle import _timer_problem

HEAD = (b'<?xml version="1.0" encoding="UTF-8"?><bpmn:definitions '
        b'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        b'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="D" '
        b'targetNamespace="http://x">')


def ids(problems):
    return sorted(str(p.element_id) for p in problems)


def test_unparseable_xml():
    [p] = validate_bundle({"a.bpmn": b"<bpmn:definitions><oops></bpmn:definitions>"})
    assert p.element_id is None and "line 1" in p.message and p.file == "a.bpmn"


def test_garbage_input_never_raises():
    for files in ({}, {"a.bpmn": b""}, {"a.bpmn": "\u00e9"}, {"a.bpmn": b"\x00\xff"},
                  {"x.dmn": b"<a/>"}, {"a.bpmn": HEAD + b"</bpmn:definitions>", "bundle.json": b"{"}):
        problems = validate_bundle(files)
        assert problems and all(p.message for p in problems)
    with pytest.raises(BundleInvalid):
        load_bundle({})


def test_no_executable_process():
    bpmn = HEAD + (b'<bpmn:process id="p" isExecutable="false"><bpmn:startEvent id="s"/>'
                   b'</bpmn:process></bpmn:definitions>')
    [p] = validate_bundle({"a.bpmn": bpmn})
    assert "No executable process" in p.message


def test_schema_error_names_element():
    bpmn = HEAD + (b'<bpmn:process id="p" isExecutable="true"><bpmn:startEvent id="s">'
                   b'<bpmn:bogus/></bpmn:startEvent></bpmn:process></bpmn:definitions>')
    problems = validate_bundle({"a.bpmn": bpmn})
    assert problems and "Not valid BPMN" in problems[0].message


def test_unsupported_element():
    bpmn = HEAD + (b'<bpmn:process id="p" isExecutable="true"><bpmn:startEvent id="s">'
                   b'<bpmn:outgoing>f</bpmn:outgoing></bpmn:startEvent>'
                   b'<bpmn:complexGateway id="cg"><bpmn:incoming>f</bpmn:incoming></bpmn:complexGateway>'
                   b'<bpmn:sequenceFlow id="f" sourceRef="s" targetRef="cg"/>'
                   b'</bpmn:process></bpmn:definitions>')
    problems = validate_bundle({"a.bpmn": bpmn})
    assert "cg" in ids(problems) and any("complexGateway" in p.message for p in problems)


def test_unquoted_timer_named():
    problems = validate_bundle(files_for("timer_unquoted.bpmn"))
    assert ids(problems) == ["six_weeks"] and '"P6W"' in problems[0].message


@pytest.mark.parametrize("kind,expr,ok", [
    ("timeDuration", '"P6W"', True), ("timeDuration", "P6W", False),
    ("timeDuration", '"6 weeks"', False), ("timeDuration", "review_after", True),
    ("timeDuration", '"PT1H30M"', True), ("timeDuration", "3", False),
    ("timeDate", '"2025-03-10T09:00:00+00:00"', True), ("timeDate", '"2025-03-10T09:00:00"', False),
    ("timeDate", "2025-03-10T09:00:00+00:00", False), ("timeDate", "at_nine(proposed_start)", True),
    ("timeCycle", '"R3/PT1H"', True), ("timeCycle", "R3/PT1H", False), ("timeCycle", '"PT1H"', False),
    ("timeCycle", '"R/2025-03-10T09:00:00/P1W"', False), ("timeDuration", "__import__('os')", False),
])
def test_timer_expressions(kind, expr, ok):
    assert (_timer_problem(kind, expr) is None) is ok


def test_our_bundle_rules_forms_titles_lanes():
    good = files_for("basic.bpmn", forms=True)
    assert validate_bundle(good) == []
    missing_form = dict(good)
    del missing_form["forms/decide.json"]
    assert ids(validate_bundle(missing_form)) == ["decide"]
    bad_form = {**good, "forms/decide.json": b"{not json"}
    assert any(p.file == "forms/decide.json" for p in validate_bundle(bad_form))
    bad_lane = {**good, "basic.bpmn": good["basic.bpmn"].replace(b'name="head_teacher"',
                                                                 b'name="Head"')}
    assert ids(validate_bundle(bad_lane)) == ["Lane_head"]
    no_title = {**good, "basic.bpmn": good["basic.bpmn"].replace(
        b'name="title" value="Decide on the placement"', b'name="other" value="x"')}
    assert ids(validate_bundle(no_title)) == ["decide"]


def test_call_activity_to_missing_process():
    data = files_for("call_chain.bpmn")["call_chain.bpmn"].replace(
        b'calledElement="call_inner"', b'calledElement="nowhere"')
    problems = validate_bundle({"c.bpmn": data})
    assert "call_inner_first" in ids(problems)


def test_main_process_choice():
    files = files_for("call_chain.bpmn")
    assert load_bundle(files).main_process_id == "call_main"
    two = {**files, **files_for("timer_p6w.bpmn")}
    assert any("Several executable" in p.message for p in validate_bundle(two))
    main = load_bundle({**two, "bundle.json": b'{"main": "timer_p6w"}'}).main_process_id
    assert main == "timer_p6w"
    assert validate_bundle({**two, "bundle.json": b'{"main": "nope"}'})
