"""Ending a running placement early (a breakdown): the school or the LA says why, the model's
`placement_breakdown` message takes the case to closure, and the school records the destination."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from service import casework
from service.errors import Conflict, NotAllowed
from service.models import ApiToken, Case, TaskRecord
from service.security import new_token
from workflows import clock

from .helpers import at, setup_world, start_active_case, user
from .test_pages import client_for


def _open(sessions, case_id):
    with sessions() as session:
        return {t.element_id for t in session.scalars(select(TaskRecord).where(
            TaskRecord.case_id == case_id, TaskRecord.state == "open"))}


def test_the_school_ends_a_placement_early_from_the_case_page(app, sessions):
    w = setup_world(sessions)
    case_id = start_active_case(sessions, w)
    clock.set(at(date(2025, 10, 1)))
    lead = client_for(app, sessions, w["lead"])
    assert "End the placement early" in lead.get(f"/cases/{case_id}").get_data(as_text=True)
    empty = lead.post(f"/cases/{case_id}/end-early", data={"reason": "  "})
    assert empty.status_code == 422 and "Enter why the placement is ending early" in empty.get_data(as_text=True)
    assert _open(sessions, case_id) == set()
    done = lead.post(f"/cases/{case_id}/end-early", data={"reason": "The provider has closed."})
    assert done.status_code == 302
    with sessions() as session:
        case = session.get(Case, case_id)
        assert case.stage == "Closure" and case.data["breakdown"]["reason"] == "The provider has closed."
    assert _open(sessions, case_id) == {"close_placement"}
    # Once at closure there is nothing to end: no link, and a second report is refused.
    assert "End the placement early" not in lead.get(f"/cases/{case_id}").get_data(as_text=True)
    again = lead.get(f"/cases/{case_id}/end-early")
    assert again.status_code == 409 and "this case is at the Closure stage" in again.get_data(as_text=True)


@pytest.mark.parametrize("who", ["provider_staff", "dsl"])
def test_only_the_school_leads_and_the_la_end_a_placement(app, sessions, who):
    w = setup_world(sessions)
    case_id = start_active_case(sessions, w)
    with sessions() as session:
        with pytest.raises(NotAllowed):
            casework.report_breakdown(session, user(session, w[who]), case_id, "No")
    assert client_for(app, sessions, w[who]).post(f"/cases/{case_id}/end-early",
                                                   data={"reason": "No"}).status_code == 403
    assert _open(sessions, case_id) == set()


def test_the_la_ends_a_placement_through_the_api(app, sessions):
    w = setup_world(sessions)
    case_id = start_active_case(sessions, w)
    token, digest = new_token()
    with sessions() as session:
        session.add(ApiToken(user_id=w["la_officer"], token_hash=digest, created_at=clock.now()))
        session.commit()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    bad = client.post(f"/api/v1/cases/{case_id}/end-early", json={}, headers=headers)
    assert bad.status_code == 422 and "reason" in bad.json["error"]["details"]
    done = client.post(f"/api/v1/cases/{case_id}/end-early", json={"reason": "Unsafe journey."}, headers=headers)
    assert done.status_code == 200 and done.json["stage"] == "Closure"
    again = client.post(f"/api/v1/cases/{case_id}/end-early", json={"reason": "Again"}, headers=headers)
    assert again.status_code == 409 and "Closure" in again.json["error"]["message"]  # nothing to end


def test_a_referral_cannot_be_ended_early(app, sessions):
    w = setup_world(sessions)
    case_id = start_active_case(sessions, w, stage="Decision")
    with sessions() as session:
        with pytest.raises(Conflict, match="at the Decision stage"):
            casework.report_breakdown(session, user(session, w["lead"]), case_id, "Changed our minds")
    with sessions() as session:
        assert session.get(Case, case_id).stage == "Decision"
