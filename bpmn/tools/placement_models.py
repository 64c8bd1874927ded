"""Source of the first version of the placement lifecycle diagrams (bpmn/placement/*.bpmn).

Run ``python bpmn/tools/placement_models.py`` to regenerate the .bpmn files with layout.
Once a process owner has edited a diagram in bpmn-js, the .bpmn file is the truth: do not
regenerate over their edits (use ``--only FILE`` to write one stage).
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bpmnbuild import Process  # noqa: E402

OUT = Path(__file__).resolve().parent.parent / "placement"
S, H, D = "school_ap_lead", "head_teacher", "dsl"


def main_process():
    p = Process("placement", "Alternative provision placement", [S, D, H],
                doc="A pupil's alternative provision placement, from referral to closure. "
                    "Each stage is a separate process (call activity). "
                    "The variable `outcome` holds the case status: open, closed, declined or withdrawn.",
                lane_rows={S: 2, D: 2, H: 2})
    p.start("start", "Referral received", S, 0)
    p.script("open_case", "Open the case", S, 1, script="outcome = 'open'\nreferral_entry = 'new'")
    p.gateway("xor", "referral_merge", "", S, 2)
    p.call("referral_stage", "Referral and provider suitability", S, 3, called="referral_suitability")
    p.gateway("xor", "referral_continues", "Referral continues?", S, 4)
    p.script("set_withdrawn", "Record the referral as withdrawn", S, 5, 1, script="outcome = 'withdrawn'")
    p.end("end_withdrawn", "Referral withdrawn", S, 6, 1)
    p.call("safeguarding_stage", "Safeguarding check", D, 5, called="safeguarding_check")
    p.gateway("xor", "safeguarding_passed", "Safeguarding passed?", D, 6)
    p.script("provider_failed", "Send back to provider choice", D, 6, 1,
             script="referral_entry = 'provider_failed'")
    p.call("consultations_stage", "Consultations", S, 7, called="consultations")
    p.call("decision_stage", "Decision", H, 8, called="placement_decision")
    p.gateway("xor", "decision_made", "Head teacher's decision?", H, 9)
    p.script("send_back_for_revision", "Send back for revision", H, 9, 1, script="referral_entry = 'revise'")
    p.script("set_declined", "Record the placement as declined", H, 10, 1, script="outcome = 'declined'")
    p.end("end_declined", "Placement declined", H, 11, 1)
    p.call("agreement_stage", "Commissioning agreement", S, 10, called="commissioning_agreement")
    p.call("prestart_stage", "Before the start", S, 11, called="pre_start")
    p.call("monitoring_stage", "Placement active", S, 12, called="monitoring")
    p.boundary_message("placement_breakdown", "Placement breaks down", "monitoring_stage",
                       message="placement_breakdown", interrupting=True, variable="breakdown")
    p.script("record_breakdown", "Record the breakdown", S, 13, 1,
             script="placement_ended_early = True\nmonitoring_outcome = 'breakdown'")
    p.gateway("xor", "closure_merge", "", S, 14)
    p.call("closure_stage", "Closure", S, 15, called="closure")
    p.script("set_closed", "Record the placement as closed", S, 16, script="outcome = 'closed'")
    p.end("end_closed", "Placement closed", S, 17)

    p.flow("start", "open_case")
    p.flow("open_case", "referral_merge")
    p.flow("referral_merge", "referral_stage")
    p.flow("referral_stage", "referral_continues")
    p.flow("referral_continues", "set_withdrawn", "Withdrawn", "referral_outcome == 'withdrawn'")
    p.flow("referral_continues", "safeguarding_stage", "Yes", default=True)
    p.flow("set_withdrawn", "end_withdrawn")
    p.flow("safeguarding_stage", "safeguarding_passed")
    p.flow("safeguarding_passed", "provider_failed", "Fail", "safeguarding_outcome == 'fail'")
    p.flow("safeguarding_passed", "consultations_stage", "Pass", default=True)
    p.flow("provider_failed", "referral_merge")
    p.flow("consultations_stage", "decision_stage")
    p.flow("decision_stage", "decision_made")
    p.flow("decision_made", "agreement_stage", "Approve", "decision == 'approve'")
    p.flow("decision_made", "send_back_for_revision", "Revise", "decision == 'revise'")
    p.flow("decision_made", "set_declined", "Decline", default=True)
    p.flow("send_back_for_revision", "referral_merge")
    p.flow("set_declined", "end_declined")
    p.flow("agreement_stage", "prestart_stage")
    p.flow("prestart_stage", "monitoring_stage")
    p.flow("monitoring_stage", "closure_merge")
    p.flow("placement_breakdown", "record_breakdown")
    p.flow("record_breakdown", "closure_merge")
    p.flow("closure_merge", "closure_stage")
    p.flow("closure_stage", "set_closed")
    p.flow("set_closed", "end_closed")
    return p


def referral_process():
    p = Process("referral_suitability", "Referral and provider suitability", [S], lane_rows={S: 3},
                doc="Checks the proposed provider against the registration rule (registration_rule.dmn) "
                    "and the school's own suitability check. An unsuitable provider must be replaced or "
                    "the referral ends (referral_outcome = 'withdrawn').")
    p.start("referral_start", "Referral to check", S, 0)
    p.gateway("xor", "referral_entry_gw", "Why is the referral here?", S, 1)
    p.user("revise_referral", "Revise the referral", S, 2, 1,
           title="Revise the referral as the head teacher asked", form="revise_referral.json",
           due_school_days=5,
           instructions="The head teacher sent the referral back for changes. Their request is shown "
                        "on the form. Change what is needed; the provider checks and consultations "
                        "are then done again.")
    p.gateway("xor", "rule_merge", "", S, 3)
    p.rule("apply_registration_rule", "Apply the registration rule", S, 4, decision="registration_rule")
    p.user("check_provider_suitability", "Check the provider is suitable", S, 5,
           title="Check the provider is suitable", form="check_provider_suitability.json",
           due_school_days=3,
           instructions="A provider giving full-time education to 5 or more pupils, or to 1 pupil who "
                        "has an EHCP or is looked after, must be a registered school. The result of "
                        "that rule for this referral is shown on the form. Record how the provider's "
                        "registration status influenced your decision.")
    p.gateway("xor", "provider_suitable_gw", "Provider suitable?", S, 6)
    p.script("mark_referral_ready", "Referral ready for safeguarding", S, 7,
             script="referral_outcome = 'continue'")
    p.end("referral_end", "Provider suitable", S, 8)
    p.gateway("xor", "choose_merge", "", S, 6, 1)
    p.user("choose_another_provider", "Choose another provider or end the referral", S, 7, 1,
           title="Choose another provider or end the referral", form="choose_another_provider.json",
           due_school_days=5,
           instructions="The proposed provider cannot be used. Choose another provider from the "
                        "directory, or end the referral.")
    p.gateway("xor", "next_step_gw", "Another provider?", S, 8, 1)
    p.script("use_new_provider", "Use the new provider", S, 9, 1, script="""
