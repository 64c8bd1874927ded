"""Attendance: the codes of the School Attendance (Pupil Registration) (England) Regulations 2024,
the provider's register, the school's decisions on absences, percentages and alerts.

Rules kept here (the web pages and the API both call these functions):

- The provider registers each AM and PM session with a code; a mark is never changed or deleted
  (the unique constraint on case/date/session refuses a second mark for the same session).
- The provider records what happened. `B` and `K` are the *school's* codes for a session the pupil
  spent at this provision, so the provider never uses them: a pupil who attended is marked `/`
  (AM) or `\\` (PM), or `L` if late; a pupil who did not turn up gets an absence code.
- The school (head teacher, or the AP lead acting for them) decides whether each absence the
  provider reported is authorised. The decision is a row of its own (who, when); the provider's
  mark is kept as recorded. A later decision supersedes an earlier one; both are kept.
- Percentages: attended sessions (present or attending elsewhere) over possible sessions. The
  possible sessions of a week are the sessions the placement expected on its school days between
  the start and today (weekends and England bank holidays excluded): two a day full time; part
  time, the pattern's `sessions_per_week` pro rata to the school days of that week
  (sessions_per_week x school days / 5, rounded half up). Marks whose code is not counted as a
  possible session (`#`, `Z`, `X`, `Q`, `Y1`-`Y7`) are taken off; a week never has fewer possible
  sessions than it has counted marks. Expected sessions with no mark yet count as possible and
  not attended (shown as "not registered").
- Alerts: an unexplained absence (`N` or `O`) of a pupil with a social worker sends the
  `unexplained_absence` message to the case at once (the model opens the social worker's task);
  10 school days of continuous unauthorised absence notifies the LA officers of the case's LA,
  and so do 15 school days of continuous absence of any kind (authorised or not), once per run.
  Sessions that are not counted as possible neither break nor extend a run; unregistered days
  (e.g. a part-time pupil's days off) are skipped.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from math import floor

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from workflows import clock
from workflows.calendar import is_school_day, school_days_between

from . import audit, casework
from .errors import Conflict, InvalidInput, NotAllowed
from .models import AttendanceAlert, AttendanceDecision, AttendanceRecord, Case, Notification, OutboxEmail
from .notify import people_in_role

SESSIONS = ("AM", "PM")
PRESENT, ELSEWHERE, AUTHORISED, UNABLE, UNAUTHORISED, ADMIN = (
    "present", "attending_elsewhere", "authorised_absence", "unable_to_attend", "unauthorised_absence",
    "administrative")
CATEGORY_NAMES = {
    PRESENT: "Present", ELSEWHERE: "Attending elsewhere (counts as attendance)",
    AUTHORISED: "Authorised absence", UNABLE: "Unable to attend", UNAUTHORISED: "Unauthorised absence",
    ADMIN: "Administrative",
}
DECISIONS = {"authorised": "Authorised", "unauthorised": "Unauthorised"}
SCHOOL_DECIDERS = {"head_teacher", "school_ap_lead"}
UNEXPLAINED = {"N", "O"}
ALERT_SCHOOL_DAYS = 10
ALERT_KIND = "continuous_unauthorised"
PROVIDER_FORBIDDEN = {"B", "K"}


@dataclass(frozen=True)
class Code:
    code: str
    category: str
    meaning: str
    needs_note: bool = False
    possible: bool = True  # counted as a possible session

    @property
    def attended(self) -> bool:
        return self.category in (PRESENT, ELSEWHERE)

    @property
    def absence(self) -> bool:
        """An absence the school decides on (authorised or not)."""
        return self.category in (AUTHORISED, UNAUTHORISED)


_CODES = [
    Code("/", PRESENT, "Present (morning)"),
    Code("\\", PRESENT, "Present (afternoon)"),
    Code("L", PRESENT, "Late, arrived before the register closed"),
    Code("K", ELSEWHERE, "Attending education provision arranged by the local authority", True),
    Code("V", ELSEWHERE, "Attending an educational visit or trip", True),
    Code("P", ELSEWHERE, "Participating in a supervised sporting activity", True),
    Code("W", ELSEWHERE, "Attending work experience", True),
    Code("B", ELSEWHERE, "Attending any other approved educational activity", True),
    Code("D", ELSEWHERE, "Dual registered, at another school", True),
    Code("C", AUTHORISED, "Leave of absence for exceptional circumstances", True),
    Code("C1", AUTHORISED, "Leave of absence for a regulated performance or employment abroad", True),
    Code("C2", AUTHORISED, "Leave of absence for a part-time timetable", True),
    Code("E", AUTHORISED, "Suspended or permanently excluded, no alternative provision made"),
    Code("I", AUTHORISED, "Illness (not medical or dental appointment)"),
    Code("J1", AUTHORISED, "Leave of absence to attend an interview", True),
    Code("M", AUTHORISED, "Medical or dental appointment"),
    Code("R", AUTHORISED, "Religious observance"),
    Code("S", AUTHORISED, "Study leave"),
    Code("T", AUTHORISED, "Parent travelling for occupational purposes"),
    Code("X", AUTHORISED, "Not of compulsory school age", False, False),
    Code("Q", UNABLE, "Unable to attend: lack of access arrangements (e.g. transport)", True, False),
    Code("Y1", UNABLE, "Unable to attend: transport normally provided not available", True, False),
    Code("Y2", UNABLE, "Unable to attend: widespread disruption to travel", True, False),
    Code("Y3", UNABLE, "Unable to attend: part of the school premises closed", True, False),
    Code("Y4", UNABLE, "Unable to attend: whole school site unexpectedly closed", True, False),
    Code("Y5", UNABLE, "Unable to attend: criminal justice detention", True, False),
    Code("Y6", UNABLE, "Unable to attend: public health guidance or law", True, False),
    Code("Y7", UNABLE, "Unable to attend: any other unavoidable cause", True, False),
    Code("G", UNAUTHORISED, "Holiday not granted by the school"),
    Code("N", UNAUTHORISED, "Reason for absence not yet provided"),
    Code("O", UNAUTHORISED, "Absent in other or unknown circumstances"),
    Code("U", UNAUTHORISED, "Arrived in school after registration closed"),
    Code("Z", ADMIN, "Prospective pupil not yet on roll", False, False),
    Code("#", ADMIN, "Planned whole-school closure", False, False),
]
CODES: dict[str, Code] = {c.code: c for c in _CODES}
PROVIDER_CODES = [c for c in _CODES if c.code not in PROVIDER_FORBIDDEN]
CATEGORIES: dict[str, list[str]] = defaultdict(list)
for _c in _CODES:
    CATEGORIES[_c.category].append(_c.code)
CATEGORIES = dict(CATEGORIES)


def category(code: str) -> str:
    return CODES[code].category if code in CODES else "unknown"


def effective_category(code: str, decision: str | None) -> str:
    """The category that counts: the school's decision on an absence overrides the provider's code."""
    meta = CODES.get(code)
    if meta is None:
        return "unknown"
    if meta.absence and decision == "authorised":
        return AUTHORISED
    if meta.absence and decision == "unauthorised":
        return UNAUTHORISED
    return meta.category


def monday(d: date) -> date:
    return d - timedelta(days=d.weekday())


def half_up(x: float) -> int:
    return int(floor(x + 0.5))


# ------------------------------------------------------------------------ who may do what

BEGUN_STAGES = {"Placement active", "Closure"}


def placement_begun(case: Case) -> bool:
    """Whether the pupil has been going to the provider: the placement is active or closing, or
    it ended with a destination. Before that there is no register to keep."""
    if case.status == "open":
        return case.stage in BEGUN_STAGES
    return case.status == "closed" and bool((case.data or {}).get("destination"))


def can_register(user, case: Case) -> bool:
    org = user.organisation
    return ("provider" in user.roles and org is not None and org.type == "provider"
            and org.id == case.provider_id)


def can_decide(user, case: Case) -> bool:
    org = user.organisation
    return bool(user.roles & SCHOOL_DECIDERS) and org is not None and org.id == case.school_id


# ------------------------------------------------------------------------ validation

def check_mark(case: Case, body: dict, today: date | None = None) -> dict[str, str]:
    """Field -> message for one mark {date, session, code, note}; empty when it is valid."""
    today = today or clock.today_london()
    errors: dict[str, str] = {}
    day = None
    raw_date = body.get("date")
    try:
        day = raw_date if isinstance(raw_date, date) else date.fromisoformat(str(raw_date or ""))
    except ValueError:
        errors["date"] = "Enter the date as YYYY-MM-DD"
    if day is not None:
        if day > today:
            errors["date"] = "You cannot register a session that has not happened yet"
        elif not is_school_day(day):
            errors["date"] = "This is not a school day (a weekend or a bank holiday)"
        elif case.start_date and day < case.start_date:
            errors["date"] = f"The placement starts on {case.start_date.isoformat()}"
        elif last_day(case) and day > last_day(case) and case.status != "open":
            errors["date"] = f"The placement ended on {last_day(case).isoformat()}"
    session_name = body.get("session")
    if session_name not in SESSIONS:
        errors["session"] = "Choose AM or PM"
    code = body.get("code")
    note = body.get("note") or ""
    if not isinstance(note, str) or len(note) > 2000:
        errors["note"] = "The note must be text of 2000 characters or fewer"
        note = ""
    if not isinstance(code, str) or not code:
        errors["code"] = "Choose an attendance code"
    elif code in PROVIDER_FORBIDDEN:
        errors["code"] = (f"{code} is the school's code for a session spent at this provision. Record / or \\ "
                          "when the pupil attended, or an absence code when they did not")
    elif code not in CODES:
        errors["code"] = ("Use an attendance code of the 2024 regulations, e.g. / or \\ (present), L, I, M, N, O, U")
    else:
        if code == "/" and session_name == "PM":
            errors["code"] = "/ marks the morning session; use \\ for PM"
        elif code == "\\" and session_name == "AM":
            errors["code"] = "\\ marks the afternoon session; use / for AM"
        elif CODES[code].needs_note and not note.strip():
            errors["note"] = f"Add a note: code {code} ({CODES[code].meaning.lower()}) needs one"
    return errors


def last_day(case: Case) -> date | None:
    """The placement's last day: the recorded actual end for a closed case, else the planned end."""
    data = case.data or {}
    actual = data.get("actual_end_date")
    if case.status != "open" and isinstance(actual, str):
        try:
            return date.fromisoformat(actual[:10])
        except ValueError:
            pass
    return case.end_date


