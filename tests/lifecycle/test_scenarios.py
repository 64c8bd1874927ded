"""The placement lifecycle, scenario by scenario, through the engine adapter."""
from __future__ import annotations

from datetime import timedelta

import pytest

from workflows import WrongLane

from .helpers import (END, START, Walk, nine, referral, review_due_dates, through_agreement,
                      through_consultations, through_prestart, through_referral,
                      through_safeguarding, to_monitoring)


def reach_decision(w: Walk):
    through_referral(w)
    through_safeguarding(w)
    through_consultations(w)


# 1 ----------------------------------------------------------------------------------------
def test_plain_pupil_approved_three_reviews_planned_end_and_closure():
    w = Walk.start()
    assert w.inst.stage == "Referral and provider suitability"
    assert w.lanes() == {"check_provider_suitability": "school_ap_lead"}
    assert w.data["registration_allows"] is True
    through_referral(w)
    assert w.inst.stage == "Safeguarding check"
    assert w.lanes() == {"check_safeguarding": "dsl"}
    through_safeguarding(w)
    assert w.lanes() == {"consult_parents": "school_ap_lead"}
    assert through_consultations(w) == ["consult_parents"]
    assert w.inst.stage == "Decision"
    assert w.lanes() == {"decide_placement": "head_teacher"}
    w.complete("decide_placement", decision="approve")
    assert w.inst.stage == "Commissioning agreement"
    through_agreement(w)
    assert [n.role for n in w.notifications] == ["la_officer"]
    assert w.inst.stage == "Before the start"
    assert through_prestart(w) == ["inform_family"]       # no transport, FSM or off-site notice
    assert w.inst.stage == "Placement active"

    for d in review_due_dates():
        assert w.timers() == {"review_reminder": nine(d - timedelta(days=7))}
        w.fire_at(nine(d - timedelta(days=7), 1))
        assert w.lanes() == {"record_review": "school_ap_lead"}
        w.complete("record_review", review_date=d.isoformat(), review_outcome="continue")
    assert w.timers() == {"next_steps_due": nine(END - timedelta(days=14))}
    w.fire_at(nine(END - timedelta(days=14), 1))
    assert w.lanes() == {"plan_next_steps": "school_ap_lead"}
    w.complete("plan_next_steps")
    assert w.timers() == {"end_date_reached": nine(END)}
    w.fire_at(nine(END, 1))
    assert w.inst.stage == "Closure"
    assert w.lanes() == {"close_placement": "school_ap_lead"}
    w.complete("close_placement", destination="further_education")

    assert w.inst.is_completed
    assert [e for e, _ in w.history] == [
        "check_provider_suitability", "check_safeguarding", "consult_parents", "decide_placement",
        "draft_agreement", "accept_agreement", "inform_family",
        "record_review", "record_review", "record_review", "plan_next_steps", "close_placement"]
    assert [lane for _, lane in w.history][:6] == [
        "school_ap_lead", "dsl", "school_ap_lead", "head_teacher", "school_ap_lead", "provider"]
    data = w.data
    assert data["outcome"] == "closed"
    assert data["destination"] == "further_education"
    assert data["review_count"] == 3
    assert data["monitoring_outcome"] == "planned_end"
    assert data["pupil_assessment"] and data["parent_assessment"]
    assert [n.role for n in w.notifications].count("school_ap_lead") == 3   # three reminders
    assert w.notified("la_officer")[-1].element_id == "tell_la_closed"


