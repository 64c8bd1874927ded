"""Attendance alerts reach the lifecycle: an N for a pupil with a social worker opens the social
worker's follow_up_absence task through the deployed model; 10 school days of continuous
unauthorised absence notifies the LA officers once per run."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

from service import attendance
from service.models import AttendanceAlert, AuditEvent, Case, Notification, OutboxEmail, TaskRecord
from workflows import clock

from .helpers import at, setup_world, start_active_case, user


def _tasks(session, case_id, element_id):
    return list(session.scalars(select(TaskRecord).where(TaskRecord.case_id == case_id,
                                                         TaskRecord.element_id == element_id)))


def test_unexplained_absence_opens_social_worker_task(sessions):
    w = setup_world(sessions)
    case_id = start_active_case(sessions, w, pupil={"has_social_worker": True})
    clock.set(at(date(2025, 9, 17), 10))
    with sessions() as session:
        case = session.get(Case, case_id)
        assert case.stage == "Placement active"
        assert _tasks(session, case_id, "follow_up_absence") == []
        attendance.register_marks(session, user(session, w["provider_staff"]), case,
                                  [{"date": "2025-09-17", "session": "AM", "code": "N"}])
        session.commit()
    with sessions() as session:
        tasks = _tasks(session, case_id, "follow_up_absence")
        assert [(t.role, t.state) for t in tasks] == [("social_worker", "open")]
        assert tasks[0].due_at.astimezone(at(date(2025, 9, 17)).tzinfo).date() == date(2025, 9, 17)
        assert session.scalar(select(AuditEvent).where(AuditEvent.case_id == case_id,
                                                       AuditEvent.type == "message_received"))


def test_unexplained_absence_without_social_worker_opens_nothing(sessions):
    w = setup_world(sessions)
    case_id = start_active_case(sessions, w)
    clock.set(at(date(2025, 9, 17), 10))
    with sessions() as session:
        attendance.register_marks(session, user(session, w["provider_staff"]), session.get(Case, case_id),
                                  [{"date": "2025-09-17", "session": "AM", "code": "O", "note": "Not seen"}])
        session.commit()
        assert _tasks(session, case_id, "follow_up_absence") == []


def test_authorised_code_sends_no_message(sessions):
    w = setup_world(sessions)
    case_id = start_active_case(sessions, w, pupil={"has_social_worker": True})
    clock.set(at(date(2025, 9, 17), 10))
    with sessions() as session:
        attendance.register_marks(session, user(session, w["provider_staff"]), session.get(Case, case_id),
                                  [{"date": "2025-09-17", "session": "AM", "code": "I"}])
        session.commit()
        assert _tasks(session, case_id, "follow_up_absence") == []


def test_ten_school_days_unauthorised_alerts_la_once_per_run(sessions):
    w = setup_world(sessions)
    case_id = start_active_case(sessions, w, pattern="full_time", sessions_per_week=10)
    staff = w["provider_staff"]
    # Mon 15 Sep .. Fri 26 Sep 2025 = 10 school days; G (holiday not agreed), no social worker.
    days = [date(2025, 9, d) for d in (15, 16, 17, 18, 19, 22, 23, 24, 25, 26)]
    clock.set(at(date(2025, 9, 29)))
    with sessions() as session:
        case = session.get(Case, case_id)
        marks = [{"date": d.isoformat(), "session": s, "code": "G"} for d in days[:9] for s in ("AM", "PM")]
        attendance.register_marks(session, user(session, staff), case, marks)
        session.commit()
        assert session.scalars(select(AttendanceAlert)).all() == []
        attendance.register_marks(session, user(session, staff), case,
                                  [{"date": "2025-09-26", "session": "AM", "code": "G"}])
        session.commit()
        alerts = session.scalars(select(AttendanceAlert)).all()
        assert [(a.run_start, a.run_end, a.school_days) for a in alerts] == [(days[0], days[-1], 10)]
        notes = session.scalars(select(Notification).where(Notification.case_id == case_id)).all()
        la_notes = [n for n in notes if n.user_id == w["la_officer"] and "continuous" in n.subject]
        assert len(la_notes) == 1 and "10 school days" in la_notes[0].subject
        assert "Sam" not in la_notes[0].subject + la_notes[0].body
        assert session.scalar(select(OutboxEmail).where(OutboxEmail.subject.contains("continuous")))
        # The same run continuing raises nothing new.
        attendance.register_marks(session, user(session, staff), case,
                                  [{"date": "2025-09-26", "session": "PM", "code": "N"}])
        session.commit()
        assert len(session.scalars(select(AttendanceAlert)).all()) == 1


def test_school_authorising_breaks_the_run(sessions):
    w = setup_world(sessions)
    case_id = start_active_case(sessions, w, pattern="full_time", sessions_per_week=10)
    days = [date(2025, 9, d) for d in (15, 16, 17, 18, 19, 22, 23, 24, 25, 26)]
    clock.set(at(date(2025, 9, 29)))
    with sessions() as session:
        case = session.get(Case, case_id)
        marks = [{"date": days[0].isoformat(), "session": "AM", "code": "I"}]
        marks += [{"date": d.isoformat(), "session": "AM", "code": "N"} for d in days[1:]]
        records = attendance.register_marks(session, user(session, w["provider_staff"]), case, marks)
        session.commit()
        assert session.scalars(select(AttendanceAlert)).all() == []  # I (pending) breaks it: 9 days
        attendance.decide(session, user(session, w["head"]), case, records[0].id, "unauthorised",
                          "No medical evidence")
        session.commit()
        assert len(session.scalars(select(AttendanceAlert)).all()) == 1


def test_fifteen_school_days_of_any_absence_alerts_la_to_consider_its_duty(sessions):
    w = setup_world(sessions)
    case_id = start_active_case(sessions, w, pattern="full_time", sessions_per_week=10)
    staff = w["provider_staff"]
    # Mon 15 Sep .. Fri 3 Oct 2025 = 15 school days, authorised illness (I) throughout: no
    # unauthorised-absence alert, but the 15-day continuous absence one on the 15th day.
    days = [date(2025, 9, d) for d in (15, 16, 17, 18, 19, 22, 23, 24, 25, 26, 29, 30)] + [
        date(2025, 10, d) for d in (1, 2, 3)]
    clock.set(at(date(2025, 10, 6)))
    with sessions() as session:
        case = session.get(Case, case_id)
        marks = [{"date": d.isoformat(), "session": s, "code": "I"} for d in days[:14] for s in ("AM", "PM")]
        records = attendance.register_marks(session, user(session, staff), case, marks)
        session.commit()
        for record in records:
            attendance.decide(session, user(session, w["head"]), case, record.id, "authorised", "Doctor's note")
        session.commit()
        assert session.scalars(select(AttendanceAlert)).all() == []  # 14 days
        attendance.register_marks(session, user(session, staff), case,
                                  [{"date": "2025-10-03", "session": "AM", "code": "I"}])
        session.commit()
        alerts = session.scalars(select(AttendanceAlert)).all()
        assert [(a.kind, a.run_start, a.run_end, a.school_days) for a in alerts] == [
            ("continuous_absence", days[0], days[-1], 15)]
        notes = session.scalars(select(Notification).where(Notification.case_id == case_id,
                                                           Notification.user_id == w["la_officer"])).all()
        escalations = [n for n in notes if n.kind == "escalation"]
        assert len(escalations) == 1
        assert "15 school days of continuous absence" in escalations[0].subject
        assert "suitable full-time education" in escalations[0].body


def test_unauthorised_run_raises_both_alerts_each_once(sessions):
    w = setup_world(sessions)
    case_id = start_active_case(sessions, w, pattern="full_time", sessions_per_week=10)
    days = [date(2025, 9, d) for d in (15, 16, 17, 18, 19, 22, 23, 24, 25, 26, 29, 30)] + [
        date(2025, 10, d) for d in (1, 2, 3)]
    clock.set(at(date(2025, 10, 6)))
    with sessions() as session:
        case = session.get(Case, case_id)
        marks = [{"date": d.isoformat(), "session": "AM", "code": "G"} for d in days]
        attendance.register_marks(session, user(session, w["provider_staff"]), case, marks)
        session.commit()
        attendance.register_marks(session, user(session, w["provider_staff"]), case,
                                  [{"date": d.isoformat(), "session": "PM", "code": "G"} for d in days])
        session.commit()
        kinds = sorted((a.kind, a.school_days) for a in session.scalars(select(AttendanceAlert)))
        assert kinds == [("continuous_absence", 15), ("continuous_unauthorised", 15)]