provider = {'id': provider_id, 'name': new_provider_name, 'registration_status': new_provider_registration_status, 'current_full_time_pupils': new_provider_full_time_pupils}
""")
    p.script("withdraw_referral", "Record the referral as withdrawn", S, 9, 0,
             script="referral_outcome = 'withdrawn'")
    p.end("referral_withdrawn", "Referral ended", S, 10, 0)

    p.flow("referral_start", "referral_entry_gw")
    p.flow("referral_entry_gw", "revise_referral", "Sent back for changes", "referral_entry == 'revise'")
    p.flow("referral_entry_gw", "choose_merge", "Provider failed safeguarding",
           "referral_entry == 'provider_failed'", via=[(1, S, 2), (6, S, 2)])
    p.flow("referral_entry_gw", "rule_merge", "New referral", default=True)
    p.flow("revise_referral", "rule_merge")
    p.flow("rule_merge", "apply_registration_rule")
    p.flow("apply_registration_rule", "check_provider_suitability")
    p.flow("check_provider_suitability", "provider_suitable_gw")
    p.flow("provider_suitable_gw", "mark_referral_ready", "Yes",
           "registration_allows and provider_suitable")
    p.flow("provider_suitable_gw", "choose_merge", "No", default=True)
    p.flow("mark_referral_ready", "referral_end")
    p.flow("choose_merge", "choose_another_provider")
    p.flow("choose_another_provider", "next_step_gw")
    p.flow("next_step_gw", "use_new_provider", "Another provider", "next_step == 'another_provider'")
    p.flow("next_step_gw", "withdraw_referral", "End the referral", default=True)
    p.flow("use_new_provider", "rule_merge")
    p.flow("withdraw_referral", "referral_withdrawn")
    return p


def safeguarding_process():
    p = Process("safeguarding_check", "Safeguarding check", [D],
                doc="The DSL's own due diligence on the provider. The directory listing does not "
                    "replace it. safeguarding_outcome = 'fail' sends the referral back to provider choice.")
    p.start("safeguarding_start", "Provider chosen", D, 0)
    p.user("check_safeguarding", "Check the provider's safeguarding", D, 1,
           title="Check the provider's safeguarding arrangements", form="check_safeguarding.json",
           due_school_days=5,
           instructions="Get written confirmation that the provider has carried out the same staff "
                        "checks the school would, visit the site and read its policies. The LA "
                        "directory listing does not replace these checks.")
    p.end("safeguarding_end", "Safeguarding checked", D, 2)
    p.flow("safeguarding_start", "check_safeguarding")
    p.flow("check_safeguarding", "safeguarding_end")
    return p


def consultations_process():
    SW, VS, SE = "social_worker", "virtual_school", "senco"
    p = Process("consultations", "Consultations", [S, SW, VS, SE], lane_rows={S: 2},
                doc="Who must be consulted comes from consultations.dmn. A professionals' meeting, when "
                    "needed, is recorded here, so the decision task cannot exist before it.")
    p.start("consultations_start", "Provider passed safeguarding", S, 0)
    p.rule("decide_consultations", "Work out who must be consulted", S, 1, decision="consultations")
    p.gateway("or", "which_consultations", "Who must be consulted?", S, 2)
    p.user("consult_parents", "Consult the parents", S, 3,
           title="Consult the pupil's parents or carers about the placement", form="consult_parents.json",
           due_school_days=5,
           instructions="Tell the parents or carers why the placement is proposed and how long it will "
                        "last, and record their views. Consent is not needed for an off-site direction "
                        "to improve behaviour, but their views must still be recorded.")
    p.user("consult_social_care", "Consult children's social care", SW, 3,
           title="Give children's social care's view on the proposed placement",
           form="consult_social_care.json", due_school_days=5)
    p.user("consult_virtual_school", "Consult the virtual school", VS, 3,
           title="Give the virtual school's view on the proposed placement",
           form="consult_virtual_school.json", due_school_days=5)
    p.user("confirm_section_f", "Confirm Section F can be delivered", SE, 3,
           title="Confirm the provider can deliver the EHCP Section F provision",
           form="confirm_section_f.json", due_school_days=5,
           instructions="The school named in Section I keeps responsibility for Section F.")
    p.user("notify_send_caseworker", "Tell the LA SEND caseworker", SE, 4,
           title="Tell the LA SEND caseworker about the proposed placement",
           form="notify_send_caseworker.json", due_school_days=2)
    p.gateway("or", "consultations_done", "", S, 5)
    p.gateway("xor", "meeting_needed", "Professionals' meeting needed?", S, 6)
    p.user("hold_professionals_meeting", "Hold the professionals' meeting", S, 7, 1,
           title="Hold the professionals' meeting and record it", form="hold_professionals_meeting.json",
           due_school_days=10,
           instructions="The pupil has a social worker or is looked after: children's social care "
                        "and/or the virtual school must meet with the school before the head teacher "
                        "decides. The decision cannot be made until this meeting is recorded.")
    p.gateway("xor", "meeting_merge", "", S, 8)
    p.end("consultations_end", "Consultations complete", S, 9)

    p.flow("consultations_start", "decide_consultations")
    p.flow("decide_consultations", "which_consultations")
    p.flow("which_consultations", "consult_parents", "Parents (always)", "'parents' in consultations")
    p.flow("which_consultations", "consult_social_care", "Has a social worker", "'social_care' in consultations")
    p.flow("which_consultations", "consult_virtual_school", "Looked after", "'virtual_school' in consultations")
    p.flow("which_consultations", "confirm_section_f", "Has an EHCP", "'section_f' in consultations")
    p.flow("consult_parents", "consultations_done")
    p.flow("consult_social_care", "consultations_done")
    p.flow("consult_virtual_school", "consultations_done")
    p.flow("confirm_section_f", "notify_send_caseworker")
    p.flow("notify_send_caseworker", "consultations_done")
    p.flow("consultations_done", "meeting_needed")
    p.flow("meeting_needed", "hold_professionals_meeting", "Yes", "'professionals_meeting' in consultations")
    p.flow("meeting_needed", "meeting_merge", "No", default=True)
    p.flow("hold_professionals_meeting", "meeting_merge")
    p.flow("meeting_merge", "consultations_end")
    return p


def decision_process():
    p = Process("placement_decision", "Decision", [H],
                doc="The head teacher approves, declines (with a reason) or sends the referral back "
                    "for changes. The main process routes on `decision`.")
    p.start("decision_start", "Consultations complete", H, 0)
    p.user("decide_placement", "Decide on the placement", H, 1,
           title="Decide whether to approve the placement", form="decide_placement.json",
           due_school_days=3,
           instructions="Read the referral, the provider checks and the consultation responses. "
                        "Approve, decline with a reason, or send the referral back for changes.")
    p.end("decision_end", "Decision made", H, 2)
    p.flow("decision_start", "decide_placement")
    p.flow("decide_placement", "decision_end")
    return p


def agreement_process():
    P = "provider"
    p = Process("commissioning_agreement", "Commissioning agreement", [S, P], lane_rows={P: 1},
                doc="The school drafts the agreement for the pupil, the provider accepts it and the "
                    "school informs the LA.")
    p.start("agreement_start", "Placement approved", S, 0)
    p.user("draft_agreement", "Draft the commissioning agreement", S, 1,
           title="Draft the commissioning agreement", form="draft_agreement.json", due_school_days=5,
           instructions="Complete every part of the agreement. If the provider asked for changes, "
                        "their comments are shown.")
    p.user("accept_agreement", "Accept the commissioning agreement", P, 2,
           title="Accept the commissioning agreement or ask for changes", form="accept_agreement.json",
           due_school_days=5)
    p.gateway("xor", "agreement_accepted_gw", "Provider accepts?", P, 3)
    p.notify("inform_la", "Inform the LA", S, 4, role="la_officer",
             subject="'A school has commissioned an alternative provision placement'",
             body="'Case ' + str(case_id) + ': the commissioning agreement has been accepted by the provider. "
                  "Start date ' + str(start_date) + ', latest end date ' + str(end_date) + '.'")
    p.end("agreement_end", "Agreement in place", S, 5)
    p.flow("agreement_start", "draft_agreement")
    p.flow("draft_agreement", "accept_agreement")
    p.flow("accept_agreement", "agreement_accepted_gw")
    p.flow("agreement_accepted_gw", "inform_la", "Accepted", "agreement_accepted")
    p.flow("agreement_accepted_gw", "draft_agreement", "Changes needed", default=True)
    p.flow("inform_la", "agreement_end")
    return p


def prestart_process():
    p = Process("pre_start", "Before the start", [S, H], lane_rows={S: 4},
                doc="Transport, free school meals, telling the family, and for an off-site direction "
                    "written notice at least 2 school days before the start.")
    p.start("prestart_start", "Agreement in place", S, 0)
    p.script("plan_notice_dates", "Work out the notice deadline", S, 1, script="""
