"""Directory management: add/edit with a GOV.UK error summary, audited changes, CSV import that
imports nothing from a file with errors and lists every error by row."""
from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from service.models import AuditEvent, Organisation, Provider
from tests.service.factories import world
from workflows import clock

from .test_pages import client_for


@pytest.fixture
def w(sessions):
    with sessions() as session:
        people = world(session)
        session.commit()
        return {k: v.id for k, v in people.items()}


GOOD = {"name": "Valley Vocational", "registration_status": "unregistered", "setting_type": "WBP",
        "ofsted_grade": "", "last_safeguarding_check": "2025-01-10", "la_training_attended": "yes",
        "services": "vocational, motor vehicle", "age_min": "14", "age_max": "16", "capacity": "12",
        "contact_email": "office@valley.example"}


def test_only_la_officers_and_admins_manage(app, sessions, w):
    for who in ("lead", "provider_staff", "head"):
        assert client_for(app, sessions, w[who]).get("/manage/providers").status_code == 403
    assert client_for(app, sessions, w["la_officer"]).get("/manage/providers").status_code == 200


def test_add_with_errors_then_valid_and_audited(app, sessions, w):
    officer = client_for(app, sessions, w["la_officer"])
    bad = officer.post("/manage/providers/new", data={**GOOD, "name": "", "registration_status": "registered_school",
                                                      "age_min": "17", "age_max": "12", "ukprn": "12"})
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    for anchor in ("#name", "#urn", "#ukprn", "#age_max"):
        assert f'href="{anchor}"' in html
    assert officer.post("/manage/providers/new", data=GOOD).status_code == 302
    with sessions() as session:
        org = session.scalar(select(Organisation).where(Organisation.name == "Valley Vocational"))
        provider = session.get(Provider, org.id)
        assert (org.type, org.la_id) == ("provider", w["la"])
        assert (provider.setting_type, provider.services, provider.age_min, provider.capacity, provider.listed) == (
            "WBP", ["vocational", "motor vehicle"], 14, 12, True)
        event = session.scalar(select(AuditEvent).where(AuditEvent.type == "provider_created"))
        assert event.actor_id == w["la_officer"] and event.detail["provider_id"] == org.id
        assert "name" in event.detail["changed"] and "setting_type" in event.detail["changed"]
        provider_id = org.id
    page = officer.get("/manage/providers")
    assert b"Valley Vocational" in page.data and b"Check due" in page.data  # Jan 2025 check is > 12 months old
    changed = officer.post(f"/manage/providers/{provider_id}/edit", data={**GOOD, "capacity": "15",
                                                                         "la_training_attended": "no"})
    assert changed.status_code == 302
    with sessions() as session:
        event = session.scalar(select(AuditEvent).where(AuditEvent.type == "provider_updated"))
        assert event.detail["changed"] == ["capacity", "la_training_attended"]
        assert event.detail["changes"]["capacity"] == [12, 15]
        assert not session.get(Provider, provider_id).listed


def test_recent_safeguarding_check_is_not_flagged(app, sessions, w):
    with sessions() as session:
        for p in session.scalars(select(Provider)):
            p.last_safeguarding_check = clock.today_london() - timedelta(days=30)
        session.commit()
    page = client_for(app, sessions, w["la_officer"]).get("/manage/providers")
    assert b"Check due" not in page.data


def _upload(client, text: str):
    return client.post("/manage/providers/import", data={"file": (io.BytesIO(text.encode()), "providers.csv")},
                       content_type="multipart/form-data")


