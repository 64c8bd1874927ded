"""A term of attendance for the demo's active placements, so the register, the attendance pages
and the dashboard show real shapes. Marks are written directly (the demo is history, not
events: no messages are sent), then the school's decisions and the LA alert check run as usual."""
from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows import clock
from workflows.calendar import is_school_day

from . import attendance
from .models import AttendanceDecision, AttendanceRecord, Case
from .notify import people_in_role
from .records import BEGUN_STAGES

# Weighted codes a provider would report; most sessions attended.
CODES = [("/", 82), ("L", 4), ("I", 4), ("M", 2), ("N", 4), ("O", 2), ("G", 1), ("V", 1)]


def load(session: Session, rng: random.Random) -> int:
    today = clock.today_london()
    # Placements under way, and those that ended with a destination (their registers are kept).
    cases = [c for c in session.scalars(select(Case).order_by(Case.id))
             if (c.status == "open" and c.stage in BEGUN_STAGES)
             or (c.status == "closed" and (c.data or {}).get("destination"))]
    written = 0
    for case in cases:
        if case.start_date is None or case.start_date >= today:
            continue
        until = min(today, (attendance.last_day(case) or today) + timedelta(days=1))
        staff = people_in_role(session, case, "provider")
        head = people_in_role(session, case, "head_teacher")
        per_week = attendance.sessions_per_week(case)
        day = max(case.start_date, today - timedelta(weeks=12))
        marks = []
        while day < until:
            if is_school_day(day):
                slot_in_week = day.weekday() * 2
                for index, name in enumerate(attendance.SESSIONS):
                    if slot_in_week + index >= per_week:
                        continue  # part time: the first sessions of each week
                    code = rng.choices([c for c, _w in CODES], weights=[w for _c, w in CODES])[0]
                    if code == "/" and name == "PM":
                        code = "\\"
                    note = {"V": "Visit to the county museum", "O": "Not seen; carer not reachable"}.get(code, "")
                    marks.append(AttendanceRecord(case_id=case.id, date=day, session=name, code=code, note=note,
                                                  recorded_by_id=staff[0].id if staff else None,
                                                  recorded_at=clock.now()))
            day += timedelta(days=1)
        session.add_all(marks)
        session.flush()
        written += len(marks)
        for mark in marks:
            meta = attendance.CODES[mark.code]
            # The school has decided most absences older than a week; recent ones are still waiting.
            if meta.absence and head and (today - mark.date).days > 7 and rng.random() < 0.85:
                decision = "authorised" if mark.code in ("I", "M") else "unauthorised"
                session.add(AttendanceDecision(attendance_record_id=mark.id, case_id=case.id, decision=decision,
                                               note="", decided_by_id=head[0].id, decided_at=clock.now()))
        session.flush()
        attendance.check_alerts(session, case)
    return written