# ------------------------------------------------------------------------ registering

def register_marks(session: Session, user, case: Case, marks: list[dict], keys: list[str] | None = None
                   ) -> list[AttendanceRecord]:
    """Register sessions (all or none). Errors are keyed by field, or by `keys[i] + '-' + field`
    when keys are given (a week page). Sends the alerts; the caller commits."""
    if not can_register(user, case):
        raise NotAllowed("Only staff of the pupil's provider can register attendance")
    case = casework.lock_case(session, case.id)  # one writer per case: alerts see every mark
    if not placement_begun(case):
        raise Conflict("Attendance is registered once the placement has begun; this case is at "
                       + (f"the {case.stage} stage" if case.status == "open" else f"an end ({case.status})"))
    errors: dict[str, str] = {}
    existing = {(r.date, r.session): r for r in records_for(session, case.id)}
    seen = set()
    for index, body in enumerate(marks):
        prefix = f"{keys[index]}-" if keys else ""
        problems = check_mark(case, body)
        if not problems:
            slot = (date.fromisoformat(str(body["date"])), body["session"])
            if slot in existing or slot in seen:
                mark = existing.get(slot)
                problems["session"] = (f"The {slot[1]} session of {slot[0].isoformat()} is already registered"
                                       + (f" (code {mark.code})" if mark else "") + "; registers are not overwritten")
            seen.add(slot)
        errors.update({prefix + k: v for k, v in problems.items()})
    if errors:
        conflict = [v for k, v in errors.items() if "already registered" in v]
        if conflict and len(conflict) == len(errors) and not keys:
            raise Conflict(conflict[0])
        raise InvalidInput("The attendance marks have problems" if keys else "The attendance mark has problems",
                           errors)
    now = clock.now()
    created = []
    for body in marks:
        record = AttendanceRecord(case_id=case.id, date=date.fromisoformat(str(body["date"])),
                                  session=body["session"], code=body["code"], note=(body.get("note") or "").strip(),
                                  recorded_by_id=user.id, recorded_at=now)
        session.add(record)
        created.append(record)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise Conflict("Someone registered one of these sessions at the same time; registers are not "
                       "overwritten. Reload the page to see the register.") from None
    for record in created:
        audit.record(session, "attendance_recorded", case_id=case.id, actor_id=user.id,
                     date=record.date.isoformat(), am_pm=record.session, code=record.code,
                     category=category(record.code))
    delivered = None
    for record in created:
        if record.code in UNEXPLAINED and case.pupil.has_social_worker:
            delivered = casework.deliver_message(
                session, case.id, "unexplained_absence",
                {"case_id": case.id, "date": record.date.isoformat(), "session": record.session}, actor=user)
            for r in created:
                r.message_delivered = delivered
    check_alerts(session, case)
    return created