offsite_notice_due_by = iso(add_school_days(date.fromisoformat(start_date), -2))
offsite_notice_deadline_at = at_nine(offsite_notice_due_by)
""")
    p.gateway("or", "what_to_arrange", "What needs arranging?", S, 2)
    p.user("inform_family", "Tell the family the arrangements", S, 3, 0,
           title="Tell the parents and the pupil the arrangements", form="inform_family.json",
           due_school_days=3)
    p.user("arrange_transport", "Arrange transport", S, 3, 1,
           title="Arrange transport to the provider", form="arrange_transport.json", due_school_days=5)
    p.user("arrange_free_school_meals", "Arrange free school meals", S, 3, 2,
           title="Arrange free school meals at the provider", form="arrange_free_school_meals.json",
           due_school_days=5)
    p.user("give_offsite_notice", "Give written notice of the off-site direction", S, 3, 3,
           title="Give the parents written notice of the off-site direction",
           form="give_offsite_notice.json", due_on="offsite_notice_due_by",
           instructions="Written notice must reach the parents at least 2 school days before the "
                        "placement starts. The last day for it is shown on the form.")
    p.boundary_timer("offsite_notice_late", "Notice deadline reached", "give_offsite_notice",
                     date_expr="offsite_notice_deadline_at", offset=30)
    p.notify("warn_notice_late", "Warn the head teacher", H, 4, role="head_teacher",
             subject="'Written notice for an off-site direction is due today'",
             body="'Case ' + str(case_id) + ': written notice of the off-site direction has not been "
                  "recorded and is due today (' + offsite_notice_due_by + '). If it cannot be given today "
                  "the start date must move.'")
    p.end("notice_warned", "Head teacher warned", H, 5)
    p.gateway("or", "arrangements_done", "", S, 5)
    p.end("prestart_end", "Ready to start", S, 6)

    p.flow("prestart_start", "plan_notice_dates")
    p.flow("plan_notice_dates", "what_to_arrange")
    p.flow("what_to_arrange", "inform_family", "Always", "True")
    p.flow("what_to_arrange", "arrange_transport", "Transport needed", "transport_required")
    p.flow("what_to_arrange", "arrange_free_school_meals", "FSM eligible", "pupil['fsm_eligible']")
    p.flow("what_to_arrange", "give_offsite_notice", "Off-site direction", "reason == 'off_site_direction'")
    p.flow("inform_family", "arrangements_done")
    p.flow("arrange_transport", "arrangements_done")
    p.flow("arrange_free_school_meals", "arrangements_done")
    p.flow("give_offsite_notice", "arrangements_done")
    p.flow("offsite_notice_late", "warn_notice_late")
    p.flow("warn_notice_late", "notice_warned")
    p.flow("arrangements_done", "prestart_end")
    return p


def monitoring_process():
    SW = "social_worker"
    p = Process("monitoring", "Placement active", [H, S, SW], lane_rows={S: 3, SW: 2},
                doc="Reviews on the cadence of review_cadence.dmn (local practice: every 6 weeks) with "
                    "a reminder before each, an escalation when a review is overdue, next steps before "
                    "the end date, and the end. An extension moves the end date and its reminders. "
                    "In parallel, each unexplained absence of a pupil with a social worker opens a "
                    "same-day task for the social worker. Both ends of the review branch terminate the "
                    "stage (and so the absence branch). Attendance itself is recorded by the service.")
    p.start("monitoring_start", "Placement starts", S, 0)
    p.rule("decide_review_cadence", "Work out the review cadence", S, 1, decision="review_cadence")
    p.script("set_placement_dates", "Set the placement dates", S, 2, script="""
