"""Engine-level helpers for walking the placement lifecycle (bpmn/placement/).

Only the `workflows` adapter API is used (load_bundle, Instance, clock), so the service layer
can replay the same scenarios through its own API with the same data.

    w = Walk.start(referral(pupil={"has_social_worker": True}))
    w.complete("check_provider_suitability")             # default valid form data
    w.complete("decide_placement", decision="decline", decline_reason="...")
    w.history  -> [(element_id, lane), ...] in the order completed
"""
from __future__ import annotations

import copy
import json
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from jsonschema import Draft202012Validator, FormatChecker

from workflows import Instance, clock, load_bundle

REPO = Path(__file__).resolve().parents[2]
BUNDLE_DIR = REPO / "bpmn" / "placement"
LONDON = ZoneInfo("Europe/London")

ROLES = {"school_ap_lead", "head_teacher", "dsl", "senco", "la_officer", "social_worker",
         "virtual_school", "provider", "parent"}

# A Monday. The referral is raised now; the placement runs 15 Sep 2025 - 13 Feb 2026.
T0 = datetime(2025, 9, 1, 8, 0, tzinfo=ZoneInfo("UTC"))
START = date(2025, 9, 15)
END = date(2026, 2, 13)


def bundle_files() -> dict[str, bytes]:
    return {str(p.relative_to(BUNDLE_DIR)): p.read_bytes()
            for p in sorted(BUNDLE_DIR.rglob("*")) if p.is_file()}


@lru_cache(maxsize=1)
def placement_bundle():
    return load_bundle(bundle_files())


def nine(d: date, minutes: int = 0) -> datetime:
    """09:00 Europe/London on ``d`` (the time every timer of the bundle fires)."""
    return datetime.combine(d, time(9, minutes), tzinfo=LONDON)


# ------------------------------------------------------------------------------- start data
def referral(pupil: dict | None = None, provider: dict | None = None, **overrides) -> dict:
    """A valid referral (CONTRACT.md) plus what the service adds: case_id and provider."""
    data = {
        "pupil": {"upn": "A123456789012", "first_name": "Sam", "last_name": "Taylor",
                  "date_of_birth": "2011-05-04", "year_group": 9, "sen_status": "none",
                  "has_social_worker": False, "looked_after": False, "fsm_eligible": False},
        "school_id": 1,
        "provider_id": 3,
        "reason": "behaviour_intervention",
        "pattern": "part_time",
        "sessions_per_week": 6,
        "proposed_start": START.isoformat(),
        "proposed_end": END.isoformat(),
        "objectives": "Improve attendance and re-engage with English and maths.",
        "transport_required": False,
        "social_care_id": None,
        "virtual_school_id": None,
        "case_id": 101,
        "provider": {"id": 3, "name": "Riverside Learning Centre",
                     "registration_status": "registered_school", "current_full_time_pupils": 2},
    }
    data["pupil"].update(pupil or {})
    data["provider"].update(provider or {})
    data.update(overrides)
    if data["pupil"]["has_social_worker"] and data["social_care_id"] is None:
        data["social_care_id"] = 5
    if data["pupil"]["looked_after"] and data["virtual_school_id"] is None:
        data["virtual_school_id"] = 6
    return data