def decide(session: Session, user, case: Case, record_id: int, decision: str, note: str = ""
           ) -> AttendanceDecision:
    """The school's decision on one absence the provider reported; audited; the mark is kept."""
    if not can_decide(user, case):
        raise NotAllowed("Only the pupil's school (head teacher or AP lead) decides whether an absence is authorised")
    case = casework.lock_case(session, case.id)
    record = session.get(AttendanceRecord, record_id)
    if record is None or record.case_id != case.id:
        raise InvalidInput("Choose an absence on this placement's register", {"record": "No such mark"})
    if not CODES.get(record.code) or not CODES[record.code].absence:
        raise InvalidInput("Only absences need a decision", {"decision": f"Code {record.code} is not an absence"})
    if decision not in DECISIONS:
        raise InvalidInput("Choose authorised or unauthorised",
                           {"decision": "Choose whether the school authorises this absence"})
    note = (note or "").strip()
    if len(note) > 2000:
        raise InvalidInput("The note is too long", {"note": "The note must be 2000 characters or fewer"})
    previous = latest_decisions(session, [record.id]).get(record.id)
    row = AttendanceDecision(attendance_record_id=record.id, case_id=case.id, decision=decision, note=note,
                             decided_by_id=user.id, decided_at=clock.now())
    session.add(row)
    session.flush()
    audit.record(session, "attendance_decided", case_id=case.id, actor_id=user.id, record_id=record.id,
                 date=record.date.isoformat(), am_pm=record.session, code=record.code, decision=decision,
                 previous=previous.decision if previous else None, note=note)
    check_alerts(session, case)
    return row