placement_start = start_date
original_end_date = end_date
last_review_date = start_date
review_count = 0
monitoring_outcome = 'planned_end'
""")
    p.gateway("and", "monitoring_split", "", S, 3)
    p.gateway("xor", "review_loop", "", S, 4)
    p.script("schedule_next_review", "Schedule the next review and the end", S, 5, script="""
next_review_date = iso(date.fromisoformat(last_review_date) + timedelta(days=review_interval_days))
next_steps_date = iso(date.fromisoformat(end_date) - timedelta(days=next_steps_days_before))
review_reminder_at = at_nine(date.fromisoformat(next_review_date) - timedelta(days=review_reminder_days_before))
review_overdue_at = at_nine(add_school_days(date.fromisoformat(next_review_date), review_overdue_school_days))
next_steps_at = at_nine(next_steps_date)
end_at = at_nine(end_date)
""")
    p.gateway("xor", "review_before_end", "Another review before next steps?", S, 6)
    p.timer("review_reminder", "Review is a week away", S, 7, date_expr="review_reminder_at")
    p.notify("remind_review", "Remind the school of the review", S, 8, role="school_ap_lead",
             subject="'A placement review is due in 7 days'",
             body="'Case ' + str(case_id) + ': review ' + str(review_count + 1) + ' is due on ' + next_review_date + '.'")
    p.user("record_review", "Review the placement", S, 9,
           title="Review the placement and record the outcome", form="record_review.json", due_days=7,
           instructions="Review attendance, behaviour and progress with the provider, the pupil and "
                        "the parents, then choose whether the placement continues, is extended, is "
                        "amended or ends now.")
    p.boundary_timer("review_overdue", "Review 5 school days overdue", "record_review",
                     date_expr="review_overdue_at", side="top")
    p.notify("escalate_overdue_review", "Tell the head teacher", H, 10, role="head_teacher",
             subject="'A placement review is overdue'",
             body="'Case ' + str(case_id) + ': the review due on ' + next_review_date + ' has not been recorded.'")
    p.user("chase_overdue_review", "Chase the overdue review", H, 11,
           title="Make sure the overdue placement review takes place", form="chase_overdue_review.json",
           due_school_days=2)
    p.end("overdue_chased", "Review chased", H, 12)
    p.gateway("xor", "review_outcome_gw", "Review outcome?", S, 10)
    p.script("record_review_done", "Record the review", S, 10, 2, script="""
