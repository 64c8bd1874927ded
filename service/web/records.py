"""Placement records pages: the provider's weekly register and the school's absence decisions,
a case's records (attendance, progress reports, reviews, outcome), the placement register with
CSV and census exports, the dashboard, and the subject access export.

URLs carry ids and dates only. Parents never see these pages (they get the case summary).
"""
from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from workflows import clock
from workflows.calendar import _bank_holidays, is_school_day

from .. import access, attendance, audit, casework, database, records
from ..errors import Conflict, InvalidInput, NotAllowed
from ..models import AttendanceAlert, Case, ProgressReport, Provider, User
from . import MAX_ID

bp = Blueprint("records", __name__)

STAFF_ROLES = {"school_ap_lead", "head_teacher", "dsl", "senco", "la_officer", "social_worker", "virtual_school",
               "provider"}
DASHBOARD_ROLES = {"school_ap_lead", "head_teacher", "dsl", "senco", "la_officer"}
DAY_NAMES = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]


@bp.record_once
def _install(state):
    state.app.jinja_env.filters.setdefault("percent", _percent)
    state.app.jinja_env.globals.update(ATTENDANCE_CODES=attendance.CODES, CATEGORY_NAMES=attendance.CATEGORY_NAMES,
                                       DESTINATIONS=records.DESTINATIONS)


def _percent(value) -> str:
    return "—" if value is None else f"{value:g}%"


def _staff_case(case_id: int) -> Case:
    db = database.session()
    case = casework.visible_case(db, current_user, case_id)
    if access.is_parent_only(current_user) or not (current_user.roles & STAFF_ROLES):
        raise NotAllowed("Ask the school about your child's placement")
    return case


