"""The task page: every widget, GOV.UK errors, drafts, completion, stale submits and conflicts."""
from __future__ import annotations

from sqlalchemy import select

from service.models import Case, TaskRecord

from .conftest import link_parent, start_case

GOOD = {"summary": "Needs a calm setting", "details": "Likes art", "risk": "low", "supports": ["mentor", "meals"],
        "consent": "yes", "contact_date-day": "3", "contact_date-month": "11", "contact_date-year": "2026",
        "hours": "12", "action": "complete"}


def _open(sessions, case_id, element_id):
    with sessions() as session:
        return session.scalar(select(TaskRecord).where(TaskRecord.case_id == case_id,
                                                       TaskRecord.element_id == element_id,
                                                       TaskRecord.state == "open"))


def _lock(sessions, case_id):
    with sessions() as session:
        return session.get(Case, case_id).lock_version


def test_each_widget_type_is_rendered(app, w, sessions, sign_in):
    case_id = start_case(sessions, w)
    task = _open(sessions, case_id, "assess")
    body = sign_in(w["lead"]).get(f"/tasks/{task.id}").get_data(as_text=True)
    assert '<input class="govuk-input" id="summary" name="summary" type="text"' in body
    assert '<textarea class="govuk-textarea" id="details" name="details"' in body
    assert 'id="risk" name="risk" type="radio" value="low"' in body and "High risk" in body
    assert 'name="supports" type="checkbox" value="mentor"' in body and "A mentor" in body
    assert 'name="consent" type="radio" value="yes"' in body and 'value="no"' in body
    assert 'name="contact_date-day"' in body and 'name="contact_date-year"' in body
    assert 'id="hours" name="hours"' in body and 'inputmode="numeric"' in body
    assert "Registered school: allowed" in body  # a read-only value from the case

    assert "<li>Check the attendance record</li>" in body and "<strong>latest</strong>" in body
    assert 'name="lock_version"' in body and 'name="csrf_token"' in body
    assert "Case AP-" in body and "B801200005001" in body  # the case summary beside the form


def test_empty_submit_shows_the_error_summary(app, w, sessions, sign_in):
    case_id = start_case(sessions, w)
    task = _open(sessions, case_id, "assess")
    response = sign_in(w["lead"]).post(f"/tasks/{task.id}", data={"action": "complete",
                                                                  "lock_version": _lock(sessions, case_id)})
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "govuk-error-summary" in body and "There is a problem" in body
    assert 'href="#summary"' in body and 'href="#contact_date-day"' in body and 'href="#risk"' in body
    assert "Enter summary of needs" in body and "Select risk level" in body
    assert "Select an answer to “Have the parents been told?”" in body
    assert 'class="govuk-error-message"' in body
    assert "Registered school: allowed" in body  # read-only values survive a failed submit
    assert "<title>Error: " in body


def test_invalid_date_and_number_get_govuk_errors_and_keep_answers(app, w, sessions, sign_in):
    case_id = start_case(sessions, w)
    task = _open(sessions, case_id, "assess")
    data = dict(GOOD, **{"contact_date-day": "31", "contact_date-month": "2", "hours": "twelve",
                         "lock_version": _lock(sessions, case_id)})
    body = sign_in(w["lead"]).post(f"/tasks/{task.id}", data=data).get_data(as_text=True)
    assert "Date of contact must be a real date" in body and "Hours a week must be a number" in body
    assert 'value="Needs a calm setting"' in body and 'value="31"' in body
    assert 'value="mentor" checked' in body


def test_schema_limits_are_reported(app, w, sessions, sign_in):
    case_id = start_case(sessions, w)
    task = _open(sessions, case_id, "assess")
    data = dict(GOOD, hours="99", lock_version=_lock(sessions, case_id))
    body = sign_in(w["lead"]).post(f"/tasks/{task.id}", data=data).get_data(as_text=True)
    assert "Hours a week must be 40 or less" in body


def test_draft_is_saved_and_shown_again(app, w, sessions, sign_in):
    case_id = start_case(sessions, w)
    task = _open(sessions, case_id, "assess")
    client = sign_in(w["lead"])
    response = client.post(f"/tasks/{task.id}", data={"summary": "Half done", "risk": "high",
                                                      "contact_date-day": "1", "contact_date-month": "12",
                                                      "contact_date-year": "2026", "action": "draft"})
    assert response.status_code == 302
    body = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "saved as a draft" in body
    assert 'value="Half done"' in body and 'value="high" checked' in body and 'value="2026"' in body
    assert _open(sessions, case_id, "assess").draft["summary"] == "Half done"


