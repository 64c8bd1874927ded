"""Case list and case page: visibility, audit of every view, timeline, diagram endpoints."""
from __future__ import annotations

from sqlalchemy import func, select

from service.models import AuditEvent

from .conftest import start_case


def test_case_page_shows_the_case_and_records_the_view(app, w, sessions, sign_in):
    case_id = start_case(sessions, w)
    client = sign_in(w["lead"])
    body = client.get(f"/cases/{case_id}").get_data(as_text=True)
    for text in ("Sam Taylor", "B801200005001", "Bridge Learning Centre", "Oak Academy", "Part time, 4 sessions a week",
                 "Assess the pupil&#39;s needs", "Nobody yet", "made the referral", "Re-engage with learning"):
        assert text in body, text
    assert 'data-xml-url="/cases/%d/diagram.bpmn"' % case_id in body
    assert "<script>" not in body and "style=" not in body
    client.get(f"/cases/{case_id}")
    with sessions() as session:
        views = session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.case_id == case_id, AuditEvent.type == "case_viewed"))
    assert views == 2


def test_case_page_is_404_for_another_school(app, w, sessions, sign_in):
    case_id = start_case(sessions, w)
    for who in ("other_lead", "other_provider_staff"):
        client = sign_in(w[who])
        assert client.get(f"/cases/{case_id}").status_code == 404
        assert client.get(f"/cases/{case_id}/diagram.json").status_code == 404
        assert client.get(f"/cases/{case_id}/diagram.bpmn").status_code == 404
        assert "Sam Taylor" not in client.get("/cases").get_data(as_text=True)
    for who in ("provider_staff", "la_officer", "head"):
        assert sign_in(w[who]).get(f"/cases/{case_id}").status_code == 200


def test_diagram_endpoints(app, w, sessions, sign_in):
    case_id = start_case(sessions, w)
    client = sign_in(w["lead"])
    xml = client.get(f"/cases/{case_id}/diagram.bpmn")
    assert xml.mimetype == "application/xml" and b'id="webmini"' in xml.data
    state = client.get(f"/cases/{case_id}/diagram.json").get_json()
    assert "assess" in state["active"] and "prepare" in state["completed"] and "start" in state["completed"]


def test_cases_list_and_status_filter(app, w, sessions, sign_in):
    start_case(sessions, w)
    client = sign_in(w["lead"])
    body = client.get("/cases").get_data(as_text=True)
    assert "Sam Taylor" in body and "1 case" in body
    assert "Sam Taylor" not in client.get("/cases?status=closed").get_data(as_text=True)
    assert "Sam Taylor" in client.get("/cases?status=open").get_data(as_text=True)
