"""The inbox and task work: list, read with form and prefill, claim/unclaim, complete (200/403/409/422)."""
from __future__ import annotations

from datetime import timedelta

import pytest

from service import casework
from workflows import clock

from .conftest import open_task


def test_inbox_lists_open_tasks_of_my_roles(api, case, w):
    response = api.get("/tasks", as_="lead")
    assert response.status_code == 200
    [task] = response.json
    assert task["name"] == "consult" and task["title"] == "Consult the pupil's parents"
    assert task["case_id"] == case["id"] and task["role"] == "school_ap_lead"
    assert task["assignee"] is None and task["due_at"] and task["overdue"] is False
    assert api.get("/tasks", as_="head").json == []           # not the head teacher's role
    assert api.get("/tasks", as_="other_lead").json == []     # not their school's case
    assert api.get("/tasks?scope=mine", as_="lead").json == []


def test_overdue_and_scope_mine_after_claim(api, case, w):
    task_id = case["open_tasks"][0]["id"]
    claimed = api.post(f"/tasks/{task_id}/claim", as_="lead")
    assert claimed.status_code == 200 and claimed.json["assignee"]["id"] == w["lead"]
    assert [t["id"] for t in api.get("/tasks?scope=mine", as_="lead").json] == [task_id]
    clock.travel(timedelta(days=30))
    assert api.get("/tasks?scope=team", as_="lead").json[0]["overdue"] is True


def test_bad_scope_is_422(api):
    response = api.get("/tasks?scope=everyone", as_="lead")
    assert response.status_code == 422 and "scope" in response.json["error"]["details"]


def test_read_task_with_form_and_prefill(api, case, sessions, w):
    task_id = case["open_tasks"][0]["id"]
    response = api.get(f"/tasks/{task_id}", as_="lead")
    assert response.status_code == 200
    task = response.json
    assert task["form"]["schema"]["required"] == ["parent_views"]
    assert task["form"]["ui"]["parent_views"]["widget"] == "textarea"
    assert task["data"] == {} and task["case"]["id"] == case["id"]
    with sessions() as session:
        from service.models import User
        casework.save_draft(session, session.get(User, w["lead"]), task_id, {"parent_views": "draft"})
        session.commit()
    assert api.get(f"/tasks/{task_id}", as_="lead").json["data"] == {"parent_views": "draft"}


def test_task_refusals(api, case):
    task_id = case["open_tasks"][0]["id"]
    assert api.get(f"/tasks/{task_id}").status_code == 401
    assert api.get("/tasks/no-such-task", as_="lead").status_code == 404
    assert api.get(f"/tasks/{task_id}", as_="other_lead").status_code == 403
    # Another role's task: the head teacher (same school) may read it, as on the task page, but
    # not work it; provider staff may do neither.
    assert api.get(f"/tasks/{task_id}", as_="head").status_code == 200
    assert api.get(f"/tasks/{task_id}", as_="provider_staff").status_code == 403
    for action in ("claim", "unclaim", "complete"):
        assert api.post(f"/tasks/{task_id}/{action}", json={"data": {}}).status_code == 401
        assert api.post(f"/tasks/no-such-task/{action}", json={"data": {}}, as_="lead").status_code == 404
        assert api.post(f"/tasks/{task_id}/{action}", json={"data": {}}, as_="other_lead").status_code == 403
        assert api.post(f"/tasks/{task_id}/{action}", json={"data": {}}, as_="head").status_code == 403


def test_claim_conflicts_and_unclaim(api, case, sessions, w):
    from tests.service.factories import user
    from service.models import Organisation
    with sessions() as session:
        colleague = user(session, session.get(Organisation, w["school"]), "school_ap_lead")
        from service.models import ApiToken
        from service.security import new_token
        token, digest = new_token()
        session.add(ApiToken(user_id=colleague.id, token_hash=digest, created_at=clock.now()))
        session.commit()
    api.tokens["colleague"] = token
    task_id = case["open_tasks"][0]["id"]
    assert api.post(f"/tasks/{task_id}/claim", as_="lead").status_code == 200
    taken = api.post(f"/tasks/{task_id}/claim", as_="colleague")
    assert taken.status_code == 409 and taken.json["error"]["code"] == "conflict"
    assert api.post(f"/tasks/{task_id}/unclaim", as_="colleague").status_code == 403
    released = api.post(f"/tasks/{task_id}/unclaim", as_="lead")
    assert released.status_code == 200 and released.json["assignee"] is None
    assert api.post(f"/tasks/{task_id}/claim", as_="colleague").status_code == 200


def test_complete_returns_the_case_and_twice_is_409(api, case, sessions):
    task_id = case["open_tasks"][0]["id"]
    response = api.post(f"/tasks/{task_id}/complete", json={"data": {"parent_views": "Supportive"}}, as_="lead")
    assert response.status_code == 200, response.json
    assert response.json["id"] == case["id"] and response.json["data"]["parent_views"] == "Supportive"
    assert response.json["open_tasks"] == []  # the mini model now waits a day
    again = api.post(f"/tasks/{task_id}/complete", json={"data": {"parent_views": "Again"}}, as_="lead")
    assert again.status_code == 409 and again.json["error"]["code"] == "conflict"
    assert "already been completed" in again.json["error"]["message"]


def test_complete_through_to_the_decision(api, case, sessions):
    task_id = case["open_tasks"][0]["id"]
    api.post(f"/tasks/{task_id}/complete", json={"data": {"parent_views": "Fine"}}, as_="lead")
    clock.travel(timedelta(days=2))
    with sessions() as session:
        casework.fire_timers(session, case["id"])
        session.commit()
    decide = open_task(sessions, case["id"], "decide")
    assert [t["name"] for t in api.get("/tasks", as_="head").json] == ["decide"]
    bad = api.post(f"/tasks/{decide.id}/complete", json={"data": {"decision": "maybe"}}, as_="head")
    assert bad.status_code == 422 and "decision" in bad.json["error"]["details"]
    done = api.post(f"/tasks/{decide.id}/complete", json={"data": {"decision": "decline"}}, as_="head")
    assert done.status_code == 200 and done.json["status"] == "declined"


@pytest.mark.parametrize("payload, field", [
    ({"data": {"parent_views": ""}}, "parent_views"),     # the form's own rule
    ({"data": {}}, "parent_views"),                      # required by the form
    ({"data": "text"}, "data"),
    ({}, "data"),
    ({"data": {"parent_views": "x"}, "lock_version": "one"}, "lock_version"),
])
def test_invalid_task_data_is_422(api, case, payload, field):
    task_id = case["open_tasks"][0]["id"]
    response = api.post(f"/tasks/{task_id}/complete", json=payload, as_="lead")
    assert response.status_code == 422 and field in response.json["error"]["details"], response.json


def test_stale_lock_version_is_409(api, case):
    task_id = case["open_tasks"][0]["id"]
    response = api.post(f"/tasks/{task_id}/complete",
                        json={"data": {"parent_views": "x"}, "lock_version": case["lock_version"] + 5}, as_="lead")
    assert response.status_code == 409 and "changed by someone else" in response.json["error"]["message"]
    ok = api.post(f"/tasks/{task_id}/complete",
                  json={"data": {"parent_views": "x"}, "lock_version": case["lock_version"]}, as_="lead")
    assert ok.status_code == 200