def _parse_date(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _week_start(text: str | None) -> date | None:
    """The attendance week's `start`, or None (the current week) when it is not a date in 2000-2100."""
    start = _parse_date(text)
    return start if start is not None and 2000 <= start.year <= 2100 else None


def _slot_key(day: date, session_name: str) -> str:
    return f"s{day.isoformat()}-{session_name}"


# ------------------------------------------------------------------------ attendance

@bp.route("/cases/<int:case_id>/attendance")
@login_required
def attendance_overview(case_id):
    db = database.session()
    case = _staff_case(case_id)
    audit.record(db, "case_viewed", case_id=case.id, actor_id=current_user.id, via="attendance")
    db.commit()
    rows = attendance.records_for(db, case.id)
    decisions = attendance.latest_decisions(db, [r.id for r in rows])
    summary = attendance.summarise(case, rows, decisions)
    pending = [r for r in rows if attendance.CODES.get(r.code) and attendance.CODES[r.code].absence
               and r.id not in decisions]
    alerts = list(db.scalars(select(AttendanceAlert).where(AttendanceAlert.case_id == case.id)
                             .order_by(AttendanceAlert.run_start)))
    return render_template("records/attendance.html", title=f"Attendance – case {case.reference}", case=case,
                           summary=summary, pending=pending, alerts=alerts,
                           alert_what=attendance.ALERT_WHAT,
                           can_decide=attendance.can_decide(current_user, case),
                           can_register=attendance.can_register(current_user, case)
                           and attendance.placement_begun(case),
                           this_week=attendance.monday(clock.today_london()))


@bp.route("/cases/<int:case_id>/attendance/week", methods=["GET", "POST"])
@login_required
def attendance_week(case_id):
    db = database.session()
    case = _staff_case(case_id)
    today = clock.today_london()
    start = attendance.monday(_week_start(request.values.get("start")) or today)
    days = [start + timedelta(days=i) for i in range(5)]
    # No register before the placement has begun: the page says so instead of offering a form.
    not_begun = not attendance.placement_begun(case)
    can_register = attendance.can_register(current_user, case) and not not_begun
    errors: dict[str, str] = {}
    values: dict[str, str] = {}
    if request.method == "POST":
        if not_begun and attendance.can_register(current_user, case):
            raise Conflict("Attendance is registered once the placement has begun")
        if not can_register:
            raise NotAllowed("Only staff of the pupil's provider can register attendance")
        marks, keys = [], []
        for day in days:
            for s in attendance.SESSIONS:
                key = _slot_key(day, s)
                code = (request.form.get(f"{key}-code") or "").strip()
                note = (request.form.get(f"{key}-note") or "").strip()
                values[f"{key}-code"], values[f"{key}-note"] = code, note
                if code:
                    marks.append({"date": day.isoformat(), "session": s, "code": code, "note": note})
                    keys.append(key)
                elif note:
                    errors[f"{key}-code"] = "Choose a code for this session, or clear its note"
        if not marks and not errors:
            errors[f"{_slot_key(days[0], 'AM')}-code"] = "Choose a code for at least one session"
        if not errors:
            try:
                created = attendance.register_marks(db, current_user, case, marks, keys=keys)
                db.commit()
                flash(f"{len(created)} session{'s' if len(created) != 1 else ''} registered", "success")
                return redirect(url_for(".attendance_week", case_id=case.id, start=start.isoformat()))
            except InvalidInput as invalid:
                db.rollback()
                errors = invalid.details
            except Exception:
                db.rollback()
                raise
    rows = attendance.records_for(db, case.id, days[0], days[-1])
    decisions = attendance.latest_decisions(db, [r.id for r in rows])
    marks = {(r.date, r.session): r for r in rows}
    fig = attendance.week_figures(case, start, rows, decisions, today)
    holidays = _bank_holidays(start.year) | _bank_holidays(days[-1].year)
    slots = []
    for i, day in enumerate(days):
        for s in attendance.SESSIONS:
            key = _slot_key(day, s)
            mark = marks.get((day, s))
            reason = None
            if mark is None:
                if day in holidays:
                    reason = "Bank holiday"
                elif not is_school_day(day):
                    reason = "Not a school day"
                elif day > today:
                    reason = "Not yet"
                elif case.start_date and day < case.start_date:
                    reason = "Before the placement"
            slots.append({"key": key, "day": day, "day_name": DAY_NAMES[i], "session": s, "mark": mark,
                          "decision": decisions.get(mark.id) if mark else None, "closed_reason": reason,
                          "label": f"{DAY_NAMES[i]} {day.day} {day:%B}, {'morning' if s == 'AM' else 'afternoon'}"})
    order = [f"{slot['key']}-{f}" for slot in slots for f in ("code", "note")]
    error_list = [{"text": errors[k], "href": f"#{k}"} for k in order if k in errors]
    error_list += [{"text": v, "href": "#register"} for k, v in errors.items() if k not in order]
    return render_template("records/week.html", title=f"Attendance week of {start.day} {start:%B %Y}",
                           case=case, start=start, slots=slots, fig=fig, errors=errors, error_list=error_list,
                           values=values, can_register=can_register, not_begun=not_begun,
                           can_decide=attendance.can_decide(current_user, case),
                           provider_codes=attendance.PROVIDER_CODES, previous=start - timedelta(days=7),
                           next=start + timedelta(days=7) if start + timedelta(days=7) <= today else None), \
        422 if errors else 200


@bp.route("/cases/<int:case_id>/attendance/<int:record_id>/decision", methods=["POST"])
@login_required
def decide_absence(case_id, record_id):
    db = database.session()
    case = _staff_case(case_id)
    back = request.form.get("back") or "overview"
    week = _parse_date(request.form.get("start"))
    try:
        attendance.decide(db, current_user, case, record_id, request.form.get("decision") or "",
                          request.form.get("note") or "")
        db.commit()
        flash("Decision recorded", "success")
    except InvalidInput as invalid:
        db.rollback()
        flash("; ".join(invalid.details.values()) or invalid.message, "error")
    if back == "week" and week:
        return redirect(url_for(".attendance_week", case_id=case.id, start=week.isoformat()))
    return redirect(url_for(".attendance_overview", case_id=case.id))


# ------------------------------------------------------------------------ records and progress

def case_records_context(db, case: Case) -> dict:
    """What the `records/_case_records.html` partial needs (include it with these names)."""
    [row] = records.rows_for(db, [case])
    people = {u.id: u for u in db.scalars(select(User).where(User.id.in_(
        {v.recorded_by for v in row.reviews} | {p.recorded_by_id for p in row.progress} - {None})))}
    return {"records_row": row, "records_people": people,
            "records_can_report": attendance.can_register(current_user, case)}


@bp.route("/cases/<int:case_id>/records")
@login_required
def case_records(case_id):
    db = database.session()
    case = _staff_case(case_id)
    audit.record(db, "case_viewed", case_id=case.id, actor_id=current_user.id, via="records")
    db.commit()
    return render_template("records/case.html", title=f"Placement record – case {case.reference}", case=case,
                           **case_records_context(db, case))


PROGRESS_FIELDS = ("period", "report_date", "progress", "behaviour", "pupil_voice", "next_steps")


@bp.route("/cases/<int:case_id>/progress/new", methods=["GET", "POST"])
@login_required
def new_progress(case_id):
    db = database.session()
    case = _staff_case(case_id)
    if not attendance.can_register(current_user, case):
        raise NotAllowed("Only staff of the pupil's provider write progress reports")
    values = {f: (request.form.get(f) or "").strip() for f in PROGRESS_FIELDS}
    errors = {}
    if request.method == "POST":
        if not values["period"]:
            errors["period"] = "Enter the period the report covers, like Autumn half term 1"
        report_date = _parse_date(values["report_date"])
        if report_date is None:
            errors["report_date"] = "Enter the date of the report as YYYY-MM-DD"
        elif report_date > clock.today_london():
            errors["report_date"] = "The report date must be today or in the past"
        if not values["progress"]:
            errors["progress"] = "Describe the pupil's progress against the objectives"
        if not values["pupil_voice"]:
            errors["pupil_voice"] = "Record what the pupil says about the placement in their own words"
        for f in PROGRESS_FIELDS:
            if len(values[f]) > 5000:
                errors[f] = "Use 5000 characters or fewer"
        if not errors:
            report = ProgressReport(case_id=case.id, period=values["period"][:100], report_date=report_date,
                                    progress=values["progress"], behaviour=values["behaviour"],
                                    pupil_voice=values["pupil_voice"], next_steps=values["next_steps"],
                                    recorded_by_id=current_user.id, recorded_at=clock.now())
            db.add(report)
            db.flush()
            audit.record(db, "progress_report_added", case_id=case.id, actor_id=current_user.id,
                         report_id=report.id, period=report.period, report_date=report_date.isoformat())
            db.commit()
            flash("Progress report saved", "success")
            return redirect(url_for(".case_records", case_id=case.id))
    error_list = [{"text": errors[f], "href": f"#{f}"} for f in PROGRESS_FIELDS if f in errors]
    return render_template("records/progress_form.html", title="Add a progress report", case=case, values=values,
                           errors=errors, error_list=error_list), 422 if errors else 200


# ------------------------------------------------------------------------ register and exports

def _filters() -> dict:
    args = request.args
    out = {"q": (args.get("q") or "").strip()[:100]}
    for name in ("provider", "school"):
        out[name] = _id_filter(args.get(name) or "")
    out["status"] = args.get("status") if args.get("status") in ("open", "closed", "declined", "withdrawn") else ""
    out["stage"] = (args.get("stage") or "")[:200]
    out["pattern"] = args.get("pattern") if args.get("pattern") in ("full_time", "part_time") else ""
    out["destination"] = args.get("destination") if args.get("destination") in (
        *records.DESTINATIONS, "not_recorded") else ""
    out["review"] = args.get("review") if args.get("review") in ("due", "overdue") else ""
    out["week"] = _parse_date(args.get("week"))
    out["awaiting"] = "1" if args.get("awaiting") == "1" else ""
    out["started_from"] = _parse_date(args.get("started_from"))
    out["started_to"] = _parse_date(args.get("started_to"))
    return out


def _id_filter(text: str) -> int | None:
    """An id filter: None (no filter) unless digits; -1 (matches nothing) when out of range."""
    if not (text.isascii() and text.isdigit()):
        return None
    number = int(text) if len(text) <= 10 else MAX_ID + 1
    return number if number <= MAX_ID else -1


def _register_rows(filters: dict) -> list[records.Row]:
    db = database.session()
    cases = records.visible_cases(db, current_user, **{k: v for k, v in filters.items()
                                                      if k not in ("destination", "review", "week", "awaiting")})
    rows = records.rows_for(db, cases)
    if filters["destination"]:
        rows = [r for r in rows if r.case.status == "closed" and (r.destination or "not_recorded") == filters["destination"]]
    if filters["review"]:
        rows = [r for r in rows if r.case.status == "open" and records.review_state(r) == filters["review"]]
    if filters["awaiting"]:
        rows = [r for r in rows if r.summary.total.awaiting_decision]
    if filters["week"]:
        week = attendance.monday(filters["week"])
        rows = [r for r in rows if r.begun and records.week_contributors(r, week)]
    return rows


def _register_allowed():
    if access.is_parent_only(current_user) or not (current_user.roles & STAFF_ROLES):
        raise NotAllowed("The placement register is for school, local authority and provider staff")


@bp.route("/register")
@login_required
def register():
    _register_allowed()
    db = database.session()
    filters = _filters()
    rows = _register_rows(filters)
    audit.record(db, "register_viewed", actor_id=current_user.id, count=len(rows),
                 filters={k: (v.isoformat() if isinstance(v, date) else v) for k, v in filters.items() if v})
    db.commit()
    all_cases = records.visible_cases(db, current_user)
    providers = sorted({(c.provider_id, c.provider.name) for c in all_cases if c.provider}, key=lambda p: p[1])
    schools = sorted({(c.school_id, c.school.name) for c in all_cases}, key=lambda p: p[1])
    stages = sorted({c.stage for c in all_cases if c.stage})
    query = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in filters.items() if v}
    return render_template("records/register.html", title="Placement register", rows=rows, filters=filters,
                           providers=providers, schools=schools, stages=stages, query=query,
                           review_state=records.review_state)