# ------------------------------------------------------------------------ reading

def records_for(session: Session, case_id: int, start: date | None = None, end: date | None = None
                ) -> list[AttendanceRecord]:
    stmt = select(AttendanceRecord).where(AttendanceRecord.case_id == case_id)
    if start:
        stmt = stmt.where(AttendanceRecord.date >= start)
    if end:
        stmt = stmt.where(AttendanceRecord.date <= end)
    return list(session.scalars(stmt.order_by(AttendanceRecord.date, AttendanceRecord.session)))


def latest_decisions(session: Session, record_ids) -> dict[int, AttendanceDecision]:
    record_ids = list(record_ids)
    if not record_ids:
        return {}
    latest: dict[int, AttendanceDecision] = {}
    rows = session.scalars(select(AttendanceDecision).where(AttendanceDecision.attendance_record_id.in_(record_ids))
                           .order_by(AttendanceDecision.decided_at, AttendanceDecision.id))
    for row in rows:
        latest[row.attendance_record_id] = row
    return latest


def decisions_by_case(session: Session, case_ids) -> dict[int, AttendanceDecision]:
    """Latest decision per attendance record, for several cases at once."""
    case_ids = list(case_ids)
    latest: dict[int, AttendanceDecision] = {}
    if not case_ids:
        return latest
    for row in session.scalars(select(AttendanceDecision).where(AttendanceDecision.case_id.in_(case_ids))
                               .order_by(AttendanceDecision.decided_at, AttendanceDecision.id)):
        latest[row.attendance_record_id] = row
    return latest


