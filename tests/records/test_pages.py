"""The records pages: week register (all or nothing, error summary), school decisions, records,
register with filters and CSV exports checked field by field, census, dashboard drill-downs, SAR."""
from __future__ import annotations

import csv
import io
import json
from datetime import date

import pytest
from sqlalchemy import select

from service import casework
from service.models import AttendanceDecision, AttendanceRecord, AuditEvent, Case, Organisation, ProgressReport
from tests.service.factories import PASSWORD
from workflows import clock

from .helpers import at, placement_referral, setup_world, start_active_case, user


@pytest.fixture
def env(app, sessions):
    w = setup_world(sessions)
    case_id = start_active_case(sessions, w, pattern="full_time", sessions_per_week=10)
    with sessions() as session:
        session.get(Organisation, w["provider"]).provider.urn = "140001"
        session.commit()
    clock.set(at(date(2025, 9, 26)))
    return w, case_id


def client_for(app, sessions, user_id):
    client = app.test_client()
    with sessions() as session:
        email = user(session, user_id).email
    response = client.post("/sign-in", data={"email": email, "password": PASSWORD})
    assert response.status_code in (302, 303), response.status_code
    return client


def week_form(**marks):
    return {f"s{k.replace('_', '-')}": v for k, v in marks.items()}


def test_provider_registers_a_week_all_or_nothing(app, sessions, env):
    w, case_id = env
    provider = client_for(app, sessions, w["provider_staff"])
    page = provider.get(f"/cases/{case_id}/attendance/week?start=2025-09-22")
    assert page.status_code == 200 and b"Never use B or K" in page.data
    assert b'value="B"' not in page.data and b'value="K"' not in page.data
    bad = provider.post(f"/cases/{case_id}/attendance/week?start=2025-09-22", data={
        "start": "2025-09-22", "s2025-09-22-AM-code": "/", "s2025-09-22-PM-code": "C", "s2025-09-23-AM-code": "B",
        "s2025-09-23-AM-note": "x"})
    assert bad.status_code == 422
    assert b"govuk-error-summary" in bad.data and b'href="#s2025-09-22-PM-note"' in bad.data
    assert b'href="#s2025-09-23-AM-code"' in bad.data
    with sessions() as session:
        assert session.scalars(select(AttendanceRecord)).all() == []
    data = {"start": "2025-09-22"}
    for d in ("22", "23", "24", "25"):
        data[f"s2025-09-{d}-AM-code"] = "/"
        data[f"s2025-09-{d}-PM-code"] = "\\"
    data["s2025-09-26-AM-code"] = "N"
    good = provider.post(f"/cases/{case_id}/attendance/week?start=2025-09-22", data=data)
    assert good.status_code == 302
    with sessions() as session:
        assert len(session.scalars(select(AttendanceRecord)).all()) == 9
    page = provider.get(f"/cases/{case_id}/attendance/week?start=2025-09-22")
    assert b"Waiting for the school" in page.data and b"80%" in page.data  # 8 of 10 (Fri PM unregistered counts)


def test_school_decides_and_provider_cannot(app, sessions, env):
    w, case_id = env
    provider = client_for(app, sessions, w["provider_staff"])
    provider.post(f"/cases/{case_id}/attendance/week", data={"start": "2025-09-22", "s2025-09-26-AM-code": "I"})
    with sessions() as session:
        rid = session.scalar(select(AttendanceRecord.id))
    assert provider.post(f"/cases/{case_id}/attendance/{rid}/decision", data={"decision": "authorised"}).status_code == 403
    head = client_for(app, sessions, w["head"])
    page = head.get(f"/cases/{case_id}/attendance")
    assert b"Authorise" in page.data
    response = head.post(f"/cases/{case_id}/attendance/{rid}/decision",
                         data={"decision": "unauthorised", "note": "No evidence", "back": "overview"})
    assert response.status_code == 302
    with sessions() as session:
        row = session.scalar(select(AttendanceDecision))
        assert (row.decision, row.note, row.decided_by_id) == ("unauthorised", "No evidence", w["head"])
        assert session.get(AttendanceRecord, rid).code == "I"
    assert head.get(f"/cases/{case_id}/attendance/week?start=2025-09-22").status_code == 200
    # The head teacher cannot register (no register form either).
    assert head.post(f"/cases/{case_id}/attendance/week", data={"s2025-09-25-AM-code": "/"}).status_code == 403