def test_csv_with_errors_imports_nothing_and_lists_each_row(app, sessions, w):
    officer = client_for(app, sessions, w["la_officer"])
    text = ("name,registration_status,urn,ukprn,la_training_attended,age_min,age_max,last_safeguarding_check\n"
            "Good One,registered_school,140099,,yes,11,16,2025-06-01\n"
            ",unregistered,,,yes,11,16,\n"
            "Bad FE,registered_fe,,,maybe,11,16,2025-13-01\n")
    response = _upload(officer, text)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Nothing was imported" in html
    assert "Row 3, name: Enter the provider&#39;s name" in html
    assert "Row 4, ukprn: Enter the UKPRN" in html and "Row 4, la_training_attended: Answer yes or no" in html
    assert "Row 4, last_safeguarding_check" in html and "Row 2" not in html
    with sessions() as session:
        assert session.scalar(select(Organisation).where(Organisation.name == "Good One")) is None
        assert session.scalar(select(AuditEvent).where(AuditEvent.type == "provider_created")) is None


def test_valid_csv_imports_every_row_audited(app, sessions, w):
    officer = client_for(app, sessions, w["la_officer"])
    text = ("name,registration_status,urn,ukprn,la_training_attended,services,ofsted_grade,ofsted_date\n"
            "Good One,registered_school,140099,,yes,GCSE;maths,Good,2024-11-02\n"
            "Good Two,registered_fe,,10004568,no,,,\n")
    assert _upload(officer, text).status_code == 302
    with sessions() as session:
        one = session.scalar(select(Organisation).where(Organisation.name == "Good One")).provider
        assert (one.urn, one.services, one.ofsted_grade, one.ofsted_date, one.listed) == (
            "140099", ["GCSE", "maths"], "Good", date(2024, 11, 2), True)
        two = session.scalar(select(Organisation).where(Organisation.name == "Good Two")).provider
        assert (two.ukprn, two.listed) == ("10004568", False)
        events = session.scalars(select(AuditEvent).where(AuditEvent.type == "provider_created")).all()
        assert len(events) == 2 and all(e.detail["via"] == "csv_import" for e in events)


def test_csv_without_the_required_columns(app, sessions, w):
    response = _upload(client_for(app, sessions, w["la_officer"]), "title,urn\nx,1\n")
    assert response.status_code == 422 and b"header row" in response.data


def test_duplicate_provider_names_are_refused_in_a_file_and_on_the_form(app, sessions, w):
    officer = client_for(app, sessions, w["la_officer"])
    text = ("name,registration_status,la_training_attended\n"
            "Harbour Tuition,unregistered,yes\n"          # already in the directory (world)
            "New Place,unregistered,yes\n"
            "new place,unregistered,yes\n")               # twice in the file
    response = _upload(officer, text)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Row 2, name: A provider with this name is already" in html
    assert "Row 4, name: A provider with this name is already" in html and "Row 3" not in html
    for lookalike in ("harbour tuition", "Harbour  Tuition", "Harbour Tuition\u200b"):
        form = officer.post("/manage/providers/new", data={**GOOD, "name": lookalike})
        assert form.status_code == 422 and "already in the directory" in form.get_data(as_text=True), lookalike
    with sessions() as session:
        assert session.scalar(select(Organisation).where(Organisation.name == "New Place")) is None


def test_a_spreadsheet_is_told_to_be_saved_as_csv(app, sessions, w):
    response = _upload(client_for(app, sessions, w["la_officer"]), "PK\x03\x04 not really a zip")
    assert response.status_code == 422 and b"saved as CSV" in response.data


def test_the_manage_page_is_paged(app, sessions, w):
    with sessions() as session:
        la = session.get(Organisation, w["la"])
        for n in range(30):
            org = Organisation(name=f"Provider {n:02d}", type="provider", la_id=la.id, created_at=clock.now())
            session.add(org)
            session.flush()
            session.add(Provider(id=org.id, registration_status="unregistered", la_training_attended=True))
        session.commit()
    officer = client_for(app, sessions, w["la_officer"])
    first = officer.get("/manage/providers").get_data(as_text=True)
    assert "32 providers" in first and "govuk-pagination" in first
    assert "Provider 00" in first and "Provider 29" not in first
    second = officer.get("/manage/providers?page=2").get_data(as_text=True)
    assert "Provider 29" in second and "Provider 00" not in second
