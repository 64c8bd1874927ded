"""The school's full record of placements: the register rows (with reviews, attendance summary,
progress, closure outcomes), dashboard figures, census and subject access exports.

Reads only; every function takes the user so nobody sees a case they may not see
(`access.case_filter`). Volumes are small (an LA's placements), so figures are computed in
Python from a handful of queries rather than in SQL.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from workflows import clock

from . import access, attendance
from .models import (AttendanceAlert, AttendanceRecord, AuditEvent, Case, Notification, Organisation,
                     ProgressReport, Provider, Pupil, TaskRecord)

DESTINATIONS = {
    "home_school": "Returned to home school", "other_school": "Another school", "special_school": "Special school",
    "further_education": "Further education", "employment_with_training": "Employment with training",
    "apprenticeship": "Apprenticeship", "neet": "Not in education, employment or training", "other": "Other",
}
REVIEW_TASK = "record_review"
BEGUN_STAGES = attendance.BEGUN_STAGES
SETTING_TYPES = {"NFE": "Non-further education provider (NFE)", "OOT": "One-to-one tuition (OOT)",
                 "OTH": "Other (OTH)", "WBP": "Work-based placement (WBP)"}


@dataclass
class Review:
    date: str
    outcome: str
    attendance: str = ""
    behaviour: str = ""
    progress: str = ""
    pupil_views: str = ""
    parent_views: str = ""
    new_end_date: str = ""
    recorded_at: object = None
    recorded_by: int | None = None


@dataclass
class Row:
    case: Case
    summary: attendance.Summary
    reviews: list[Review] = field(default_factory=list)
    progress: list[ProgressReport] = field(default_factory=list)
    review_due: object = None  # an open review task's due time
    review_overdue: bool = False

    @property
    def data(self) -> dict:
        return self.case.data or {}

    @property
    def destination(self) -> str:
        return self.data.get("destination") or ""

    @property
    def end(self) -> date | None:
        return attendance.last_day(self.case)

    @property
    def begun(self) -> bool:
        return attendance.placement_begun(self.case)

    @property
    def length_days(self) -> int | None:
        if self.case.status != "closed" or not self.case.start_date or not self.end:
            return None
        return (self.end - self.case.start_date).days + 1


def visible_cases(session: Session, user, **filters) -> list[Case]:
    stmt = (select(Case).join(Pupil, Case.pupil_id == Pupil.id).where(access.case_filter(user))
            .options(selectinload(Case.provider).selectinload(Provider.organisation), selectinload(Case.school))
            .order_by(Case.start_date.desc().nullslast(), Case.id.desc()))
    if filters.get("provider"):
        stmt = stmt.where(Case.provider_id == filters["provider"])
    if filters.get("school"):
        stmt = stmt.where(Case.school_id == filters["school"])
    if filters.get("status"):
        stmt = stmt.where(Case.status == filters["status"])
    if filters.get("stage"):
        stmt = stmt.where(Case.stage == filters["stage"])
    if filters.get("pattern"):
        stmt = stmt.where(Case.pattern == filters["pattern"])
    if filters.get("started_from"):
        stmt = stmt.where(Case.start_date >= filters["started_from"])
    if filters.get("started_to"):
        stmt = stmt.where(Case.start_date <= filters["started_to"])
    q = (filters.get("q") or "").strip().lower()
    if q:
        like = f"%{q}%"
        from sqlalchemy import func, or_
        clauses = [func.lower(Pupil.first_name + " " + Pupil.last_name).like(like), func.lower(Pupil.upn).like(like)]
        ref = q.upper().removeprefix("AP-").lstrip("0")
        if ref.isdigit():
            clauses.append(Case.id == int(ref))
        stmt = stmt.where(or_(*clauses))
    return list(session.scalars(stmt).unique())


def rows_for(session: Session, cases: list[Case], today: date | None = None) -> list[Row]:
    today = today or clock.today_london()
    ids = [c.id for c in cases]
    summaries = attendance.summaries(session, cases, today)
    reviews: dict[int, list[Review]] = defaultdict(list)
    progress: dict[int, list[ProgressReport]] = defaultdict(list)
    due: dict[int, TaskRecord] = {}
    if ids:
        for event in session.scalars(select(AuditEvent).where(AuditEvent.case_id.in_(ids),
                                                              AuditEvent.type == "task_completed")
                                     .order_by(AuditEvent.at, AuditEvent.id)):
            detail = event.detail or {}
            if detail.get("element_id") != REVIEW_TASK:
                continue
            data = detail.get("data") or {}
            reviews[event.case_id].append(Review(
                date=data.get("review_date") or "", outcome=data.get("review_outcome") or "",
                attendance=data.get("attendance_summary") or "", behaviour=data.get("behaviour_summary") or "",
                progress=data.get("progress_summary") or "", pupil_views=data.get("review_pupil_views") or "",
                parent_views=data.get("review_parent_views") or "", new_end_date=data.get("new_end_date") or "",
                recorded_at=event.at, recorded_by=event.actor_id))
        for report in session.scalars(select(ProgressReport).where(ProgressReport.case_id.in_(ids))
                                      .order_by(ProgressReport.report_date, ProgressReport.id)):
            progress[report.case_id].append(report)
        for task in session.scalars(select(TaskRecord).where(TaskRecord.case_id.in_(ids), TaskRecord.state == "open",
                                                             TaskRecord.element_id == REVIEW_TASK)):
            due[task.case_id] = task
    now = clock.now()
    rows = []
    for case in cases:
        task = due.get(case.id)
        rows.append(Row(case=case, summary=summaries[case.id], reviews=reviews.get(case.id, []),
                        progress=progress.get(case.id, []), review_due=task.due_at if task else None,
                        review_overdue=bool(task and task.due_at and task.due_at < now)))
    return rows


def review_state(row: Row) -> str | None:
    if row.review_due is None and not row.review_overdue:
        return None
    return "overdue" if row.review_overdue else "due"


# ------------------------------------------------------------------------ dashboard

def weeks_back(today: date, count: int = 6) -> list[date]:
    this = attendance.monday(today)
    return [this - timedelta(weeks=n) for n in range(count - 1, -1, -1)]


def week_contributors(row: Row, week: date) -> attendance.Figures | None:
    for fig in row.summary.weeks:
        if fig.start == week and fig.possible:
            return fig
    return None


def dashboard(rows: list[Row], today: date | None = None) -> dict:
    today = today or clock.today_london()
    active = [r for r in rows if r.case.status == "open"]
    by_provider_stage: dict[tuple, int] = Counter((r.case.provider_id, r.case.stage or "") for r in active)
    providers = {r.case.provider_id: r.case.provider.name if r.case.provider else "No provider" for r in rows}
    stages = sorted({s for _p, s in by_provider_stage})
    weeks = weeks_back(today)
    attendance_by_provider = {}
    for pid in sorted({r.case.provider_id for r in rows if r.case.provider_id and r.begun}, key=lambda p: providers[p]):
        points = []
        for week in weeks:
            total = attendance.Figures(start=week)
            cases = 0
            for r in rows:
                if r.case.provider_id != pid or not r.begun:
                    continue  # a referral not yet placed expects no sessions of anyone
                fig = week_contributors(r, week)
                if fig:
                    total.add(fig)
                    cases += 1
            points.append({"week": week, "percent": total.percent, "attended": total.attended,
                           "possible": total.possible, "cases": cases})
        if any(p["cases"] for p in points):
            attendance_by_provider[pid] = points
    closed = [r for r in rows if r.case.status == "closed"]
    destinations = Counter(r.destination or "not_recorded" for r in closed)
    lengths = [r.length_days for r in closed if r.length_days]
    return {
        "active_total": len(active),
        "providers": providers,
        "stages": stages,
        "by_provider_stage": by_provider_stage,
        "reviews_due": sum(1 for r in active if review_state(r) == "due"),
        "reviews_overdue": sum(1 for r in active if review_state(r) == "overdue"),
        "weeks": weeks,
        "attendance": attendance_by_provider,
        "destinations": destinations,
        "closed_total": len(closed),
        "average_length": round(sum(lengths) / len(lengths)) if lengths else None,
        "awaiting_decision": sum(r.summary.total.awaiting_decision for r in rows),
        "awaiting_cases": sum(1 for r in rows if r.summary.total.awaiting_decision),
    }


# ------------------------------------------------------------------------ census

def census_rows(rows: list[Row]) -> list[dict]:
    """School census AP placement lines for placements that began (declined/withdrawn never did)."""
    out = []
    for r in rows:
        if not r.begun:
            continue
        case, provider = r.case, r.case.provider
        urn = (provider.urn or "") if provider else ""
        ukprn = (provider.ukprn or "") if provider else ""
        setting = "" if (urn or ukprn) else ((provider.setting_type if provider else None) or "OTH")
        out.append({
            "upn": case.pupil.upn, "surname": case.pupil.last_name, "forename": case.pupil.first_name,
            "date_of_birth": case.pupil.date_of_birth.isoformat(), "case_reference": case.reference,
            "provider_name": provider.name if provider else "", "provider_urn": urn, "provider_ukprn": ukprn,
            "setting_type": setting, "entry_date": case.start_date.isoformat() if case.start_date else "",
            "leaving_date": r.end.isoformat() if case.status == "closed" and r.end else "",
            "attendance_pattern": "FT" if (r.data.get("pattern") or case.pattern) == "full_time" else "PT",
            "sessions_per_week": attendance.sessions_per_week(case),
        })
    return out


def register_csv_row(r: Row) -> dict:
    case, data, total = r.case, r.data, r.summary.total
    return {
        "case_reference": case.reference, "upn": case.pupil.upn, "surname": case.pupil.last_name,
        "forename": case.pupil.first_name, "school": case.school.name if case.school else "",
        "provider": case.provider.name if case.provider else "", "status": case.status, "stage": case.stage or "",
        "pattern": data.get("pattern") or case.pattern, "sessions_per_week": attendance.sessions_per_week(case),
        "start_date": case.start_date.isoformat() if case.start_date else "",
        "end_date": r.end.isoformat() if r.end else "", "reason": data.get("reason") or "",
        "objectives": data.get("objectives") or "",
        "reviews": " | ".join(f"{v.date}: {v.outcome}; attendance {v.attendance}; progress {v.progress}"
                              for v in r.reviews),
        "possible_sessions": total.possible, "attended_sessions": total.attended,
        "attendance_percent": "" if total.percent is None else total.percent,
        "authorised_absences": total.authorised, "unauthorised_absences": total.unauthorised,
        "progress_reports": " | ".join(f"{p.period}: {p.progress}" for p in r.progress),
        "progress": data.get("progress") or "", "achievements": data.get("achievements") or "",
        "destination": data.get("destination") or "", "destination_detail": data.get("destination_detail") or "",
        "pupil_assessment": data.get("pupil_assessment") or "", "parent_assessment": data.get("parent_assessment") or "",
    }


# ------------------------------------------------------------------------ subject access

def subject_access(session: Session, case: Case) -> dict:
    """Everything held about the pupil of one case, as JSON-able data."""
    from .jsonable import jsonable
    pupil = case.pupil
    records = attendance.records_for(session, case.id)
    decisions = defaultdict(list)
    from .models import AttendanceDecision
    for d in session.scalars(select(AttendanceDecision).where(AttendanceDecision.case_id == case.id)
                             .order_by(AttendanceDecision.decided_at, AttendanceDecision.id)):
        decisions[d.attendance_record_id].append(d)
    names = {}

    def who(user_id):
        if user_id is None:
            return None
        if user_id not in names:
            from .models import User
            u = session.get(User, user_id)
            names[user_id] = (u.name or u.email) if u else str(user_id)
        return names[user_id]

    org = lambda oid: session.get(Organisation, oid).name if oid else None  # noqa: E731
    tasks = session.scalars(select(TaskRecord).where(TaskRecord.case_id == case.id).order_by(TaskRecord.created_at))
    events = session.scalars(select(AuditEvent).where(AuditEvent.case_id == case.id).order_by(AuditEvent.at, AuditEvent.id))
    summary = attendance.summarise(case, records, {k: v[-1] for k, v in decisions.items()})
    return jsonable({
        "pupil": {"upn": pupil.upn, "first_name": pupil.first_name, "last_name": pupil.last_name,
                  "date_of_birth": pupil.date_of_birth, "year_group": pupil.year_group, "sen_status": pupil.sen_status,
                  "has_social_worker": pupil.has_social_worker, "looked_after": pupil.looked_after,
                  "fsm_eligible": pupil.fsm_eligible, "school": org(pupil.school_id)},
        "placement": {"reference": case.reference, "status": case.status, "stage": case.stage,
                      "school": org(case.school_id), "provider": org(case.provider_id), "local_authority": org(case.la_id),
                      "social_care": org(case.social_care_id), "virtual_school": org(case.virtual_school_id),
                      "pattern": case.pattern, "start_date": case.start_date, "end_date": case.end_date,
                      "created_at": case.created_at, "closed_at": case.closed_at,
                      "model_version": case.model_version.label if case.model_version else None},
        "case_data": case.data or {},
        "tasks": [{"title": t.title, "role": t.role, "state": t.state, "created_at": t.created_at,
                   "due_at": t.due_at, "completed_at": t.completed_at, "completed_by": who(t.completed_by_id)}
                  for t in tasks],
        "attendance": {
            "summary": {"possible_sessions": summary.total.possible, "attended_sessions": summary.total.attended,
                        "percent": summary.total.percent, "authorised_absences": summary.total.authorised,
                        "unauthorised_absences": summary.total.unauthorised},
            "register": [{"date": r.date, "session": r.session, "code": r.code, "category": attendance.category(r.code),
                          "note": r.note, "recorded_by": who(r.recorded_by_id), "recorded_at": r.recorded_at,
                          "school_decisions": [{"decision": d.decision, "note": d.note, "decided_by": who(d.decided_by_id),
                                                "decided_at": d.decided_at} for d in decisions.get(r.id, [])]}
                         for r in records],
            "alerts": [{"kind": a.kind, "run_start": a.run_start, "run_end": a.run_end, "school_days": a.school_days,
                        "raised_at": a.created_at}
                       for a in session.scalars(select(AttendanceAlert).where(AttendanceAlert.case_id == case.id))],
        },
        "progress_reports": [{"period": p.period, "report_date": p.report_date, "progress": p.progress,
                              "behaviour": p.behaviour, "pupil_voice": p.pupil_voice, "next_steps": p.next_steps,
                              "recorded_by": who(p.recorded_by_id), "recorded_at": p.recorded_at}
                             for p in session.scalars(select(ProgressReport).where(ProgressReport.case_id == case.id)
                                                      .order_by(ProgressReport.report_date))],
        "notifications": [{"subject": n.subject, "body": n.body, "to": who(n.user_id), "created_at": n.created_at}
                          for n in session.scalars(select(Notification).where(Notification.case_id == case.id)
                                                   .order_by(Notification.created_at, Notification.id))],
        "audit_trail": [{"at": e.at, "actor": who(e.actor_id), "type": e.type, "detail": e.detail} for e in events],
    })


def attendance_record_count(session: Session, case_id: int) -> int:
    from sqlalchemy import func
    return session.scalar(select(func.count(AttendanceRecord.id)).where(AttendanceRecord.case_id == case_id)) or 0
