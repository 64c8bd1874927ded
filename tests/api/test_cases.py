"""Cases: start from a referral, list, read (staff detail, parent summary), audit trail."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from service.models import AuditEvent

from .conftest import link_parent


def test_start_case_returns_201_with_the_case(api, body, w):
    response = api.post("/cases", json=body(), as_="lead")
    assert response.status_code == 201, response.json
    case = response.json
    assert {"id", "status", "stage", "pupil", "provider", "open_tasks", "data", "model_version"} <= set(case)
    assert case["status"] == "open" and case["model"] == "mini" and case["model_version"] == 1
    assert case["pupil"]["upn"] == "B801200005001" and case["provider"]["id"] == w["provider"]
    assert [(t["name"], t["title"]) for t in case["open_tasks"]] == [("consult", "Consult the pupil's parents")]
    assert case["open_tasks"][0]["id"]
    assert case["data"]["case_id"] == case["id"] and case["data"]["reason"] == "behaviour_intervention"
    assert response.headers["Location"].endswith(f"/api/v1/cases/{case['id']}")


def test_la_officer_can_refer_for_a_school_in_their_la(api, body):
    assert api.post("/cases", json=body(), as_="la_officer").status_code == 201


def test_parent_cannot_refer_and_is_told_to_talk_to_the_school(api, body):
    response = api.post("/cases", json=body(), as_="parent")
    assert response.status_code == 403
    assert response.json["error"]["code"] == "forbidden"
    assert "talk to your child's school" in response.json["error"]["message"]


@pytest.mark.parametrize("who", ["provider_staff", "head", "social_worker", "owner"])
def test_other_roles_cannot_refer(api, body, who):
    assert api.post("/cases", json=body(), as_=who).status_code == 403


def test_start_case_needs_auth(api, body):
    assert api.post("/cases", json=body()).status_code == 401


@pytest.mark.parametrize("overrides, field", [
    ({"pupil": {"upn": "B801200005002"}}, "pupil.upn"),           # bad check letter
    ({"pupil": {"upn": "12345"}}, "pupil.upn"),
    ({"reason": "boredom"}, "reason"),                             # wrong enum
    ({"pattern": "sometimes"}, "pattern"),
    ({"pupil": {"sen_status": "lots"}}, "pupil.sen_status"),
    ({"proposed_end": "2027-01-01"}, "proposed_end"),              # end before start
    ({"provider_id": 99999}, "provider_id"),                       # unknown provider
    ({"sessions_per_week": 11}, "sessions_per_week"),
    ({"proposed_start": "2027-02-30"}, "proposed_start"),
    ({"pupil": {"has_social_worker": True}}, "social_care_id"),
    ({"school_id": "Oak"}, "school_id"),
])
def test_invalid_referral_fields_are_422_per_field(api, body, overrides, field):
    response = api.post("/cases", json=body(**overrides), as_="lead")
    assert response.status_code == 422, response.json
    error = response.json["error"]
    assert error["code"] == "invalid" and field in error["details"], error


def test_missing_fields_are_422(api, body):
    referral = body()
    del referral["objectives"]
    del referral["pupil"]["last_name"]
    response = api.post("/cases", json=referral, as_="lead")
    assert response.status_code == 422
    assert {"objectives", "pupil.last_name"} <= set(response.json["error"]["details"])


def test_school_cannot_refer_for_another_school(api, body, w):
    response = api.post("/cases", json=body(school_id=w["other_school"]), as_="lead")
    assert response.status_code == 422 and "school_id" in response.json["error"]["details"]


@pytest.mark.parametrize("payload", ["{not json", "[1, 2]", ""])
def test_invalid_json_body_is_422_with_a_clear_message(api, payload):
    response = api.client.post("/api/v1/cases", data=payload, content_type="application/json",
                               headers={"Authorization": f"Bearer {api.tokens['lead']}"})
    assert response.status_code == 422 and response.is_json
    assert "JSON" in response.json["error"]["message"]


def test_list_cases_shows_only_visible_cases_with_filters_and_paging(api, body, w):
    mine = [api.post("/cases", json=body(), as_="lead").json["id"] for _ in range(3)]
    other = api.post("/cases", json=body(school_id=w["other_school"]), as_="other_lead").json["id"]
    listed = api.get("/cases", as_="lead")
    assert listed.status_code == 200 and sorted(c["id"] for c in listed.json) == sorted(mine)
    assert listed.headers["X-Total-Count"] == "3"
    assert {c["id"] for c in api.get("/cases", as_="la_officer").json} == {*mine, other}
    assert {c["id"] for c in api.get("/cases", as_="provider_staff").json} == {*mine, other}
    assert api.get("/cases", as_="other_provider_staff").json == []
    assert api.get("/cases", as_="owner").json == []
    by_school = api.get(f"/cases?school_id={w['other_school']}", as_="la_officer").json
    assert [c["id"] for c in by_school] == [other]
    assert api.get("/cases?status=closed", as_="lead").json == []
    assert len(api.get("/cases?status=open", as_="lead").json) == 3
    assert api.get(f"/cases?provider_id={w['other_provider']}", as_="la_officer").json == []
    page = api.get("/cases?per_page=2&page=2", as_="lead")
    assert len(page.json) == 1 and 'rel="prev"' in page.headers["Link"]
    assert 'rel="next"' in api.get("/cases?per_page=2", as_="lead").headers["Link"]


@pytest.mark.parametrize("query, field", [("status=lost", "status"), ("school_id=x", "school_id"),
                                          ("per_page=0", "per_page"), ("page=0", "page")])
def test_bad_list_filters_are_422(api, query, field):
    response = api.get(f"/cases?{query}", as_="lead")
    assert response.status_code == 422 and field in response.json["error"]["details"]


def test_read_case_is_audited(api, case, sessions):
    response = api.get(f"/cases/{case['id']}", as_="head")
    assert response.status_code == 200
    assert response.json["id"] == case["id"] and response.json["open_tasks"][0]["name"] == "consult"
    with sessions() as session:
        viewed = session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.case_id == case["id"], AuditEvent.type == "case_viewed"))
    assert viewed == 1


def test_other_school_and_other_provider_are_refused(api, case, sessions):
    for who in ("other_lead", "other_provider_staff"):
        response = api.get(f"/cases/{case['id']}", as_=who)
        assert response.status_code == 403 and response.json["error"]["code"] == "forbidden"
        assert "Sam" not in response.get_data(as_text=True)
        assert api.get(f"/cases/{case['id']}/events", as_=who).status_code == 403
    with sessions() as session:
        refused = session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.case_id == case["id"], AuditEvent.type == "case_access_refused"))
    assert refused == 4


def test_the_cases_provider_sees_the_case(api, case):
    assert api.get(f"/cases/{case['id']}", as_="provider_staff").status_code == 200


def test_unknown_case_is_404_and_unauthenticated_is_401(api, case):
    assert api.get("/cases/99999", as_="lead").status_code == 404
    assert api.get("/cases/99999/events", as_="lead").status_code == 404
    assert api.get(f"/cases/{case['id']}").status_code == 401
    assert api.get(f"/cases/{case['id']}/events").status_code == 401


def test_parent_sees_a_summary_of_their_own_childs_case_only(api, case, sessions, w):
    assert api.get(f"/cases/{case['id']}", as_="parent").status_code == 403
    link_parent(sessions, case["id"], w["parent"])
    response = api.get(f"/cases/{case['id']}", as_="parent")
    assert response.status_code == 200
    summary = response.json
    assert summary["summary"] is True and summary["status"] == "open"
    assert "data" not in summary and "upn" not in summary["pupil"] and "date_of_birth" not in summary["pupil"]
    assert summary["open_tasks"] == []  # the school's tasks are not the parent's business
    assert [c["id"] for c in api.get("/cases", as_="parent").json] == [case["id"]]
    assert "data" not in api.get("/cases", as_="parent").json[0]
    assert api.get(f"/cases/{case['id']}/events", as_="parent").status_code == 403


def test_events_are_the_audit_trail_oldest_first(api, case, w):
    api.get(f"/cases/{case['id']}", as_="lead")
    response = api.get(f"/cases/{case['id']}/events", as_="lead")
    assert response.status_code == 200
    events = response.json
    assert events[0]["type"] == "case_started" and events[0]["actor"]["id"] == w["lead"]
    assert {"at", "actor", "type", "detail"} <= set(events[0])
    assert [e["at"] for e in events] == sorted(e["at"] for e in events)
    assert "case_viewed" in [e["type"] for e in events]


@pytest.mark.parametrize("change, field", [
    ({"pupil": {"date_of_birth": "1900-05-01"}}, "pupil.date_of_birth"),    # not of school age
    ({"pupil": {"date_of_birth": "2024-05-01"}}, "pupil.date_of_birth"),
    ({"proposed_start": "1990-01-08", "proposed_end": "1990-03-30"}, "proposed_start"),
    ({"social_care_id": "social_care"}, "social_care_id"),                  # no social worker
    ({"virtual_school_id": "virtual_school_org"}, "virtual_school_id"),     # not looked after
])
def test_referral_facts_that_cannot_be_true_are_422(api, body, w, sessions, change, field):
    from service.models import Organisation
    with sessions() as session:
        orgs = {"social_care": w["social_care"],
                "virtual_school_org": session.scalar(select(Organisation.id).where(Organisation.type == "virtual_school"))}
    referral = body()
    for key, value in change.items():
        if key == "pupil":
            referral["pupil"].update(value)
        else:
            referral[key] = orgs.get(value, value)
    response = api.post("/cases", json=referral, as_="lead")
    assert response.status_code == 422 and field in response.json["error"]["details"], response.json
