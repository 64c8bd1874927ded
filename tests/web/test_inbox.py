"""The inbox lists only tasks the user may see and work, with counts, filters, claim and release."""
from __future__ import annotations

from sqlalchemy import select

from service.models import TaskRecord

from .conftest import start_case


def _task_id(sessions, case_id, element_id="assess"):
    with sessions() as session:
        return session.scalar(select(TaskRecord.id).where(TaskRecord.case_id == case_id,
                                                          TaskRecord.element_id == element_id,
                                                          TaskRecord.state == "open"))


def test_team_tasks_are_listed_with_counts_and_due_tags(app, w, sessions, sign_in):
    start_case(sessions, w)
    client = sign_in(w["lead"])
    body = client.get("/inbox").get_data(as_text=True)
    assert "My tasks (0)" in body and "My team's tasks (1)" in body
    team = client.get("/inbox?tab=team").get_data(as_text=True)
    assert "Assess the pupil&#39;s needs" in team and "Sam Taylor" in team and "B801200005001" in team
    assert "Due soon" in team  # due in 2 days


def test_other_school_and_other_roles_see_nothing(app, w, sessions, sign_in):
    start_case(sessions, w)
    for who in ("other_lead", "head", "provider_staff"):
        body = sign_in(w[who]).get("/inbox?tab=team").get_data(as_text=True)
        assert "Sam Taylor" not in body and "My team's tasks (0)" in body


def test_claim_and_release_move_between_tabs(app, w, sessions, sign_in):
    case_id = start_case(sessions, w)
    task_id = _task_id(sessions, case_id)
    client = sign_in(w["lead"])
    response = client.post(f"/tasks/{task_id}/claim", data={"next": "inbox"}, follow_redirects=True)
    body = response.get_data(as_text=True)
    assert "You claimed" in body and "My tasks (1)" in body
    colleague = sign_in(w["lead2"]).get("/inbox?tab=team").get_data(as_text=True)
    assert "school_ap_lead person" in colleague or "Assigned to" in colleague
    refused = sign_in(w["lead2"]).post(f"/tasks/{task_id}/claim", follow_redirects=True).get_data(as_text=True)
    assert "already assigned" in refused
    body = client.post(f"/tasks/{task_id}/release", data={"next": "inbox"}, follow_redirects=True).get_data(as_text=True)
    assert "You released" in body and "My tasks (0)" in body


def test_reassign_within_the_same_role(app, w, sessions, sign_in):
    case_id = start_case(sessions, w)
    task_id = _task_id(sessions, case_id)
    client = sign_in(w["lead"])
    page = client.get(f"/tasks/{task_id}/reassign").get_data(as_text=True)
    assert f'value="{w["lead2"]}"' in page and f'value="{w["head"]}"' not in page
    assert client.post(f"/tasks/{task_id}/reassign", data={}).status_code == 422
    response = client.post(f"/tasks/{task_id}/reassign", data={"assignee_id": str(w["head"])})
    assert response.status_code == 422
    response = client.post(f"/tasks/{task_id}/reassign", data={"assignee_id": str(w["lead2"])})
    assert response.status_code == 302
    assert "My tasks (1)" in sign_in(w["lead2"]).get("/inbox").get_data(as_text=True)


def test_filters_search_and_sort(app, w, sessions, sign_in):
    start_case(sessions, w)
    start_case(sessions, w, pupil={"upn": "Q801200005002", "first_name": "Alex", "last_name": "Jones"})
    client = sign_in(w["lead"])
    body = client.get("/inbox?tab=team").get_data(as_text=True)
    assert "Sam Taylor" in body and "Alex Jones" in body and "My team's tasks (2)" in body

    response = client.post("/inbox", data={"tab": "team", "q": "jones", "sort": "due"})
    assert response.status_code == 302 and "jones" not in response.headers["Location"].lower()
    body = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Alex Jones" in body and "Sam Taylor" not in body and "(filtered)" in body

    client.post("/inbox", data={"tab": "team", "q": "Q801200005002"})
    body = client.get("/inbox?tab=team").get_data(as_text=True)
    assert "Alex Jones" in body and "Sam Taylor" not in body

    client.post("/inbox", data={"tab": "team", "type": "decide"})
    assert "There are no open tasks" in client.get("/inbox?tab=team").get_data(as_text=True)
    client.post("/inbox", data={"tab": "team", "type": "assess", "stage": ""})
    assert "My team's tasks (2)" in client.get("/inbox?tab=team").get_data(as_text=True)

    client.post("/inbox", data={"tab": "team", "action": "clear"})
    for sort in ("due", "due-desc", "newest"):
        assert client.get(f"/inbox?tab=team&sort={sort}").status_code == 200


def test_paging(app, w, sessions, sign_in, monkeypatch):
    from service.web import common, inbox
    monkeypatch.setattr(inbox, "PAGE_SIZE", 1)
    monkeypatch.setattr(common, "PAGE_SIZE", 1)
    start_case(sessions, w)
    start_case(sessions, w, pupil={"upn": "Q801200005002", "first_name": "Alex", "last_name": "Jones"})
    client = sign_in(w["lead"])
    first = client.get("/inbox?tab=team").get_data(as_text=True)
    second = client.get("/inbox?tab=team&page=2").get_data(as_text=True)
    assert "govuk-pagination" in first
    assert ("Alex Jones" in first) != ("Alex Jones" in second)
