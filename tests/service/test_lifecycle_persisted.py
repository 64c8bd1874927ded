"""The real lifecycle (bpmn/placement) through the real database: the scenarios of the engine-level
tests replayed through `casework` as the right users, on SQLite and PostgreSQL (every scenario
but the unexplained-absence message, which tests/records/test_lifecycle_alerts.py replays)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from service import casework, processes, timers
from service.errors import NotAllowed
from service.models import AuditEvent, Case, Notification, Organisation, TaskRecord, User
from tests.lifecycle.helpers import END, FORM_DATA, START, T0, nine, review_due_dates
from workflows import clock

from .factories import world

REPO_BUNDLE = processes.read_bundle_path(__import__("pathlib").Path(__file__).resolve().parents[2] / "bpmn" / "placement")

LANE_USER = {"school_ap_lead": "lead", "head_teacher": "head", "dsl": "dsl", "senco": "senco",
             "provider": "provider_staff", "social_worker": "social_worker", "virtual_school": "virtual_school",
             "la_officer": "la_officer"}


@pytest.fixture
def w(sessions):
    clock.set(T0)
    with sessions() as session:
        people = world(session)
        processes.deploy(session, REPO_BUNDLE, note="test")
        session.commit()
        ids = {k: v.id for k, v in people.items()}
        # "virtual_school" names both the organisation and its user in world(): keep both.
        ids["virtual_school_org"] = session.scalar(select(Organisation.id).where(Organisation.type == "virtual_school"))
        return ids


def referral_body(w, **pupil):
    return {
        "pupil": {"upn": "B801200005001", "first_name": "Sam", "last_name": "Taylor", "date_of_birth": "2011-05-04",
                  "year_group": 9, "sen_status": "none", "has_social_worker": False, "looked_after": False,
                  "fsm_eligible": False, **pupil},
        "school_id": w["school"], "provider_id": w["provider"], "reason": "behaviour_intervention",
        "pattern": "part_time", "sessions_per_week": 6, "proposed_start": START.isoformat(),
        "proposed_end": END.isoformat(), "objectives": "Improve attendance.", "transport_required": False,
        "social_care_id": w["social_care"] if pupil.get("has_social_worker") else None,
        "virtual_school_id": w["virtual_school_org"] if pupil.get("looked_after") else None,
    }


class Case_:
    """A persisted case driven through casework, one transaction per step."""

    def __init__(self, app, sessions, w, placement: dict | None = None, **pupil):
        self.app, self.sessions, self.w = app, sessions, w
        with sessions() as session:
            body = {**referral_body(w, **pupil), **(placement or {})}
            case = casework.start_case(session, session.get(User, w["lead"]), body)
            session.commit()
            self.id = case.id

    def open(self) -> dict[str, str]:
        with self.sessions() as session:
            return {t.element_id: t.role for t in session.scalars(
                select(TaskRecord).where(TaskRecord.case_id == self.id, TaskRecord.state == "open"))}

    def do(self, element_id: str, **answers):
        with self.sessions() as session:
            task = session.scalars(select(TaskRecord).where(
                TaskRecord.case_id == self.id, TaskRecord.state == "open", TaskRecord.element_id == element_id)).one()
            user = session.get(User, self.w[LANE_USER[task.role]])
            casework.complete_task(session, user, task.id, {**FORM_DATA[element_id], **answers})
            session.commit()

    def fire_at(self, when) -> int:
        clock.set(when)
        return timers.run_due_timers(self.app)

    def case(self) -> Case:
        with self.sessions() as session:
            case = session.get(Case, self.id)
            _ = case.data
            return case


def test_plain_pupil_referral_to_destination(app, sessions, w):
    c = Case_(app, sessions, w)
    assert c.open() == {"check_provider_suitability": "school_ap_lead"}
    assert c.case().stage == "Referral and provider suitability"
    c.do("check_provider_suitability")
    assert c.open() == {"check_safeguarding": "dsl"}
    c.do("check_safeguarding")
    assert c.open() == {"consult_parents": "school_ap_lead"}
    c.do("consult_parents")
    assert c.open() == {"decide_placement": "head_teacher"}
    c.do("decide_placement", decision="approve")
    c.do("draft_agreement")
    assert c.open() == {"accept_agreement": "provider"}
    c.do("accept_agreement")
    c.do("inform_family")
    assert c.case().stage == "Placement active"
    with sessions() as session:  # the LA officer was told of the agreed placement
        assert session.scalars(select(Notification).where(Notification.user_id == w["la_officer"])).all()

    review = START + timedelta(weeks=6)
    assert c.fire_at(nine(review - timedelta(days=7)) - timedelta(minutes=1)) == 0
    assert "record_review" not in c.open()
    assert c.fire_at(nine(review - timedelta(days=7), 1)) == 1
    assert c.open() == {"record_review": "school_ap_lead"}
    c.do("record_review", review_outcome="continue")
    for _ in range(5):  # the remaining reviews, next steps and the end date, as the timers come due
        due = c.case().next_timer_at
        if due is None or c.case().stage != "Placement active":
            break
        c.fire_at(due + timedelta(minutes=1))
        for element in ("record_review", "plan_next_steps"):
            if element in c.open():
                c.do(element)
    if "close_placement" not in c.open():
        c.fire_at(nine(END, 1))
    assert c.case().stage == "Closure"
    c.do("close_placement", destination="further_education")
    case = c.case()
    assert case.status == "closed" and case.stage is None and case.closed_at is not None
    assert case.data["destination"] == "further_education"
    assert case.data["pupil_assessment"] and case.data["parent_assessment"]
    assert c.open() == {}
    with sessions() as session:
        types = [e.type for e in session.scalars(select(AuditEvent).where(AuditEvent.case_id == c.id)
                                                 .order_by(AuditEvent.id))]
        assert types[0] == "case_started" and types[-1] == "case_closed"
        completed = [e.detail["element_id"] for e in session.scalars(
            select(AuditEvent).where(AuditEvent.case_id == c.id, AuditEvent.type == "task_completed")
            .order_by(AuditEvent.id))]
        assert completed == ["check_provider_suitability", "check_safeguarding", "consult_parents",
                             "decide_placement", "draft_agreement", "accept_agreement", "inform_family",
                             "record_review", "record_review", "record_review", "plan_next_steps",
                             "close_placement"]


def test_social_worker_decision_waits_for_meeting_and_roles_are_enforced(app, sessions, w):
    c = Case_(app, sessions, w, has_social_worker=True)
    c.do("check_provider_suitability")
    c.do("check_safeguarding")
    assert c.open() == {"consult_parents": "school_ap_lead", "consult_social_care": "social_worker"}
    with sessions() as session:  # the school lead may not answer for social care
        task = session.scalars(select(TaskRecord).where(TaskRecord.case_id == c.id,
                                                        TaskRecord.element_id == "consult_social_care")).one()
        with pytest.raises(NotAllowed):
            casework.complete_task(session, session.get(User, w["lead"]), task.id, FORM_DATA["consult_social_care"])
    c.do("consult_parents")
    c.do("consult_social_care")
    assert c.open() == {"hold_professionals_meeting": "school_ap_lead"}
    c.do("hold_professionals_meeting")
    assert c.open() == {"decide_placement": "head_teacher"}


def _to_active(c: Case_) -> None:
    for element in ("check_provider_suitability", "check_safeguarding", "consult_parents"):
        c.do(element)
    c.do("decide_placement", decision="approve")
    for element in ("draft_agreement", "accept_agreement", "inform_family"):
        c.do(element)
    assert c.case().stage == "Placement active"


def test_decline_ends_the_case_as_declined_with_reason(app, sessions, w):
    c = Case_(app, sessions, w)
    for element in ("check_provider_suitability", "check_safeguarding", "consult_parents"):
        c.do(element)
    c.do("decide_placement", decision="decline", decline_reason="A part-time timetable at school instead.")
    case = c.case()
    assert case.status == "declined" and c.open() == {}
    assert case.data["decline_reason"] == "A part-time timetable at school instead."
    with sessions() as session:
        assert session.get(Case, c.id).next_timer_at is None


def test_placement_breakdown_message_goes_to_closure(app, sessions, w):
    c = Case_(app, sessions, w)
    _to_active(c)
    with sessions() as session:
        assert casework.deliver_message(session, c.id, "placement_breakdown",
                                        {"case_id": c.id, "reason": "Provider closed"}) is True
        session.commit()
    assert c.case().stage == "Closure"
    assert c.open() == {"close_placement": "school_ap_lead"}
    with sessions() as session:  # no review timers are left behind
        case = session.get(Case, c.id)
        assert case.next_timer_at is None
    c.do("close_placement", destination="other_school")
    assert c.case().status == "closed" and c.case().data["monitoring_outcome"] == "breakdown"
    with sessions() as session:  # a closed case takes no more messages
        assert casework.deliver_message(session, c.id, "placement_breakdown", {"case_id": c.id}) is False


def test_review_extend_moves_the_end_timers(app, sessions, w):
    c = Case_(app, sessions, w)
    _to_active(c)
    review = START + timedelta(weeks=6)
    c.fire_at(nine(review - timedelta(days=7), 1))
    new_end = END + timedelta(weeks=4)
    c.do("record_review", review_outcome="extend", new_end_date=new_end.isoformat())
    case = c.case()
    assert case.end_date == new_end and case.data["end_at"] == nine(new_end).isoformat()
    assert case.data["next_steps_at"] == nine(new_end - timedelta(days=14)).isoformat()
    # nothing ends at the old end date: the stage waits for the new one
    c.fire_at(nine(END, 1))
    assert c.case().stage == "Placement active" and "close_placement" not in c.open()


def _completed(sessions, case_id) -> list[str]:
    with sessions() as session:
        return [e.detail["element_id"] for e in session.scalars(
            select(AuditEvent).where(AuditEvent.case_id == case_id, AuditEvent.type == "task_completed")
            .order_by(AuditEvent.id))]


def test_looked_after_pupil_virtual_school_consulted_and_meeting_held(app, sessions, w):
    c = Case_(app, sessions, w, looked_after=True)
    c.do("check_provider_suitability")
    c.do("check_safeguarding")
    assert c.open() == {"consult_parents": "school_ap_lead", "consult_virtual_school": "virtual_school"}
    c.do("consult_virtual_school")
    assert c.open() == {"consult_parents": "school_ap_lead"}  # the join waits for the parents
    c.do("consult_parents")
    assert c.open() == {"hold_professionals_meeting": "school_ap_lead"}
    c.do("hold_professionals_meeting")
    c.do("decide_placement", decision="approve")
    data = c.case().data
    assert data["virtual_school_views"] and data["parent_views"] and data["meeting_date"]
    assert c.case().stage == "Commissioning agreement"


def test_ehcp_full_time_at_an_unregistered_provider_refused_then_another_chosen(app, sessions, w):
    c = Case_(app, sessions, w, placement={"provider_id": w["other_provider"], "pattern": "full_time",
                                           "sessions_per_week": 10}, sen_status="ehcp")
    assert c.case().data["registration_allows"] is False
    c.do("check_provider_suitability", provider_suitable=False,
         registration_consideration="Unregistered, full time and an EHCP: not allowed.")
    assert c.open() == {"choose_another_provider": "school_ap_lead"}
    c.do("choose_another_provider", provider_id=w["provider"])
    case = c.case()
    assert case.provider_id == w["provider"] and case.data["registration_allows"] is True
    c.do("check_provider_suitability")
    c.do("check_safeguarding")
    assert c.open() == {"consult_parents": "school_ap_lead", "confirm_section_f": "senco"}
    c.do("confirm_section_f")
    assert c.open() == {"consult_parents": "school_ap_lead", "notify_send_caseworker": "senco"}
    c.do("notify_send_caseworker")
    c.do("consult_parents")
    assert c.open() == {"decide_placement": "head_teacher"}  # no professionals' meeting needed


def test_safeguarding_fail_then_another_provider(app, sessions, w):
    c = Case_(app, sessions, w)
    c.do("check_provider_suitability")
    c.do("check_safeguarding", safeguarding_outcome="fail", safeguarding_notes="No DBS evidence.",
         staff_checks_confirmed=False)
    assert c.case().stage == "Referral and provider suitability"
    assert c.open() == {"choose_another_provider": "school_ap_lead"}
    c.do("choose_another_provider", provider_id=w["provider"])
    c.do("check_provider_suitability")
    c.do("check_safeguarding")
    assert c.open() == {"consult_parents": "school_ap_lead"}
    assert _completed(sessions, c.id) == ["check_provider_suitability", "check_safeguarding",
                                          "choose_another_provider", "check_provider_suitability",
                                          "check_safeguarding"]


def test_revise_loops_back_to_the_referral(app, sessions, w):
    c = Case_(app, sessions, w)
    for element in ("check_provider_suitability", "check_safeguarding", "consult_parents"):
        c.do(element)
    c.do("decide_placement", decision="revise", revision_request="Fewer sessions, please.")
    assert c.open() == {"revise_referral": "school_ap_lead"}
    c.do("revise_referral", sessions_per_week=4)
    assert c.open() == {"check_provider_suitability": "school_ap_lead"}
    for element in ("check_provider_suitability", "check_safeguarding", "consult_parents"):
        c.do(element)
    c.do("decide_placement", decision="approve")
    case = c.case()
    assert case.stage == "Commissioning agreement" and case.data["sessions_per_week"] == 4


def test_review_reminder_overdue_escalation_and_next_steps(app, sessions, w):
    c = Case_(app, sessions, w)
    _to_active(c)
    first = review_due_dates()[0]
    assert c.fire_at(nine(first - timedelta(days=8))) == 0 and "record_review" not in c.open()
    assert c.fire_at(nine(first - timedelta(days=7), 1)) == 1
    assert c.open() == {"record_review": "school_ap_lead"}
    c.fire_at(nine(first + timedelta(days=6), 1))
    assert c.open() == {"record_review": "school_ap_lead"}
    c.fire_at(nine(first + timedelta(days=7), 1))  # 5 school days overdue
    assert c.open() == {"record_review": "school_ap_lead", "chase_overdue_review": "head_teacher"}
    with sessions() as session:
        assert session.scalars(select(Notification).where(Notification.user_id == w["head"])).all()
    c.do("chase_overdue_review")
    c.do("record_review", review_date=(first + timedelta(days=8)).isoformat())
    for due in review_due_dates()[1:]:
        c.fire_at(nine(due - timedelta(days=7), 1))
        c.do("record_review")
    c.fire_at(nine(END - timedelta(days=15), 1))
    assert "plan_next_steps" not in c.open()
    c.fire_at(nine(END - timedelta(days=14), 1))
    assert c.open() == {"plan_next_steps": "school_ap_lead"}


def test_agreement_end_date_before_its_start_is_refused_naming_the_field(app, sessions, w):
    from service.errors import InvalidInput
    c = Case_(app, sessions, w)
    for element in ("check_provider_suitability", "check_safeguarding", "consult_parents"):
        c.do(element)
    c.do("decide_placement", decision="approve")
    with pytest.raises(InvalidInput) as refused:
        c.do("draft_agreement", start_date=START.isoformat(), end_date=(START - timedelta(days=1)).isoformat())
    assert refused.value.details == {"end_date": "Latest end date must be the same as or after start date"}
    assert c.open() == {"draft_agreement": "school_ap_lead"}  # nothing was lost or moved on
    c.do("draft_agreement", start_date=START.isoformat(), end_date=START.isoformat())
    assert c.open() == {"accept_agreement": "provider"}