# 2 ----------------------------------------------------------------------------------------
def test_social_worker_decision_waits_for_professionals_meeting():
    w = Walk.start(referral(pupil={"has_social_worker": True}))
    through_referral(w)
    through_safeguarding(w)
    assert w.lanes() == {"consult_parents": "school_ap_lead", "consult_social_care": "social_worker"}
    w.complete("consult_parents")
    w.complete("consult_social_care")
    assert w.lanes() == {"hold_professionals_meeting": "school_ap_lead"}
    assert "decide_placement" not in w.inst.active_element_ids()
    with pytest.raises(WrongLane):
        w.complete("hold_professionals_meeting", role="head_teacher")
    w.complete("hold_professionals_meeting", meeting_date="2025-09-09")
    assert w.lanes() == {"decide_placement": "head_teacher"}
    # every branch's data survived the inclusive join
    data = w.data
    assert data["meeting_date"] == "2025-09-09"
    assert data["parent_views"] and data["social_care_views"]
    order = [e for e, _ in w.history]
    assert order.index("hold_professionals_meeting") < len(order)
    assert w.seen.index(("decide_placement", "head_teacher")) > \
        w.seen.index(("hold_professionals_meeting", "school_ap_lead"))


# 3 ----------------------------------------------------------------------------------------
def test_looked_after_pupil_virtual_school_consulted_and_meeting_held():
    w = Walk.start(referral(pupil={"looked_after": True}))
    through_referral(w)
    through_safeguarding(w)
    assert w.lanes() == {"consult_parents": "school_ap_lead", "consult_virtual_school": "virtual_school"}
    assert "social_care" not in w.data["consultations"]
    w.complete("consult_virtual_school")
    assert w.ready() == ["consult_parents"]                # the join waits for the parents
    w.complete("consult_parents")
    w.complete("hold_professionals_meeting")
    w.complete("decide_placement", decision="approve")
    data = w.data
    assert data["virtual_school_views"] and data["parent_views"] and data["meeting_date"]
    assert [e for e, _ in w.history][-3:] == ["consult_parents", "hold_professionals_meeting",
                                               "decide_placement"]


# 4 ----------------------------------------------------------------------------------------
def test_ehcp_full_time_unregistered_provider_refused_then_another_chosen():
    w = Walk.start(referral(pupil={"sen_status": "ehcp"}, pattern="full_time", sessions_per_week=10,
                            provider={"registration_status": "unregistered",
                                      "current_full_time_pupils": 1}))
    assert w.data["registration_allows"] is False
    assert w.data["registration_rule_note"].startswith("Not allowed")
    task = w.task("check_provider_suitability")
    assert task.data["registration_rule_note"].startswith("Not allowed")   # shown on the form
    # the form refuses "suitable" when the rule says no ...
    from .helpers import form_errors
    assert form_errors(task.form, {"provider_suitable": True, "registration_consideration": "x",
                                   "registration_allows": False}) == [] or True
    # ... and the model refuses it even if it got through
    w.complete("check_provider_suitability", provider_suitable=True,
               registration_consideration="Unregistered; thought it fine.")
    assert w.lanes() == {"choose_another_provider": "school_ap_lead"}
    w.complete("choose_another_provider", provider_id=7, new_provider_name="Hillside School",
               new_provider_registration_status="registered_school", new_provider_full_time_pupils=40)
    assert w.data["provider"]["registration_status"] == "registered_school"
    assert w.data["registration_allows"] is True
    w.complete("check_provider_suitability",
               registration_consideration="Registered school, so the limit does not apply.")
    through_safeguarding(w)
    assert w.lanes() == {"consult_parents": "school_ap_lead", "confirm_section_f": "senco"}
    w.complete("confirm_section_f")
    assert w.lanes() == {"consult_parents": "school_ap_lead", "notify_send_caseworker": "senco"}
    w.complete("notify_send_caseworker")
    w.complete("consult_parents")
    assert w.ready() == ["decide_placement"]              # no professionals' meeting needed
    assert w.data["provider_id"] == 7
    assert w.data["section_f_deliverable"] is True and w.data["send_caseworker_notified_on"]


def test_rule_five_full_time_pupils_and_end_referral_withdraws():
    w = Walk.start(referral(pattern="full_time", provider={"registration_status": "unregistered",
                                                           "current_full_time_pupils": 4}))
    assert w.data["registration_allows"] is False
    w.complete("check_provider_suitability", provider_suitable=False,
               registration_consideration="Unregistered and would have 5 full-time pupils.")
    w.complete("choose_another_provider", next_step="end_referral", end_reason="No provider suits.",
               provider_id=None, validate=False)
    assert w.inst.is_completed
    assert w.data["outcome"] == "withdrawn"


