"""Starting a referral from the page; parents are told to talk to the school."""
from __future__ import annotations

from sqlalchemy import select

from service.models import Case

FORM = {
    "pupil.upn": "B801200005001", "pupil.first_name": "Sam", "pupil.last_name": "Taylor",
    "pupil.date_of_birth-day": "4", "pupil.date_of_birth-month": "5", "pupil.date_of_birth-year": "2012",
    "pupil.year_group": "9", "pupil.sen_status": "none", "pupil.has_social_worker": "no",
    "pupil.looked_after": "no", "pupil.fsm_eligible": "yes", "reason": "suspension", "pattern": "part_time",
    "sessions_per_week": "4", "proposed_start-day": "11", "proposed_start-month": "1", "proposed_start-year": "2027",
    "proposed_end-day": "26", "proposed_end-month": "3", "proposed_end-year": "2027",
    "objectives": "Back to full time", "transport_required": "no",
}


def test_parent_gets_a_clear_403_page(app, w, sign_in):
    response = sign_in(w["parent"]).get("/referrals/new")
    body = response.get_data(as_text=True)
    assert response.status_code == 403
    assert "Talk to your child&#39;s school" in body or "Talk to your child's school" in body
    assert sign_in(w["parent"]).post("/referrals/new", data=FORM).status_code == 403
    assert sign_in(w["head"]).get("/referrals/new").status_code == 403


def test_referral_form_has_every_field(app, w, sign_in):
    body = sign_in(w["lead"]).get("/referrals/new").get_data(as_text=True)
    for name in ("pupil.upn", "pupil.first_name", "pupil.last_name", "pupil.date_of_birth-day", "pupil.year_group",
                 "pupil.sen_status", "pupil.has_social_worker", "pupil.looked_after", "pupil.fsm_eligible",
                 "provider_id", "reason", "pattern", "sessions_per_week", "proposed_start-day", "proposed_end-day",
                 "objectives", "transport_required", "social_care_id", "virtual_school_id"):
        assert f'name="{name}"' in body, name
    assert 'name="school_id"' not in body  # a school user refers pupils of their own school
    assert "Bridge Learning Centre" in body and "Harbour Tuition" in body
    la = sign_in(w["la_officer"]).get("/referrals/new").get_data(as_text=True)
    assert 'name="school_id"' in la and "Oak Academy" in la


def test_referral_starts_a_case(app, w, sessions, sign_in):
    client = sign_in(w["lead"])
    response = client.post("/referrals/new", data=dict(FORM, provider_id=str(w["provider"])))
    assert response.status_code == 302, response.get_data(as_text=True)
    with sessions() as session:
        case = session.scalar(select(Case))
        assert case.school_id == w["school"] and case.pupil.fsm_eligible is True
        assert case.data["pupil"]["year_group"] == 9 and case.data["proposed_start"] == "2027-01-11"
    assert "Referral made" in client.get(response.headers["Location"]).get_data(as_text=True)


def test_referral_errors_are_shown_per_field(app, w, sign_in):
    bad = dict(FORM, **{"pupil.upn": "B801200005002", "proposed_end-year": "2026", "pupil.date_of_birth-month": "13",
                        "pupil.has_social_worker": "yes"})
    del bad["pattern"]
    response = sign_in(w["lead"]).post("/referrals/new", data=dict(bad, provider_id=str(w["provider"])))
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "govuk-error-summary" in body
    assert 'href="#pupil-date_of_birth-day"' in body and "Date of birth must be a real date" in body
    assert 'href="#pattern"' in body and 'href="#social_care_id"' in body
    assert 'value="Sam"' in body  # answers kept
    response = sign_in(w["lead"]).post("/referrals/new", data=dict(FORM, **{"pupil.upn": "B801200005002",
                                                                            "provider_id": str(w["provider"])}))
    body = response.get_data(as_text=True)
    assert 'href="#pupil-upn"' in body and "Enter a valid UPN" in body