# ------------------------------------------------------- default (valid) data for each form
FORM_DATA = {
    "revise_referral": {"reason": "behaviour_intervention", "pattern": "part_time",
                        "sessions_per_week": 4, "proposed_start": START.isoformat(),
                        "proposed_end": END.isoformat(),
                        "objectives": "Re-engage with maths; 4 sessions a week.",
                        "transport_required": False,
                        "revision_notes": "Reduced to 4 sessions as asked."},
    "check_provider_suitability": {"provider_suitable": True,
                                   "registration_consideration": "Registered school: no limit applies."},
    "choose_another_provider": {"next_step": "another_provider", "provider_id": 7,
                                "new_provider_name": "Hillside School",
                                "new_provider_registration_status": "registered_school",
                                "new_provider_full_time_pupils": 40},
    "check_safeguarding": {"staff_checks_confirmed": True, "written_confirmation_date": "2025-09-02",
                           "site_visit_date": "2025-09-03", "policies_reviewed": True,
                           "provider_safeguarding_lead": "J Khan 01234 567890",
                           "safeguarding_outcome": "pass"},
    "consult_parents": {"parents_consulted_on": "2025-09-04", "parents_told_reasons_and_duration": True,
                        "parent_views": "Mum supports a short placement.", "parent_agrees": "agree"},
    "consult_social_care": {"social_worker_name": "A Social Worker", "social_care_supports": "yes",
                            "social_care_views": "Supports; wants weekly attendance updates."},
    "consult_virtual_school": {"virtual_school_contact": "V S Head", "virtual_school_supports": "yes",
                               "virtual_school_views": "Supports; update the PEP."},
    "confirm_section_f": {"section_f_deliverable": True,
                          "section_f_notes": "Speech and language sessions continue weekly.",
                          "section_i_school": "Home Academy"},
    "notify_send_caseworker": {"send_caseworker_name": "C Worker",
                               "send_caseworker_notified_on": "2025-09-05"},
    "hold_professionals_meeting": {"meeting_date": "2025-09-08", "meeting_attendees": "School, SW, VSH",
                                   "meeting_summary": "Agreed to proceed.",
                                   "meeting_recommendation": "proceed"},
    "decide_placement": {"decision": "approve"},
    "draft_agreement": {"objectives": "Attendance above 90%.", "baseline": "Attendance 62%.",
                        "progress_assessment": "Half-termly assessments.", "timetable": "Mon-Wed mornings",
                        "hours_per_week": 12, "cost": 3600, "cost_basis": "Per term, invoiced.",
                        "start_date": START.isoformat(), "end_date": END.isoformat(),
                        "review_dates": "Every 6 weeks.", "attendance_reporting": "Daily by 10am.",
                        "information_sharing": "Weekly call.", "safeguarding_contacts": "DSL / provider DSL",
                        "transport_arrangements": "Not needed", "fsm_arrangements": "Not eligible",
                        "section_f_delivery": "No EHCP", "next_steps_and_reintegration": "Return full time."},
    "accept_agreement": {"agreement_accepted": True, "provider_signatory": "P Manager, Head of Centre"},
    "inform_family": {"parents_informed_on": "2025-09-10", "pupil_informed_on": "2025-09-10",
                      "arrangements_explained": "Times, place and contacts."},
    "arrange_transport": {"transport_arrangements": "LA taxi 8:15", "transport_confirmed": True},
    "arrange_free_school_meals": {"fsm_arrangements": "Provider canteen, invoiced to school.",
                                  "fsm_confirmed": True},
    "give_offsite_notice": {"notice_given_on": "2025-09-10", "notice_method": "letter",
                            "notice_copy_kept": True},
    "record_review": {"review_date": "2025-10-27", "attendance_summary": "92%",
                      "behaviour_summary": "Good", "progress_summary": "On track",
                      "review_outcome": "continue"},
    "chase_overdue_review": {"chase_action": "Spoke to the AP lead.", "review_expected_by": "2025-11-10"},
    "plan_next_steps": {"planned_destination": "home_school", "next_steps_plan": "Phased return.",
                        "next_steps_meeting_date": "2026-02-02"},
    "follow_up_absence": {"absence_date": "2025-10-01", "pupil_whereabouts_known": "safe",
                          "follow_up_action": "Called carer; pupil at home, ill."},
    "close_placement": {"actual_end_date": END.isoformat(), "destination": "home_school",
                        "progress": "Attendance up from 62% to 91%.", "achievements": "Functional skills L1 maths.",
                        "pupil_assessment": "It helped me.", "parent_assessment": "Much happier."},
}

_FORMAT_CHECKER = FormatChecker()


def form_errors(form: dict, data: dict) -> list[str]:
    """What the service's validation would say about ``data`` (readOnly fields are not sent)."""
    schema = form["schema"]
    sent = {k: v for k, v in data.items()
            if not (schema.get("properties", {}).get(k, {}).get("readOnly"))}
    return [e.message for e in Draft202012Validator(schema, format_checker=_FORMAT_CHECKER).iter_errors(sent)]


