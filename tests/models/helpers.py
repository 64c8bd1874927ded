"""Tiny bundle variants of tests/service/bundles/mini for the model-management tests."""
from __future__ import annotations

from pathlib import Path

from service.processes import read_bundle_path

REPO = Path(__file__).resolve().parents[2]
MINI = REPO / "tests" / "service" / "bundles" / "mini"
LIFECYCLE = REPO / "bpmn" / "placement"
MIWG = REPO.parent / "shared" / "corpus" / "miwg"


def mini() -> dict[str, bytes]:
    return read_bundle_path(MINI)


def variant(*replacements: tuple[str, str]) -> dict[str, bytes]:
    """The mini bundle with text replaced in mini.bpmn (each replacement must apply)."""
    files = mini()
    text = files["mini.bpmn"].decode()
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new)
    files["mini.bpmn"] = text.encode()
    return files


# The timer waits two days instead of one (a change at a step cases may be waiting at).
LONGER_WAIT = ('<bpmn:timeDuration>"P1D"</bpmn:timeDuration>', '<bpmn:timeDuration>"P2D"</bpmn:timeDuration>')
# A new step after the decision (ahead of every running case).
EXTRA_STEP = (
    '<bpmn:sequenceFlow id="f6" sourceRef="set_outcome" targetRef="end" />',
    '<bpmn:sequenceFlow id="f6" sourceRef="set_outcome" targetRef="log_outcome" />'
    '<bpmn:scriptTask id="log_outcome" name="Log outcome"><bpmn:incoming>f6</bpmn:incoming>'
    '<bpmn:outgoing>f7</bpmn:outgoing><bpmn:script>logged = True</bpmn:script></bpmn:scriptTask>'
    '<bpmn:sequenceFlow id="f7" sourceRef="log_outcome" targetRef="end" />',
)
EXTRA_STEP_END = ('<bpmn:endEvent id="end"><bpmn:incoming>f6</bpmn:incoming></bpmn:endEvent>',
                  '<bpmn:endEvent id="end"><bpmn:incoming>f7</bpmn:incoming></bpmn:endEvent>')
# The first step is replaced by another one: the completed path of every case changed.
NEW_FIRST_STEP = ('<bpmn:userTask id="consult" ', '<bpmn:userTask id="consult_family" ')
NEW_FIRST_STEP_REFS = [
    ('<bpmn:flowNodeRef>consult</bpmn:flowNodeRef>', '<bpmn:flowNodeRef>consult_family</bpmn:flowNodeRef>'),
    ('sourceRef="start" targetRef="consult"', 'sourceRef="start" targetRef="consult_family"'),
    ('sourceRef="consult" targetRef="wait_a_day"', 'sourceRef="consult_family" targetRef="wait_a_day"'),
]