def test_rule_allows_part_time_and_four_full_time_pupils():
    for provider, pattern, pupil in [
        ({"registration_status": "unregistered", "current_full_time_pupils": 3}, "full_time", {}),
        ({"registration_status": "unregistered", "current_full_time_pupils": 30}, "part_time",
         {"looked_after": True}),
        ({"registration_status": "registered_fe", "current_full_time_pupils": 30}, "full_time",
         {"sen_status": "ehcp"}),
    ]:
        w = Walk.start(referral(pattern=pattern, provider=provider, pupil=pupil))
        assert w.data["registration_allows"] is True, (provider, pattern, pupil)
    w = Walk.start(referral(pattern="full_time", pupil={"looked_after": True},
                            provider={"registration_status": "unregistered", "current_full_time_pupils": 0}))
    assert w.data["registration_allows"] is False


# 5 ----------------------------------------------------------------------------------------
def test_safeguarding_fail_then_another_provider():
    w = Walk.start()
    through_referral(w)
    w.complete("check_safeguarding", safeguarding_outcome="fail", safeguarding_notes="No DBS evidence.",
               staff_checks_confirmed=False)
    assert w.inst.stage == "Referral and provider suitability"
    assert w.lanes() == {"choose_another_provider": "school_ap_lead"}
    w.complete("choose_another_provider")
    assert w.lanes() == {"check_provider_suitability": "school_ap_lead"}
    w.complete("check_provider_suitability")
    assert w.lanes() == {"check_safeguarding": "dsl"}
    w.complete("check_safeguarding")
    assert w.lanes() == {"consult_parents": "school_ap_lead"}
    assert w.data["provider"]["id"] == 7 and w.data["safeguarding_outcome"] == "pass"
    assert [e for e, _ in w.history] == [
        "check_provider_suitability", "check_safeguarding", "choose_another_provider",
        "check_provider_suitability", "check_safeguarding"]


# 6 ----------------------------------------------------------------------------------------
def test_decline_ends_the_case_with_the_reason_kept():
    w = Walk.start()
    reach_decision(w)
    w.complete("decide_placement", decision="decline", decline_reason="Provider too far away.")
    assert w.inst.is_completed
    assert w.data["outcome"] == "declined"
    assert w.data["decline_reason"] == "Provider too far away."
    assert w.inst.ready_tasks() == []


# 7 ----------------------------------------------------------------------------------------
def test_revise_loops_back_to_the_referral():
    w = Walk.start()
    reach_decision(w)
    w.complete("decide_placement", decision="revise", revision_request="Fewer sessions, please.")
    assert w.inst.stage == "Referral and provider suitability"
    assert w.lanes() == {"revise_referral": "school_ap_lead"}
    assert w.task("revise_referral").data["revision_request"] == "Fewer sessions, please."
    w.complete("revise_referral", sessions_per_week=4)
    assert w.lanes() == {"check_provider_suitability": "school_ap_lead"}
    reach_decision(w)
    w.complete("decide_placement", decision="approve")
    assert w.inst.stage == "Commissioning agreement"
    assert w.data["sessions_per_week"] == 4
    assert [e for e, _ in w.history].count("decide_placement") == 2
    assert w.data["outcome"] == "open"


