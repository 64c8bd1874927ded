"""The provider's attendance register: codes of the 2024 regulations, one mark per session, never
overwritten; an unexplained absence of a pupil with a social worker reaches the case at once."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from service.models import AttendanceRecord, AuditEvent, Case
from workflows import clock

from .conftest import deploy_bundle, open_task

MARK = {"date": "2027-01-12", "session": "AM", "code": "/", "note": ""}


@pytest.fixture(autouse=True)
def _term_time():
    clock.set(datetime(2027, 1, 15, 12, 0, tzinfo=timezone.utc))


def _begin(sessions, case_id: int) -> None:
    """The small test models have no stages: put the case where a register is kept."""
    with sessions() as session:
        session.get(Case, case_id).stage = "Placement active"
        session.commit()


@pytest.fixture
def case(case, sessions):
    _begin(sessions, case["id"])
    return case


def test_no_register_before_the_placement_has_begun(api, body, sessions):
    referral = api.post("/cases", json=body(), as_="lead").json
    response = api.post(f"/cases/{referral['id']}/attendance", json=MARK, as_="provider_staff")
    assert response.status_code == 409 and "once the placement has begun" in response.json["error"]["message"]
    with sessions() as session:
        assert session.scalars(select(AttendanceRecord)).all() == []


def test_provider_registers_a_session(api, case, sessions, w):
    response = api.post(f"/cases/{case['id']}/attendance", json=MARK, as_="provider_staff")
    assert response.status_code == 201, response.json
    mark = response.json
    assert mark["code"] == "/" and mark["category"] == "present" and mark["session"] == "AM"
    assert mark["recorded_by"]["id"] == w["provider_staff"] and mark["message_delivered"] is None
    pm = api.post(f"/cases/{case['id']}/attendance", json={**MARK, "session": "PM", "code": "\\"},
                  as_="provider_staff")
    assert pm.status_code == 201
    register = api.get(f"/cases/{case['id']}/attendance", as_="lead").json
    assert [(m["session"], m["code"]) for m in register] == [("AM", "/"), ("PM", "\\")]


def test_a_session_is_registered_once_and_never_overwritten(api, case, sessions):
    assert api.post(f"/cases/{case['id']}/attendance", json=MARK, as_="provider_staff").status_code == 201
    again = api.post(f"/cases/{case['id']}/attendance", json={**MARK, "code": "I"}, as_="provider_staff")
    assert again.status_code == 409 and again.json["error"]["code"] == "conflict"
    with sessions() as session:
        assert [r.code for r in session.scalars(select(AttendanceRecord))] == ["/"]


@pytest.mark.parametrize("who", ["lead", "other_provider_staff", "la_officer", "parent"])
def test_only_the_cases_provider_registers(api, case, who):
    response = api.post(f"/cases/{case['id']}/attendance", json=MARK, as_=who)
    assert response.status_code == 403


def test_attendance_401_and_404(api, case):
    assert api.post(f"/cases/{case['id']}/attendance", json=MARK).status_code == 401
    assert api.post("/cases/99999/attendance", json=MARK, as_="provider_staff").status_code == 404


@pytest.mark.parametrize("change, field", [
    ({"code": "A"}, "code"),              # not a 2024 code
    ({"code": "Y9"}, "code"),
    ({"code": "/", "session": "PM"}, "code"),
    ({"session": "EVE"}, "session"),
    ({"date": "2027-13-01"}, "date"),
    ({"date": "2027-02-01"}, "date"),     # in the future
    ({"code": None}, "code"),
])
def test_invalid_marks_are_422(api, case, change, field):
    response = api.post(f"/cases/{case['id']}/attendance", json={**MARK, **change}, as_="provider_staff")
    assert response.status_code == 422 and field in response.json["error"]["details"], response.json


def test_missing_fields_are_422(api, case):
    response = api.post(f"/cases/{case['id']}/attendance", json={"note": "x"}, as_="provider_staff")
    assert response.status_code == 422
    assert {"date", "session", "code"} <= set(response.json["error"]["details"])


def test_unexplained_absence_with_a_social_worker_reaches_the_case(app, api, body, sessions, w):
    app.config["DEFAULT_PROCESS_MODEL"] = "absence"
    deploy_bundle(sessions, "absence")
    referral = body(pupil={"has_social_worker": True}, social_care_id=w["social_care"])
    case = api.post("/cases", json=referral, as_="lead").json
    _begin(sessions, case["id"])
    response = api.post(f"/cases/{case['id']}/attendance", json={**MARK, "code": "N"}, as_="provider_staff")
    assert response.status_code == 201 and response.json["message_delivered"] is True
    task = open_task(sessions, case["id"], "follow_up")
    assert task is not None and task.role == "social_worker"
    detail = api.get(f"/cases/{case['id']}", as_="social_worker").json
    assert detail["data"]["absence"] == {"case_id": case["id"], "date": "2027-01-12", "session": "AM"}


def test_unexplained_absence_without_a_social_worker_sends_nothing(api, case, sessions):
    response = api.post(f"/cases/{case['id']}/attendance", json={**MARK, "code": "O"}, as_="provider_staff")
    assert response.status_code == 201 and response.json["message_delivered"] is None
    with sessions() as session:
        types = set(session.scalars(select(AuditEvent.type).where(AuditEvent.case_id == case["id"])))
    assert "attendance_recorded" in types and not types & {"message_received", "message_ignored"}


def _absence(api, case, code="I", day="2027-01-12"):
    response = api.post(f"/cases/{case['id']}/attendance", json={**MARK, "date": day, "code": code},
                        as_="provider_staff")
    assert response.status_code == 201, response.json
    return response.json


def test_the_school_decides_an_absence_and_may_change_its_mind(api, case, sessions, w):
    mark = _absence(api, case)
    assert mark["decision"] is None
    path = f"/cases/{case['id']}/attendance/{mark['id']}/decision"
    first = api.post(path, json={"decision": "unauthorised", "note": "No evidence yet"}, as_="head")
    assert first.status_code == 200, first.json
    assert first.json["decision"]["decision"] == "unauthorised"
    assert first.json["decision"]["decided_by"]["id"] == w["head"]
    assert first.json["code"] == "I" and first.json["category"] == "authorised_absence"  # the mark stays
    second = api.post(path, json={"decision": "authorised", "note": "GP letter seen"}, as_="lead")
    assert second.status_code == 200
    register = api.get(f"/cases/{case['id']}/attendance", as_="provider_staff").json
    assert [(m["code"], m["decision"]["decision"], m["decision"]["note"]) for m in register] == [
        ("I", "authorised", "GP letter seen")]
    with sessions() as session:
        decided = session.scalars(select(AuditEvent).where(AuditEvent.type == "attendance_decided")
                                  .order_by(AuditEvent.id)).all()
        assert [e.detail["decision"] for e in decided] == ["unauthorised", "authorised"]
        assert decided[1].detail["previous"] == "unauthorised"


@pytest.mark.parametrize("who", ["provider_staff", "la_officer", "other_lead", "parent"])
def test_only_the_pupils_school_decides(api, case, who):
    mark = _absence(api, case)
    response = api.post(f"/cases/{case['id']}/attendance/{mark['id']}/decision",
                        json={"decision": "authorised"}, as_=who)
    assert response.status_code in (403, 404)  # 404 for those who may not see the case at all
    if who == "provider_staff":
        assert response.status_code == 403


def test_who_may_decide_is_checked_before_what_they_sent(api, case):
    mark = _absence(api, case)
    response = api.post(f"/cases/{case['id']}/attendance/{mark['id']}/decision", json={"decision": "bogus"},
                        as_="provider_staff")
    assert response.status_code == 403


@pytest.mark.parametrize("payload, field", [
    ({"decision": "maybe"}, "decision"),
    ({}, "decision"),
    ({"decision": "authorised", "note": "x" * 2001}, "note"),
    ({"decision": "authorised", "extra": 1}, "extra"),
])
def test_bad_decisions_are_422_naming_the_field(api, case, payload, field):
    mark = _absence(api, case)
    response = api.post(f"/cases/{case['id']}/attendance/{mark['id']}/decision", json=payload, as_="head")
    assert response.status_code == 422
    assert field in response.json["error"]["details"], response.json


def test_a_present_mark_needs_no_decision_and_unknown_marks_are_404(api, case):
    present = api.post(f"/cases/{case['id']}/attendance", json=MARK, as_="provider_staff").json
    response = api.post(f"/cases/{case['id']}/attendance/{present['id']}/decision",
                        json={"decision": "authorised"}, as_="head")
    assert response.status_code == 422 and "decision" in response.json["error"]["details"]
    missing = api.post(f"/cases/{case['id']}/attendance/99999/decision", json={"decision": "authorised"},
                       as_="head")
    assert missing.status_code == 404
