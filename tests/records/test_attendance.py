"""The attendance domain: every code category, notes, the provider's B/K rule, the school's
authorisation paths, and percentages against hand-computed registers (bank holidays, part time)."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from service import attendance
from service.attendance import AUTHORISED, CODES, ELSEWHERE, UNAUTHORISED
from service.errors import Conflict, InvalidInput, NotAllowed
from service.models import AttendanceDecision, AttendanceRecord, AuditEvent, Case
from workflows import clock

from .helpers import add_marks, at, setup_world, start_active_case, user


@pytest.fixture
def env(sessions):
    w = setup_world(sessions)
    case_id = start_active_case(sessions, w, pattern="full_time", sessions_per_week=10)
    clock.set(at(date(2025, 9, 26)))
    return w, case_id


def register(sessions, w, case_id, *marks, who="provider_staff"):
    with sessions() as session:
        rows = attendance.register_marks(session, user(session, w[who]), session.get(Case, case_id), list(marks))
        session.commit()
        return [r.id for r in rows]


def test_code_table_matches_the_2024_categories():
    assert attendance.CATEGORIES == {
        "present": ["/", "\\", "L"],
        "attending_elsewhere": ["K", "V", "P", "W", "B", "D"],
        "authorised_absence": ["C", "C1", "C2", "E", "I", "J1", "M", "R", "S", "T", "X"],
        "unable_to_attend": ["Q", "Y1", "Y2", "Y3", "Y4", "Y5", "Y6", "Y7"],
        "unauthorised_absence": ["G", "N", "O", "U"],
        "administrative": ["Z", "#"],
    }
    assert {c for c, m in CODES.items() if not m.possible} == {"X", "Q", "Y1", "Y2", "Y3", "Y4", "Y5", "Y6",
                                                                  "Y7", "Z", "#"}


@pytest.mark.parametrize("code,session_name,note,category", [
    ("/", "AM", "", "present"), ("\\", "PM", "", "present"), ("L", "AM", "", "present"),
    ("V", "AM", "Museum trip", "attending_elsewhere"), ("W", "PM", "Garage placement", "attending_elsewhere"),
    ("I", "AM", "", "authorised_absence"), ("C", "AM", "Funeral", "authorised_absence"),
    ("Q", "AM", "Taxi did not come", "unable_to_attend"), ("Y7", "PM", "Flood", "unable_to_attend"),
    ("N", "AM", "", "unauthorised_absence"), ("U", "PM", "", "unauthorised_absence"),
    ("#", "AM", "", "administrative"),
])
def test_each_category_is_registered_and_audited(sessions, env, code, session_name, note, category):
    w, case_id = env
    [rid] = register(sessions, w, case_id, {"date": "2025-09-24", "session": session_name, "code": code, "note": note})
    with sessions() as session:
        row = session.get(AttendanceRecord, rid)
        assert (row.code, row.session, row.note, attendance.category(row.code)) == (code, session_name, note, category)
        event = session.scalar(select(AuditEvent).where(AuditEvent.type == "attendance_recorded"))
        assert event.detail["code"] == code and event.detail["category"] == category
        assert event.actor_id == w["provider_staff"]


@pytest.mark.parametrize("body,field,fragment", [
    ({"code": "C"}, "note", "needs one"), ({"code": "V"}, "note", "needs one"), ({"code": "Y1"}, "note", "needs one"),
    ({"code": "B", "note": "x"}, "code", "school's code"), ({"code": "K", "note": "x"}, "code", "school's code"),
    ({"code": "/", "session": "PM"}, "code", "morning"), ({"code": "\\", "session": "AM"}, "code", "afternoon"),
    ({"code": "ZZ"}, "code", "2024 regulations"), ({"code": "/", "date": "2025-09-29"}, "date", "not happened"),
    ({"code": "/", "date": "2025-09-20"}, "date", "not a school day"),
    ({"code": "/", "date": "2025-09-12"}, "date", "starts on"), ({"code": "/", "session": "EVE"}, "session", "AM or PM"),
])
def test_invalid_marks_are_refused_and_nothing_is_kept(sessions, env, body, field, fragment):
    w, case_id = env
    mark = {"date": "2025-09-24", "session": "AM", **body}
    with pytest.raises(InvalidInput) as error:
        register(sessions, w, case_id, {"date": "2025-09-23", "session": "AM", "code": "/"}, mark)
    assert fragment in error.value.details[field]
    with sessions() as session:
        assert session.scalars(select(AttendanceRecord)).all() == []  # all or nothing


def test_bank_holiday_is_not_a_school_day(sessions):
    w = setup_world(sessions)
    case_id = start_active_case(sessions, w)
    clock.set(at(date(2025, 12, 29)))
    with pytest.raises(InvalidInput) as error:
        register(sessions, w, case_id, {"date": "2025-12-25", "session": "AM", "code": "/"})
    assert "bank holiday" in error.value.details["date"]


def test_a_mark_is_never_overwritten(sessions, env):
    w, case_id = env
    register(sessions, w, case_id, {"date": "2025-09-24", "session": "AM", "code": "/"})
    with pytest.raises(Conflict):
        register(sessions, w, case_id, {"date": "2025-09-24", "session": "AM", "code": "N"})
    with sessions() as session:
        assert [r.code for r in session.scalars(select(AttendanceRecord))] == ["/"]


def test_only_the_cases_provider_registers(sessions, env):
    w, case_id = env
    for who in ("other_provider_staff", "lead", "head"):
        with pytest.raises(NotAllowed):
            register(sessions, w, case_id, {"date": "2025-09-24", "session": "AM", "code": "/"}, who=who)


def _decide(sessions, w, case_id, rid, decision, who="head", note=""):
    with sessions() as session:
        attendance.decide(session, user(session, w[who]), session.get(Case, case_id), rid, decision, note)
        session.commit()


def _effective(sessions, case_id, rid):
    with sessions() as session:
        row = session.get(AttendanceRecord, rid)
        decision = attendance.latest_decisions(session, [rid]).get(rid)
        return row.code, attendance.effective_category(row.code, decision.decision if decision else None)


@pytest.mark.parametrize("code,note,decision,expected", [
    ("I", "", None, AUTHORISED),            # reported illness awaiting the school
    ("I", "", "authorised", AUTHORISED),    # school accepts it
    ("I", "", "unauthorised", UNAUTHORISED),  # school refuses it (no evidence)
    ("N", "", None, UNAUTHORISED),          # no reason yet
    ("N", "", "authorised", AUTHORISED),    # reason came in, school authorises
    ("O", "Unknown", "unauthorised", UNAUTHORISED),
    ("G", "", "authorised", AUTHORISED),
])
def test_authorisation_paths(sessions, env, code, note, decision, expected):
    w, case_id = env
    [rid] = register(sessions, w, case_id, {"date": "2025-09-24", "session": "AM", "code": code, "note": note})
    if decision:
        _decide(sessions, w, case_id, rid, decision, note="Evidence seen")
    assert _effective(sessions, case_id, rid) == (code, expected)  # the provider's code is kept
    if decision:
        with sessions() as session:
            event = session.scalar(select(AuditEvent).where(AuditEvent.type == "attendance_decided"))
            assert (event.actor_id, event.detail["decision"], event.detail["code"]) == (w["head"], decision, code)
            row = session.scalar(select(AttendanceDecision))
            assert (row.decided_by_id, row.decision, row.decided_at is not None) == (w["head"], decision, True)


def test_a_later_decision_supersedes_and_both_are_kept(sessions, env):
    w, case_id = env
    [rid] = register(sessions, w, case_id, {"date": "2025-09-24", "session": "AM", "code": "N"})
    _decide(sessions, w, case_id, rid, "unauthorised")
    _decide(sessions, w, case_id, rid, "authorised", who="lead", note="Letter from GP")
    assert _effective(sessions, case_id, rid) == ("N", AUTHORISED)
    with sessions() as session:
        rows = session.scalars(select(AttendanceDecision).order_by(AttendanceDecision.id)).all()
        assert [(r.decision, r.decided_by_id) for r in rows] == [("unauthorised", w["head"]), ("authorised", w["lead"])]
        events = session.scalars(select(AuditEvent).where(AuditEvent.type == "attendance_decided")
                                 .order_by(AuditEvent.id)).all()
        assert [e.detail["previous"] for e in events] == [None, "unauthorised"]


def test_who_may_decide(sessions, env):
    w, case_id = env
    [present, absent] = register(sessions, w, case_id, {"date": "2025-09-24", "session": "AM", "code": "/"},
                                 {"date": "2025-09-24", "session": "PM", "code": "N"})
    for who in ("provider_staff", "other_lead", "dsl", "la_officer", "social_worker"):
        with pytest.raises(NotAllowed):
            _decide(sessions, w, case_id, absent, "authorised", who=who)
    with pytest.raises(InvalidInput):
        _decide(sessions, w, case_id, present, "authorised")
    with pytest.raises(InvalidInput):
        _decide(sessions, w, case_id, absent, "maybe")


# ---------------------------------------------------------------- percentages, by hand

def _reset_dates(sessions, case_id, start, pattern, per_week):
    with sessions() as session:
        case = session.get(Case, case_id)
        case.start_date = start
        case.pattern = pattern
        case.data = {**case.data, "pattern": pattern, "sessions_per_week": per_week}
        session.commit()


def test_full_time_percentages_with_bank_holidays(sessions):
    """Placement from Mon 22 Dec 2025, today Fri 2 Jan 2026 (25, 26 Dec and 1 Jan are bank holidays).

    Week of 22 Dec: 3 school days = 6 expected. Marks / \\ L I(authorised by school) N V:
        counted 6, attended 4 (/ \\ L V), possible 6 -> 66.7%.
    Week of 29 Dec: 4 school days = 8 expected. Marks 29 / and #, 30 M (no decision) and
        O (authorised by school), 31 / and \\, 2 Jan Y1, 2 Jan PM not registered:
        not counted 2 (# Y1), counted 5, possible max(8 - 2, 5) = 6, attended 3 -> 50.0%,
        not registered 1, authorised 2 (M, O), awaiting decision 1 (M).
    Placement: 7 / 12 = 58.3%.
    """
    w = setup_world(sessions)
    case_id = start_active_case(sessions, w, pattern="full_time", sessions_per_week=10)
    _reset_dates(sessions, case_id, date(2025, 12, 22), "full_time", 10)
    clock.set(at(date(2026, 1, 2)))
    d = lambda day: date(2025, 12, day) if day > 3 else date(2026, 1, day)  # noqa: E731
    with sessions() as session:
        rows = add_marks(session, case_id, [
            (d(22), "AM", "/"), (d(22), "PM", "\\"), (d(23), "AM", "L"), (d(23), "PM", "I"), (d(24), "AM", "N"),
            (d(24), "PM", "V"), (d(29), "AM", "/"), (d(29), "PM", "#"), (d(30), "AM", "M"), (d(30), "PM", "O"),
            (d(31), "AM", "/"), (d(31), "PM", "\\"), (d(2), "AM", "Y1"),
        ], recorded_by=w["provider_staff"])
        session.commit()
        by_code = {(r.date, r.code): r.id for r in rows}
    _decide(sessions, w, case_id, by_code[(d(23), "I")], "authorised")
    _decide(sessions, w, case_id, by_code[(d(30), "O")], "authorised")
    with sessions() as session:
        summary = attendance.case_summary(session, session.get(Case, case_id))
    first, second = summary.weeks
    assert (first.start, first.expected, first.possible, first.attended, first.percent) == (d(22), 6, 6, 4, 66.7)
    assert (first.present, first.elsewhere, first.authorised, first.unauthorised) == (3, 1, 1, 1)
    assert (second.start, second.expected, second.not_counted, second.possible, second.attended) == (d(29), 8, 2, 6, 3)
    assert (second.percent, second.not_registered, second.authorised, second.awaiting_decision) == (50.0, 1, 2, 1)
    total = summary.total
    assert (total.possible, total.attended, total.percent, total.unauthorised) == (12, 7, 58.3, 1)


def test_part_time_percentages_pro_rata(sessions):
    """4 sessions a week, from Mon 22 Dec 2025; today Fri 2 Jan 2026.

    Week of 22 Dec: 3 school days -> 4 x 3 / 5 = 2.4 -> 2 expected; / and N: 1 / 2 = 50%.
    Week of 29 Dec: 4 school days -> 4 x 4 / 5 = 3.2 -> 3 expected; / and /: 2 / 3 = 66.7%, 1 not registered.
    Placement: 3 / 5 = 60%.
    """
    w = setup_world(sessions)
    case_id = start_active_case(sessions, w)
    _reset_dates(sessions, case_id, date(2025, 12, 22), "part_time", 4)
    clock.set(at(date(2026, 1, 2)))
    with sessions() as session:
        add_marks(session, case_id, [(date(2025, 12, 22), "AM", "/"), (date(2025, 12, 22), "PM", "N"),
                                     (date(2025, 12, 29), "AM", "/"), (date(2025, 12, 30), "AM", "/")])
        session.commit()
        summary = attendance.case_summary(session, session.get(Case, case_id))
    assert [(f.expected, f.possible, f.attended, f.percent, f.not_registered) for f in summary.weeks] == [
        (2, 2, 1, 50.0, 0), (3, 3, 2, 66.7, 1)]
    assert (summary.total.possible, summary.total.attended, summary.total.percent) == (5, 3, 60.0)


def test_attending_elsewhere_counts_as_attendance():
    assert CODES["V"].attended and CODES["V"].category == ELSEWHERE
    assert not CODES["I"].attended and CODES["I"].absence
    assert not CODES["Q"].absence and not CODES["Q"].possible