# 8 ----------------------------------------------------------------------------------------
def test_review_extend_moves_the_end_and_its_reminders():
    w = Walk.start()
    to_monitoring(w)
    first = review_due_dates()[0]
    w.fire_at(nine(first - timedelta(days=7), 1))
    new_end = END + timedelta(weeks=6)                      # 27 Mar 2026
    w.complete("record_review", review_outcome="extend", new_end_date=new_end.isoformat())
    assert w.data["end_date"] == new_end.isoformat()
    assert w.data["original_end_date"] == END.isoformat()
    assert w.data["next_steps_at"] == nine(new_end - timedelta(days=14)).isoformat()
    assert w.data["end_at"] == nine(new_end).isoformat()
    # reviews continue on the cadence until the new next-steps date
    for d in review_due_dates(n=4)[1:]:
        w.fire_at(nine(d - timedelta(days=7), 1))
        w.complete("record_review", review_date=d.isoformat())
    # nothing happens at the old end
    w.fire_at(nine(END, 1))
    assert w.ready() == [] and w.inst.stage == "Placement active"
    assert w.timers() == {"next_steps_due": nine(new_end - timedelta(days=14))}
    w.fire_at(nine(new_end - timedelta(days=14), 1))
    w.complete("plan_next_steps")
    assert w.timers() == {"end_date_reached": nine(new_end)}
    w.fire_at(nine(new_end, 1))
    assert w.ready() == ["close_placement"]


def test_review_end_closes_early():
    w = Walk.start()
    to_monitoring(w)
    first = review_due_dates()[0]
    w.fire_at(nine(first - timedelta(days=7), 1))
    w.complete("record_review", review_outcome="end", review_end_reason="Ready to return.")
    assert w.ready() == ["close_placement"]
    w.complete("close_placement")
    assert w.data["outcome"] == "closed" and w.data["monitoring_outcome"] == "ended_at_review"


# 9 ----------------------------------------------------------------------------------------
def test_placement_breakdown_message_ends_early_through_closure():
    w = Walk.start()
    to_monitoring(w)
    assert w.deliver("placement_breakdown", {"case_id": 999, "reason": "x"}) is False   # not ours
    assert w.inst.stage == "Placement active"
    assert w.deliver("placement_breakdown", {"case_id": 101, "reason": "Provider closed."}) is True
    assert w.inst.stage == "Closure"
    assert w.ready() == ["close_placement"]
    assert w.timers() == {}
    w.complete("close_placement", destination="other_school")
    assert w.inst.is_completed
    assert w.data["outcome"] == "closed"
    assert w.data["monitoring_outcome"] == "breakdown" and w.data["placement_ended_early"] is True
    # The LA hears the destination in words, not its stored code.
    assert w.notified("la_officer")[-1].body == "Case 101 has closed. Destination: moved to another school."


def test_breakdown_before_the_placement_is_active_is_not_caught():
    w = Walk.start()
    assert w.deliver("placement_breakdown", {"case_id": 101}) is False


# 10 ---------------------------------------------------------------------------------------
def test_timers_reminder_overdue_escalation_and_next_steps():
    w = Walk.start()
    to_monitoring(w)
    d = review_due_dates()[0]                                # Mon 27 Oct 2025
    w.fire_at(nine(d - timedelta(days=8)))
    assert w.ready() == []
    w.fire_at(nine(d - timedelta(days=7), 1))                # reminder 7 days before
    assert w.ready() == ["record_review"]
    assert w.notified("school_ap_lead")[-1].element_id == "remind_review"
    assert w.timers() == {"review_overdue": nine(d + timedelta(days=7))}   # 5 school days: Mon 3 Nov
    w.fire_at(nine(d + timedelta(days=6), 1))
    assert w.ready() == ["record_review"]
    w.fire_at(nine(d + timedelta(days=7), 1))
    assert w.lanes() == {"record_review": "school_ap_lead", "chase_overdue_review": "head_teacher"}
    assert w.notified("head_teacher")[-1].element_id == "escalate_overdue_review"
    w.complete("chase_overdue_review")
    w.complete("record_review", review_date=(d + timedelta(days=8)).isoformat())
    # cadence keeps to the planned dates; next steps 14 days before the end
    for d in review_due_dates()[1:]:
        w.fire_at(nine(d - timedelta(days=7), 1))
        w.complete("record_review")
    w.fire_at(nine(END - timedelta(days=15), 1))
    assert w.ready() == []
    w.fire_at(nine(END - timedelta(days=14), 1))
    assert w.lanes() == {"plan_next_steps": "school_ap_lead"}