last_review_date = next_review_date
review_count = review_count + 1
""")
    p.script("apply_extension", "Move the end date", S, 11, 2, script="""
last_review_date = next_review_date
review_count = review_count + 1
end_date = new_end_date
placement_extended = True
""")
    p.script("end_at_review", "Record the early end", S, 11, 0, script="""
review_count = review_count + 1
monitoring_outcome = 'ended_at_review'
placement_ended_early = True
""")
    p.end("ended_at_review", "Placement ended at review", S, 12, 0, terminate=True)
    p.timer("next_steps_due", "14 days before the end", S, 7, 1, date_expr="next_steps_at")
    p.user("plan_next_steps", "Plan next steps", S, 8, 1,
           title="Plan the pupil's next steps before the placement ends", form="plan_next_steps.json",
           due_days=14)
    p.timer("end_date_reached", "End date", S, 9, 1, date_expr="end_at")
    p.end("planned_end", "Placement ended as planned", S, 9.7, 1, terminate=True)

    p.flow("monitoring_start", "decide_review_cadence")
    p.flow("decide_review_cadence", "set_placement_dates")
    p.flow("set_placement_dates", "monitoring_split")
    p.flow("monitoring_split", "review_loop")
    p.flow("review_loop", "schedule_next_review")
    p.flow("schedule_next_review", "review_before_end")
    p.flow("review_before_end", "review_reminder", "Yes", "next_review_date <= next_steps_date")
    p.flow("review_before_end", "next_steps_due", "No", default=True)
    p.flow("review_reminder", "remind_review")
    p.flow("remind_review", "record_review")
    p.flow("record_review", "review_outcome_gw")
    p.flow("review_overdue", "escalate_overdue_review")
    p.flow("escalate_overdue_review", "chase_overdue_review")
    p.flow("chase_overdue_review", "overdue_chased")
    p.flow("review_outcome_gw", "end_at_review", "End", "review_outcome == 'end'")
    p.flow("review_outcome_gw", "apply_extension", "Extend", "review_outcome == 'extend'")
    p.flow("review_outcome_gw", "record_review_done", "Continue or amend", default=True)
    p.flow("record_review_done", "review_loop")
    p.flow("apply_extension", "review_loop")
    p.flow("end_at_review", "ended_at_review")
    p.flow("next_steps_due", "plan_next_steps")
    p.flow("plan_next_steps", "end_date_reached")
    p.flow("end_date_reached", "planned_end")

    # Unexplained absences: a parallel branch waiting for the message, any number of times.
    p.gateway("xor", "absence_loop", "", SW, 4)
    p.message_catch("absence_reported", "Unexplained absence reported", SW, 5,
                    message="unexplained_absence", variable="absence")
    p.gateway("and", "absence_split", "", SW, 6)
    p.gateway("xor", "has_social_worker_gw", "Has a social worker?", SW, 7)
    p.notify("tell_social_worker", "Tell the social worker", SW, 8, role="social_worker",
             subject="'Unexplained absence from alternative provision'",
             body="'Case ' + str(case_id) + ': the pupil has an unexplained absence from the provider today.'")
    p.user("follow_up_absence", "Follow up the absence", SW, 9,
           title="Follow up the pupil's unexplained absence today", form="follow_up_absence.json",
           due_days=0)
    p.end("absence_followed_up", "Absence followed up", SW, 10)
    p.end("no_social_worker", "No social worker", SW, 8, 1)
    p.flow("monitoring_split", "absence_loop")
    p.flow("absence_loop", "absence_reported")
    p.flow("absence_reported", "absence_split")
    p.flow("absence_split", "absence_loop", "Wait for the next")
    p.flow("absence_split", "has_social_worker_gw")
    p.flow("has_social_worker_gw", "tell_social_worker", "Yes", "pupil['has_social_worker']")
    p.flow("has_social_worker_gw", "no_social_worker", "No", default=True)
    p.flow("tell_social_worker", "follow_up_absence")
    p.flow("follow_up_absence", "absence_followed_up")
    return p


def closure_process():
    p = Process("closure", "Closure", [S],
                doc="The school records the destination, progress, achievements and the pupil's and "
                    "parent's own assessments. The record is kept.")
    p.start("closure_start", "Placement ended", S, 0)
    p.user("close_placement", "Close the placement", S, 1,
           title="Record the placement's outcome and close it", form="close_placement.json",
           due_school_days=10,
           instructions="The school must keep a full record of every placement: progress, "
                        "achievements, destination, and the pupil's and parents' own assessment.")
    p.notify("tell_la_closed", "Tell the LA the placement has closed", S, 2, role="la_officer",
             subject="'An alternative provision placement has closed'",
             body="'Case ' + str(case_id) + ' has closed. Destination: ' + destination + '.'")
    p.end("closure_end", "Record kept", S, 3)
    p.flow("closure_start", "close_placement")
    p.flow("close_placement", "tell_la_closed")
    p.flow("tell_la_closed", "closure_end")
    return p


MODELS = {
    "placement.bpmn": main_process,
    "referral_suitability.bpmn": referral_process,
    "safeguarding.bpmn": safeguarding_process,
    "consultations.bpmn": consultations_process,
    "decision.bpmn": decision_process,
    "agreement.bpmn": agreement_process,
    "pre_start.bpmn": prestart_process,
    "monitoring.bpmn": monitoring_process,
    "closure.bpmn": closure_process,
}


def build(only=None):
    for fname, fn in MODELS.items():
        if only and fname not in only:
            continue
        (OUT / fname).write_text(fn().to_xml())
        print("wrote", OUT / fname)


if __name__ == "__main__":
    args = sys.argv[1:]
    build(args[args.index("--only") + 1:] if "--only" in args else None)