@dataclass
class Figures:
    """Session counts for a week or a whole placement."""
    start: date | None = None
    expected: int = 0
    possible: int = 0
    attended: int = 0
    present: int = 0
    elsewhere: int = 0
    authorised: int = 0
    unauthorised: int = 0
    awaiting_decision: int = 0
    not_counted: int = 0
    not_registered: int = 0
    marks: int = 0

    @property
    def percent(self) -> float | None:
        return round(100 * self.attended / self.possible, 1) if self.possible else None

    def add(self, other: "Figures") -> None:
        for name in ("expected", "possible", "attended", "present", "elsewhere", "authorised", "unauthorised",
                     "awaiting_decision", "not_counted", "not_registered", "marks"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class Summary:
    weeks: list[Figures] = field(default_factory=list)
    total: Figures = field(default_factory=Figures)


def sessions_per_week(case: Case) -> int:
    data = case.data or {}
    pattern = data.get("pattern") or case.pattern
    if pattern != "part_time":
        return 10
    try:
        return max(0, min(10, int(data.get("sessions_per_week") or 10)))
    except (TypeError, ValueError):
        return 10


def expected_in_week(case: Case, week_start: date, today: date) -> int:
    """Sessions the placement expected in the week starting `week_start` (up to today)."""
    if case.start_date is None:
        return 0
    end = min(d for d in (last_day(case), today) if d is not None)
    days = [week_start + timedelta(days=i) for i in range(5)]
    days = [d for d in days if case.start_date <= d <= end and is_school_day(d)]
    if not days:
        return 0
    per_week = sessions_per_week(case)
    if per_week >= 10:
        return 2 * len(days)
    return min(2 * len(days), half_up(per_week * len(days) / 5))


def summarise(case: Case, records: list[AttendanceRecord], decisions: dict[int, AttendanceDecision],
              today: date | None = None) -> Summary:
    """Weekly and whole-placement figures for one case (see the module docstring for the rules)."""
    today = today or clock.today_london()
    by_week: dict[date, list[AttendanceRecord]] = defaultdict(list)
    for r in records:
        by_week[monday(r.date)].append(r)
    weeks = set(by_week)
    if case.start_date and case.start_date <= today:
        end = min(d for d in (last_day(case), today) if d is not None)
        w = monday(case.start_date)
        while w <= end:
            weeks.add(w)
            w += timedelta(days=7)
    summary = Summary()
    for w in sorted(weeks):
        fig = week_figures(case, w, by_week.get(w, []), decisions, today)
        summary.weeks.append(fig)
        summary.total.add(fig)
    summary.total.start = case.start_date
    return summary


def week_figures(case: Case, week_start: date, records, decisions, today: date) -> Figures:
    fig = Figures(start=week_start, expected=expected_in_week(case, week_start, today))
    counted = 0
    for r in records:
        meta = CODES.get(r.code)
        fig.marks += 1
        if meta is None:
            continue
        if not meta.possible:
            fig.not_counted += 1
            continue
        counted += 1
        decision = decisions.get(r.id)
        cat = effective_category(r.code, decision.decision if decision else None)
        if cat == PRESENT:
            fig.present += 1
        elif cat == ELSEWHERE:
            fig.elsewhere += 1
        elif cat == AUTHORISED:
            fig.authorised += 1
        elif cat == UNAUTHORISED:
            fig.unauthorised += 1
        if meta.absence and decision is None:
            fig.awaiting_decision += 1
    fig.attended = fig.present + fig.elsewhere
    fig.possible = max(fig.expected - fig.not_counted, counted)
    fig.not_registered = max(fig.possible - counted, 0)
    return fig


def case_summary(session: Session, case: Case, today: date | None = None) -> Summary:
    records = records_for(session, case.id)
    return summarise(case, records, latest_decisions(session, [r.id for r in records]), today)


def summaries(session: Session, cases: list[Case], today: date | None = None) -> dict[int, Summary]:
    """Figures for many cases with two queries."""
    ids = [c.id for c in cases]
    if not ids:
        return {}
    by_case: dict[int, list[AttendanceRecord]] = defaultdict(list)
    for r in session.scalars(select(AttendanceRecord).where(AttendanceRecord.case_id.in_(ids))
                             .order_by(AttendanceRecord.date, AttendanceRecord.session)):
        by_case[r.case_id].append(r)
    decisions = decisions_by_case(session, ids)
    return {c.id: summarise(c, by_case.get(c.id, []), decisions, today) for c in cases}


# ------------------------------------------------------------------------ alerts

@dataclass(frozen=True)
class AlertRule:
    """A run of continuous absence that the LA hears about: `kind` is stored on each alert."""
    kind: str
    school_days: int
    categories: frozenset
    what: str  # "unauthorised absence"
    ask: str   # what the LA officer is asked to do


ALERT_RULES = (
    AlertRule(ALERT_KIND, ALERT_SCHOOL_DAYS, frozenset({UNAUTHORISED}), "unauthorised absence",
              "Please consider the local authority's duties for this pupil."),
    # DOMAIN.md: the LA considers its duty (to arrange suitable education) after 15 days of
    # continuous absence, whatever the reason.
    AlertRule("continuous_absence", 15, frozenset({AUTHORISED, UNAUTHORISED}), "absence",
              "Please consider whether the local authority's duty to arrange suitable full-time "
              "education now applies."),
)
ALERT_WHAT = {rule.kind: rule.what for rule in ALERT_RULES}  # for pages


def absence_runs(records: list[AttendanceRecord], decisions: dict[int, AttendanceDecision],
                 categories=frozenset({UNAUTHORISED})) -> list[tuple[date, date, int]]:
    """Runs of continuous absence in `categories`: (first date, last date, school days spanned)."""
    runs = []
    start = end = None
    for r in sorted(records, key=lambda r: (r.date, SESSIONS.index(r.session) if r.session in SESSIONS else 0)):
        meta = CODES.get(r.code)
        if meta is None or not meta.possible:
            continue  # neither breaks nor extends a run
        decision = decisions.get(r.id)
        if effective_category(r.code, decision.decision if decision else None) in categories:
            start = start or r.date
            end = r.date
        else:
            if start:
                runs.append((start, end, school_days_between(start, end) + 1))
            start = end = None
    if start:
        runs.append((start, end, school_days_between(start, end) + 1))
    return runs


def check_alerts(session: Session, case: Case) -> list[AttendanceAlert]:
    """Alert the case's LA officers of each run that reaches a rule's length (10 school days of
    unauthorised absence; 15 of any absence), once per rule and run."""
    records = records_for(session, case.id)
    decisions = latest_decisions(session, [r.id for r in records])
    known = set(session.execute(select(AttendanceAlert.kind, AttendanceAlert.run_start).where(
        AttendanceAlert.case_id == case.id)).tuples())
    raised = []
    for rule in ALERT_RULES:
        for start, end, days in absence_runs(records, decisions, rule.categories):
            if days < rule.school_days or (rule.kind, start) in known:
                continue
            raised.append(_raise_alert(session, case, rule, start, end, days))
    return raised


def _raise_alert(session: Session, case: Case, rule: AlertRule, start: date, end: date,
                 days: int) -> AttendanceAlert:
    now = clock.now()
    alert = AttendanceAlert(case_id=case.id, kind=rule.kind, run_start=start, run_end=end,
                            school_days=days, created_at=now)
    session.add(alert)
    session.flush()
    subject = f"Attendance escalation: {days} school days of continuous {rule.what}"
    body = (f"The provider's register for case {case.reference} shows {rule.what} on every "
            f"registered session from {start.isoformat()} to {end.isoformat()} ({days} school days). "
            + rule.ask)
    for person in people_in_role(session, case, "la_officer"):
        session.add(Notification(user_id=person.id, case_id=case.id, kind="escalation", subject=subject,
                                 body=body, created_at=now))
        session.add(OutboxEmail(to_address=person.email, subject=f"{subject} ({case.reference})",
                                body=f"{body}\n\nCase {case.reference}: /cases/{case.id}/attendance\n",
                                created_at=now, next_attempt_at=now))
    audit.record(session, "attendance_alert_raised", case_id=case.id, kind=rule.kind,
                 run_start=start.isoformat(), run_end=end.isoformat(), school_days=days)
    return alert