def test_other_school_and_parent_cannot_see(app, sessions, env):
    w, case_id = env
    other = client_for(app, sessions, w["other_lead"])
    for path in ("/attendance", "/attendance/week", "/records", "/export", "/export.json"):
        assert other.get(f"/cases/{case_id}{path}").status_code == 404


def test_progress_report_and_records_page(app, sessions, env):
    w, case_id = env
    provider = client_for(app, sessions, w["provider_staff"])
    bad = provider.post(f"/cases/{case_id}/progress/new", data={"period": "", "report_date": "2030-01-01"})
    assert bad.status_code == 422 and b'href="#pupil_voice"' in bad.data and b'href="#report_date"' in bad.data
    ok = provider.post(f"/cases/{case_id}/progress/new", data={
        "period": "Autumn 1", "report_date": "2025-09-26", "progress": "Reading age up 6 months",
        "pupil_voice": "I like the workshop", "behaviour": "Settled", "next_steps": "More maths"})
    assert ok.status_code == 302
    lead = client_for(app, sessions, w["lead"])
    page = lead.get(f"/cases/{case_id}/records")
    assert b"Reading age up 6 months" in page.data and b"I like the workshop" in page.data
    assert lead.post(f"/cases/{case_id}/progress/new", data={}).status_code == 403
    with sessions() as session:
        assert session.scalar(select(AuditEvent).where(AuditEvent.type == "progress_report_added"))


def _csv(response):
    assert response.status_code == 200 and response.mimetype == "text/csv"
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def test_register_csv_and_census_field_by_field(app, sessions, env):
    w, case_id = env
    provider = client_for(app, sessions, w["provider_staff"])
    provider.post(f"/cases/{case_id}/attendance/week", data={
        "start": "2025-09-22", "s2025-09-22-AM-code": "/", "s2025-09-22-PM-code": "\\", "s2025-09-23-AM-code": "G"})
    with sessions() as session:
        session.add(ProgressReport(case_id=case_id, period="=HYPERLINK(1)", report_date=date(2025, 9, 25), progress="=SUM(A1)",
                                   behaviour="", pupil_voice="Good", next_steps="", recorded_at=clock.now()))
        session.commit()
    lead = client_for(app, sessions, w["lead"])
    page = lead.get("/register?q=taylor")
    assert page.status_code == 200 and b"AP-" in page.data
    assert b"No placements match" in lead.get("/register?q=nobody").data
    [row] = _csv(lead.get("/register.csv"))
    ref = f"AP-{case_id:05d}"
    assert row["case_reference"] == ref and row["upn"] == "B801200005001"
    assert (row["surname"], row["forename"], row["school"], row["provider"]) == (
        "Taylor", "Sam", "Oak Academy", "Bridge Learning Centre")
    assert (row["status"], row["stage"], row["pattern"], row["sessions_per_week"]) == (
        "open", "Placement active", "full_time", "10")
    assert (row["start_date"], row["end_date"], row["objectives"]) == ("2025-09-15", "2026-02-13", "Attendance above 90%.")  # the agreement's objectives
    # 15-19 Sep: 10 expected, none registered; 22-26 Sep: 10 expected, / \ G registered -> 2 of 20.
    assert (row["possible_sessions"], row["attended_sessions"], row["attendance_percent"]) == ("20", "2", "10.0")
    assert (row["authorised_absences"], row["unauthorised_absences"]) == ("0", "1")
    assert row["progress_reports"] == "'=HYPERLINK(1): =SUM(A1)"  # a formula is never live in a spreadsheet
    assert row["destination"] == "" and row["pupil_assessment"] == ""
    [census] = _csv(lead.get("/register/census.csv"))
    assert census == {"upn": "B801200005001", "surname": "Taylor", "forename": "Sam", "date_of_birth": "2012-05-04",
                      "case_reference": ref, "provider_name": "Bridge Learning Centre", "provider_urn": "140001",
                      "provider_ukprn": "", "setting_type": "", "entry_date": "2025-09-15", "leaving_date": "",
                      "attendance_pattern": "FT", "sessions_per_week": "10"}
    with sessions() as session:
        types = {e.type for e in session.scalars(select(AuditEvent).where(AuditEvent.case_id.is_(None)))}
        assert {"register_exported", "census_exported", "register_viewed"} <= types
    other = client_for(app, sessions, w["other_lead"])
    assert _csv(other.get("/register.csv")) == []