def _csv_response(rows: list[dict], filename: str, fields: list[str]) -> Response:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _csv_safe(v) for k, v in row.items()})
    response = Response(buffer.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _csv_safe(value):
    """Stop a spreadsheet running a cell as a formula (CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


REGISTER_FIELDS = [
    "case_reference", "upn", "surname", "forename", "school", "provider", "status", "stage", "pattern",
    "sessions_per_week", "start_date", "end_date", "reason", "objectives", "reviews", "possible_sessions",
    "attended_sessions", "attendance_percent", "authorised_absences", "unauthorised_absences", "progress_reports",
    "progress", "achievements", "destination", "destination_detail", "pupil_assessment", "parent_assessment"]
CENSUS_FIELDS = ["upn", "surname", "forename", "date_of_birth", "case_reference", "provider_name", "provider_urn",
                 "provider_ukprn", "setting_type", "entry_date", "leaving_date", "attendance_pattern",
                 "sessions_per_week"]


@bp.route("/register.csv")
@login_required
def register_csv():
    _register_allowed()
    db = database.session()
    rows = _register_rows(_filters())
    audit.record(db, "register_exported", actor_id=current_user.id, count=len(rows), format="csv",
                 case_ids=[r.case.id for r in rows])
    db.commit()
    return _csv_response([records.register_csv_row(r) for r in rows], "placement-register.csv", REGISTER_FIELDS)


@bp.route("/register/census.csv")
@login_required
def census_csv():
    _register_allowed()
    db = database.session()
    rows = records.census_rows(_register_rows(_filters()))
    audit.record(db, "census_exported", actor_id=current_user.id, count=len(rows),
                 case_references=[r["case_reference"] for r in rows])
    db.commit()
    return _csv_response(rows, "census-ap-placements.csv", CENSUS_FIELDS)


# ------------------------------------------------------------------------ dashboard

@bp.route("/dashboard")
@login_required
def dashboard():
    if not (current_user.roles & DASHBOARD_ROLES):
        raise NotAllowed("The dashboard is for school and local authority staff")
    db = database.session()
    rows = records.rows_for(db, records.visible_cases(db, current_user))
    figures = records.dashboard(rows)
    charts = {pid: _chart(pid, points) for pid, points in figures["attendance"].items()}
    return render_template("records/dashboard.html", title="Dashboard", f=figures, charts=charts)


def _chart(provider_id: int, points: list[dict]) -> dict:
    """Bar geometry for a server-rendered SVG (attributes only: the CSP forbids inline style)."""
    width, height, gap, top = 60, 120, 14, 20
    bars = []
    for i, p in enumerate(points):
        value = p["percent"] or 0
        h = round(height * value / 100)
        bars.append({**p, "x": 40 + i * (width + gap), "y": top + height - h, "h": h, "w": width,
                     "href": url_for(".register", provider=provider_id, week=p["week"].isoformat())})
    return {"bars": bars, "width": 40 + len(points) * (width + gap), "height": top + height + 40, "base": top + height,
            "top": top}


# ------------------------------------------------------------------------ subject access

@bp.route("/cases/<int:case_id>/export.json")
@login_required
def export_json(case_id):
    db = database.session()
    case = _staff_case(case_id)
    data = records.subject_access(db, case)
    data["exported_at"] = clock.now().isoformat()
    data["exported_by"] = current_user.name or current_user.email
    audit.record(db, "subject_access_export", case_id=case.id, actor_id=current_user.id, format="json")
    db.commit()
    response = Response(json.dumps(data, indent=2, ensure_ascii=False), mimetype="application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="{case.reference}-export.json"'
    return response


@bp.route("/cases/<int:case_id>/export")
@login_required
def export_page(case_id):
    db = database.session()
    case = _staff_case(case_id)
    data = records.subject_access(db, case)
    audit.record(db, "subject_access_export", case_id=case.id, actor_id=current_user.id, format="html")
    db.commit()
    return render_template("records/export.html", title=f"Everything held – case {case.reference}", case=case,
                           export=data, exported_at=clock.now())