# ------------------------------------------------------------------------------ one case
class Walk:
    """A case being walked through by tests: completes tasks like the right user would."""

    def __init__(self, inst: Instance):
        self.inst = inst
        self.history: list[tuple[str, str]] = []       # (element_id, lane) completed, in order
        self.seen: list[tuple[str, str]] = []          # (element_id, lane) in order first READY
        self.notifications: list = []
        self._seen_ids: set[str] = set()
        self._note_ready()

    @classmethod
    def start(cls, data: dict | None = None, at: datetime = T0) -> "Walk":
        clock.set(at)
        return cls(Instance.start(placement_bundle(), data or referral()))

    # -- looking
    def _note_ready(self):
        for t in self.inst.ready_tasks():
            if t.id not in self._seen_ids:
                self._seen_ids.add(t.id)
                self.seen.append((t.element_id, t.lane))
        self.notifications.extend(self.inst.take_outbox().notifications)

    def ready(self) -> list[str]:
        return sorted(t.element_id for t in self.inst.ready_tasks())

    def lanes(self) -> dict[str, str]:
        return {t.element_id: t.lane for t in self.inst.ready_tasks()}

    def task(self, element_id: str):
        tasks = [t for t in self.inst.ready_tasks() if t.element_id == element_id]
        assert tasks, f"{element_id} is not ready; ready: {self.ready()}"
        assert len(tasks) == 1, f"{len(tasks)} ready {element_id} tasks"
        return tasks[0]

    @property
    def data(self) -> dict:
        return self.inst.data

    # -- doing
    def complete(self, element_id: str, role: str | None = None, **data):
        """Complete the one READY ``element_id`` task as a user holding ``role`` (default: its lane).

        Unless ``validate=False`` is given, the data (form defaults overlaid with ``data``) must
        pass the task's form, as the service would require.
        """
        validate = data.pop("validate", True)
        return complete(self, element_id, data, role, validate=validate)

    def fire_at(self, when: datetime) -> int:
        clock.set(when)
        fired = self.inst.fire_timers()
        self._note_ready()
        return fired

    def deliver(self, name: str, payload: dict) -> bool:
        ok = self.inst.deliver_message(name, payload)
        self._note_ready()
        return ok

    def timers(self) -> dict[str, datetime]:
        return {t.element_id: t.due_at for t in self.inst.waiting_timers()}

    def notified(self, role: str) -> list:
        return [n for n in self.notifications if _note_role(n) == role]


def _note_role(note):
    for attr in ("role", "to_role"):
        if hasattr(note, attr):
            return getattr(note, attr)
    if isinstance(note, dict):
        return note.get("role")
    return None


def complete(walk: "Walk", element_id: str, data: dict | None = None, role: str | None = None,
             validate: bool = True):
    """Complete the READY task ``element_id`` with the form defaults overlaid by ``data``."""
    task = walk.task(element_id)
    values = copy.deepcopy(FORM_DATA.get(element_id, {}))
    values.update(data or {})
    if validate:
        assert task.form is not None, f"{element_id} has no form"
        errors = form_errors(task.form, values)
        assert not errors, f"{element_id}: form rejects {values}: {errors}"
    walk.inst.complete(task.id, values, roles={role or task.lane})
    walk.history.append((element_id, task.lane))
    walk._note_ready()
    return task


# ------------------------------------------------------------------ stage-by-stage shortcuts
def through_referral(w: Walk, **data):
    w.complete("check_provider_suitability", **data)


def through_safeguarding(w: Walk, **data):
    w.complete("check_safeguarding", **data)


CONSULTATION_TASKS = ["consult_parents", "consult_social_care", "consult_virtual_school",
                      "confirm_section_f", "notify_send_caseworker", "hold_professionals_meeting"]


def through_consultations(w: Walk) -> list[str]:
    """Complete every consultation task as it appears; the ids completed, in order."""
    done = []
    while True:
        ready = [e for e in w.ready() if e in CONSULTATION_TASKS]
        if not ready:
            return done
        for element_id in ready:
            w.complete(element_id)
            done.append(element_id)


def through_agreement(w: Walk, **agreement):
    w.complete("draft_agreement", **agreement)
    w.complete("accept_agreement")


PRESTART_TASKS = ["inform_family", "arrange_transport", "arrange_free_school_meals", "give_offsite_notice"]


def through_prestart(w: Walk) -> list[str]:
    ready = [e for e in w.ready() if e in PRESTART_TASKS]
    for element_id in ready:
        w.complete(element_id)
    return ready


def to_monitoring(w: Walk, **agreement):
    """From a fresh plain case to the placement being active."""
    through_referral(w)
    through_safeguarding(w)
    through_consultations(w)
    w.complete("decide_placement", decision="approve")
    through_agreement(w, **agreement)
    through_prestart(w)
    assert w.inst.stage == "Placement active", w.inst.stage


def review_due_dates(start: date = START, n: int = 3, every: int = 42) -> list[date]:
    return [start + timedelta(days=every * (i + 1)) for i in range(n)]


def load_form(name: str) -> dict:
    return json.loads((BUNDLE_DIR / "forms" / name).read_text())