def test_complete_moves_the_case_on(app, w, sessions, sign_in):
    case_id = start_case(sessions, w)
    task = _open(sessions, case_id, "assess")
    client = sign_in(w["lead"])
    response = client.post(f"/tasks/{task.id}", data=dict(GOOD, lock_version=_lock(sessions, case_id)))
    assert response.status_code == 302 and response.headers["Location"].endswith("/inbox")
    assert "You completed" in client.get("/inbox").get_data(as_text=True)
    assert _open(sessions, case_id, "parent_views") is not None
    with sessions() as session:
        case = session.get(Case, case_id)
        assert case.data["supports"] == ["mentor", "meals"] and case.data["consent"] is True
        assert case.data["contact_date"] == "2026-11-03" and case.data["hours"] == 12


def test_second_completion_gets_a_friendly_conflict_page(app, w, sessions, sign_in):
    case_id = start_case(sessions, w)
    task = _open(sessions, case_id, "assess")
    lock = _lock(sessions, case_id)
    first, second = sign_in(w["lead"]), sign_in(w["lead2"])
    page = second.get(f"/tasks/{task.id}")
    assert page.status_code == 200
    assert first.post(f"/tasks/{task.id}", data=dict(GOOD, lock_version=lock)).status_code == 302
    response = second.post(f"/tasks/{task.id}", data=dict(GOOD, lock_version=lock))
    body = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "This task has already been completed" in body and "Traceback" not in body
    assert "school_ap_lead person completed this task" in body
    assert second.get(f"/tasks/{task.id}").status_code == 200


def test_stale_submit_says_someone_else_changed_it(app, w, sessions, sign_in):
    case_id = start_case(sessions, w)
    task = _open(sessions, case_id, "assess")
    stale = _lock(sessions, case_id) - 1
    response = sign_in(w["lead"]).post(f"/tasks/{task.id}", data=dict(GOOD, lock_version=stale))
    body = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "Someone else changed this case" in body and 'value="Needs a calm setting"' in body
    assert f'name="lock_version" value="{stale + 1}"' in body
    assert _open(sessions, case_id, "assess") is not None


def test_other_role_sees_the_task_but_cannot_submit(app, w, sessions, sign_in):
    case_id = start_case(sessions, w)
    task = _open(sessions, case_id, "assess")
    client = sign_in(w["head"])
    body = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "You can see it but not complete it" in body and 'name="summary"' not in body
    assert client.post(f"/tasks/{task.id}", data=GOOD).status_code == 403
    assert sign_in(w["other_lead"]).get(f"/tasks/{task.id}").status_code == 404


def test_parents_and_other_agencies_cannot_read_the_schools_tasks(app, w, sessions, sign_in):
    case_id = start_case(sessions, w)
    link_parent(sessions, w, case_id)
    task = _open(sessions, case_id, "assess")
    for who in ("parent", "provider_staff"):
        response = sign_in(w[who]).get(f"/tasks/{task.id}")
        body = response.get_data(as_text=True)
        assert response.status_code == 403, who
        assert "School AP lead role" in body and 'name="summary"' not in body
    assert sign_in(w["la_officer"]).get(f"/tasks/{task.id}").status_code == 200  # oversees the case


def test_parent_gives_their_own_assessment(app, w, sessions, sign_in):
    case_id = start_case(sessions, w)
    lead = sign_in(w["lead"])
    lead.post(f"/tasks/{_open(sessions, case_id, 'assess').id}", data=dict(GOOD, lock_version=_lock(sessions, case_id)))
    link_parent(sessions, w, case_id)
    parent = sign_in(w["parent"])
    summary = parent.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "Sam's placement" in summary and "Give your own assessment" in summary
    assert "B801200005001" not in summary and "Timeline" not in summary
    task = _open(sessions, case_id, "parent_views")
    page = parent.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "Your child's placement" in page and "B801200005001" not in page
    response = parent.post(f"/tasks/{task.id}", data={"parent_assessment": "Happier now", "action": "complete",
                                                       "lock_version": _lock(sessions, case_id)})
    assert response.status_code == 302
    assert _open(sessions, case_id, "decide") is not None
    assert parent.get(f"/cases/{case_id}/diagram.json").status_code == 404