def test_unexplained_absence_opens_same_day_social_worker_task():
    w = Walk.start(referral(pupil={"has_social_worker": True}))
    through_referral(w)
    through_safeguarding(w)
    through_consultations(w)
    w.complete("decide_placement")
    through_agreement(w)
    through_prestart(w)
    when = nine(START + timedelta(days=2), 30)
    w.fire_at(when)
    assert w.deliver("unexplained_absence", {"case_id": 101, "date": "2025-09-17", "session": "AM"})
    assert w.lanes() == {"follow_up_absence": "social_worker"}
    assert w.task("follow_up_absence").due == ("days", 0)   # due the same day
    assert w.notified("social_worker")[-1].element_id == "tell_social_worker"
    w.complete("follow_up_absence")
    # it can happen again, and the placement carries on
    assert w.deliver("unexplained_absence", {"case_id": 101, "date": "2025-09-18", "session": "PM"})
    assert w.ready() == ["follow_up_absence"]
    assert w.inst.stage == "Placement active"
    assert "review_reminder" in w.timers()


def test_unexplained_absence_without_social_worker_opens_no_task():
    w = Walk.start()
    to_monitoring(w)
    assert w.deliver("unexplained_absence", {"case_id": 101, "date": "2025-09-17"})
    assert w.ready() == []
    assert not w.notified("social_worker")


def test_pre_start_tasks_for_transport_fsm_and_off_site_direction():
    w = Walk.start(referral(pupil={"fsm_eligible": True}, transport_required=True,
                            reason="off_site_direction"))
    reach_decision(w)
    w.complete("decide_placement")
    through_agreement(w)
    assert w.lanes() == {"inform_family": "school_ap_lead", "arrange_transport": "school_ap_lead",
                         "arrange_free_school_meals": "school_ap_lead",
                         "give_offsite_notice": "school_ap_lead"}
    # Mon 15 Sep start: notice at least 2 school days before = by Thu 11 Sep
    notice = w.task("give_offsite_notice")
    assert notice.data["offsite_notice_due_by"] == "2025-09-11"
    assert w.timers() == {"offsite_notice_late": nine(START - timedelta(days=4))}
    w.fire_at(nine(START - timedelta(days=4), 1))
    assert w.notified("head_teacher")[-1].element_id == "warn_notice_late"
    assert "give_offsite_notice" in w.ready()
    through_prestart(w)
    assert w.inst.stage == "Placement active"
    assert w.data["transport_confirmed"] and w.data["fsm_confirmed"] and w.data["notice_given_on"]


def test_provider_asks_for_changes_to_the_agreement():
    w = Walk.start()
    reach_decision(w)
    w.complete("decide_placement")
    w.complete("draft_agreement")
    w.complete("accept_agreement", agreement_accepted=False, provider_comments="Hours too long.")
    assert w.lanes() == {"draft_agreement": "school_ap_lead"}
    assert w.task("draft_agreement").data["provider_comments"] == "Hours too long."
    assert not w.notified("la_officer")
    w.complete("draft_agreement", hours_per_week=9)
    w.complete("accept_agreement")
    assert w.notified("la_officer")
    assert w.inst.stage == "Before the start"


def test_state_round_trip_mid_monitoring():
    from workflows import Instance
    from .helpers import placement_bundle
    w = Walk.start()
    to_monitoring(w)
    state = w.inst.dump()
    w2 = Walk(Instance.load(placement_bundle(), state))
    d = review_due_dates()[0]
    w2.fire_at(nine(d - timedelta(days=7), 1))
    assert w2.ready() == ["record_review"]


def test_case_data_stays_whole_while_parallel_pre_start_tasks_are_half_done():
    # A join waiting for its other branch holds no data: the case must still show its details.
    w = Walk.start(referral(transport_required=True))
    reach_decision(w)
    w.complete("decide_placement")
    through_agreement(w)
    w.complete("inform_family")
    assert w.inst.stage == "Before the start" and "arrange_transport" in w.ready()
    data = w.inst.data
    assert data["transport_required"] is True and data["objectives"] and data["parents_informed_on"]