def test_census_setting_type_for_unregistered_provider(app, sessions):
    w = setup_world(sessions)
    case_id = start_active_case(sessions, w)
    with sessions() as session:
        case = session.get(Case, case_id)
        case.provider.urn = None
        case.provider.ukprn = None
        case.provider.setting_type = "OOT"
        session.commit()
    clock.set(at(date(2025, 9, 26)))
    [census] = _csv(client_for(app, sessions, w["lead"]).get("/register/census.csv"))
    assert (census["provider_urn"], census["setting_type"], census["attendance_pattern"],
            census["sessions_per_week"]) == ("", "OOT", "PT", "4")


def test_dashboard_figures_drill_down(app, sessions, env):
    w, case_id = env
    provider = client_for(app, sessions, w["provider_staff"])
    provider.post(f"/cases/{case_id}/attendance/week", data={
        "start": "2025-09-22", "s2025-09-22-AM-code": "/", "s2025-09-22-PM-code": "N"})
    lead = client_for(app, sessions, w["lead"])
    page = lead.get("/dashboard")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f'provider={w["provider"]}&amp;stage=Placement+active&amp;status=open' in html
    assert f'href="/register?provider={w["provider"]}&amp;week=2025-09-22"' in html
    drill = lead.get(f"/register?provider={w['provider']}&week=2025-09-22")
    assert f"AP-{case_id:05d}".encode() in drill.data
    assert b"0 placements" in lead.get(f"/register?provider={w['provider']}&week=2025-08-04").data
    assert client_for(app, sessions, w["provider_staff"]).get("/dashboard").status_code == 403
    assert "style=" not in html and "<script>" not in html


def test_subject_access_export(app, sessions, env):
    w, case_id = env
    client_for(app, sessions, w["provider_staff"]).post(f"/cases/{case_id}/attendance/week", data={
        "start": "2025-09-22", "s2025-09-22-AM-code": "I"})
    head = client_for(app, sessions, w["head"])
    with sessions() as session:
        rid = session.scalar(select(AttendanceRecord.id))
    head.post(f"/cases/{case_id}/attendance/{rid}/decision", data={"decision": "authorised", "note": "GP letter"})
    response = head.get(f"/cases/{case_id}/export.json")
    assert response.status_code == 200
    data = json.loads(response.data)
    assert data["pupil"]["upn"] == "B801200005001" and data["pupil"]["first_name"] == "Sam"
    assert data["pupil"]["date_of_birth"] == "2012-05-04" and data["pupil"]["school"] == "Oak Academy"
    assert data["placement"]["reference"] == f"AP-{case_id:05d}" and data["placement"]["provider"] == "Bridge Learning Centre"
    [mark] = data["attendance"]["register"]
    assert (mark["date"], mark["session"], mark["code"], mark["category"]) == ("2025-09-22", "AM", "I", "authorised_absence")
    assert [(d["decision"], d["note"]) for d in mark["school_decisions"]] == [("authorised", "GP letter")]
    assert data["case_data"]["objectives"] == "Attendance above 90%."
    assert any(t["title"] and t["state"] == "completed" for t in data["tasks"])
    assert any(e["type"] == "case_started" for e in data["audit_trail"])
    page = head.get(f"/cases/{case_id}/export")
    assert page.status_code == 200 and b"GP letter" in page.data
    with sessions() as session:
        events = session.scalars(select(AuditEvent).where(AuditEvent.type == "subject_access_export")).all()
        assert sorted(e.detail["format"] for e in events) == ["html", "json"]
        assert all(e.actor_id == w["head"] and e.case_id == case_id for e in events)


def test_attendance_page_names_each_alert_the_la_received(app, sessions, env):
    w, case_id = env
    # 15 school days from the placement's start, Mon 15 Sep to Fri 3 Oct 2025, three weeks.
    days = [date(2025, 9, d) for d in (15, 16, 17, 18, 19, 22, 23, 24, 25, 26, 29, 30)] + [
        date(2025, 10, d) for d in (1, 2, 3)]
    clock.set(at(date(2025, 10, 6)))
    provider = client_for(app, sessions, w["provider_staff"])
    for week in (days[0:5], days[5:10], days[10:15]):
        data = {"start": week[0].isoformat()}
        for d in week:
            data[f"s{d.isoformat()}-AM-code"] = "O"
            data[f"s{d.isoformat()}-AM-note"] = "Not seen, no call"
        assert provider.post(f"/cases/{case_id}/attendance/week", data=data).status_code == 302
    head = client_for(app, sessions, w["head"])
    page = head.get(f"/cases/{case_id}/attendance").get_data(as_text=True)
    assert "The local authority was alerted" in page
    assert "10 school days of continuous unauthorised absence from" in page  # raised in week two
    assert "15 school days of continuous absence from" in page


def test_dashboard_attendance_counts_only_placements_that_have_begun(app, sessions, env):
    w, case_id = env
    # A second referral to the same provider, proposed to start on 15 September but still at its
    # first stage: it expects no sessions yet, so it must not pull the provider's figure down.
    clock.set(at(date(2025, 9, 10)))
    with sessions() as session:
        waiting = casework.start_case(session, user(session, w["lead"]), placement_referral(session, w))
        session.commit()
        waiting_id = waiting.id
        assert waiting.stage != "Placement active" and waiting.provider_id == w["provider"]
    clock.set(at(date(2025, 9, 26)))
    data = {"start": "2025-09-22"}
    for d in ("22", "23", "24", "25", "26"):
        data[f"s2025-09-{d}-AM-code"] = "/"
        data[f"s2025-09-{d}-PM-code"] = "\\"
    provider = client_for(app, sessions, w["provider_staff"])
    assert provider.post(f"/cases/{case_id}/attendance/week", data=data).status_code == 302
    lead = client_for(app, sessions, w["lead"])
    html = lead.get("/dashboard").get_data(as_text=True)
    assert "Week of 22 September 2025: 100% (10 of 10 sessions, 1 placements)" in html
    drill = lead.get(f"/register?provider={w['provider']}&week=2025-09-22").get_data(as_text=True)
    assert f"AP-{case_id:05d}" in drill and f"AP-{waiting_id:05d}" not in drill


def test_week_page_before_the_placement_has_begun_offers_no_register(app, sessions):
    w = setup_world(sessions)
    case_id = start_active_case(sessions, w, stage="Decision")
    provider = client_for(app, sessions, w["provider_staff"])
    page = provider.get(f"/cases/{case_id}/attendance/week?start=2025-09-22")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "The placement has not begun yet" in html
    assert 'name="s2025-09-22-AM-code"' not in html
    refused = provider.post(f"/cases/{case_id}/attendance/week", data={"start": "2025-09-22",
                                                                     "s2025-09-22-AM-code": "/"})
    assert refused.status_code == 409


def test_control_characters_in_any_other_form_are_refused_and_nothing_is_stored(app, sessions, env):
    w, case_id = env
    provider = client_for(app, sessions, w["provider_staff"])
    response = provider.post(f"/cases/{case_id}/progress/new", data={
        "period": "Autumn\x00 1", "report_date": "2025-09-26", "progress": "Good", "pupil_voice": "Fine"})
    assert response.status_code == 400 and "cannot be stored" in response.get_data(as_text=True)
    with sessions() as session:
        assert session.scalars(select(ProgressReport)).all() == []
