"""Cases: the list of cases a user may see, the case page (staff and parent variants), and the
process diagram's BPMN XML and highlighted element ids for bpmn-js."""
from __future__ import annotations

from flask import Blueprint, Response, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from lxml import etree
from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from workflows import EngineError

from .. import access, audit, casework, database
from ..errors import Conflict, InvalidInput, NotAllowed
from ..models import AuditEvent, Case, Organisation, ProcessVersion, Pupil, TaskRecord, User
from .common import PAGE_SIZE, page_number, pagination, person

bp = Blueprint("cases", __name__)

STATUS_FILTERS = {"": "All cases", "open": "Open", "closed": "Closed", "declined": "Declined",
                  "withdrawn": "Withdrawn"}
QUIET_EVENTS = {"case_viewed", "task_draft_saved", "case_access_refused"}


@bp.route("/cases")
@login_required
def index():
    db = database.session()
    status = request.args.get("status", "")
    if status not in STATUS_FILTERS:
        status = ""
    page = page_number()
    school = aliased(Organisation)
    provider = aliased(Organisation)
    stmt = (select(Case.id, Case.status, Case.stage, Case.start_date, Case.end_date, Case.updated_at,
                   Pupil.first_name, Pupil.last_name, Pupil.upn, school.name, provider.name)
            .select_from(Case).join(Pupil, Case.pupil_id == Pupil.id)
            .join(school, Case.school_id == school.id)
            .outerjoin(provider, Case.provider_id == provider.id)
            .where(access.case_filter(current_user)))
    if status:
        stmt = stmt.where(Case.status == status)
    total = db.scalar(select(func.count()).select_from(stmt.subquery()))
    rows = db.execute(stmt.order_by(Case.updated_at.desc(), Case.id.desc())
                      .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)).all()
    return render_template("cases/index.html", title="Cases", rows=rows, status=status,
                           statuses=STATUS_FILTERS, total=total,
                           pagination=pagination(page, total, "cases.index", status=status))


@bp.route("/cases/<int:case_id>")
@login_required
def show(case_id):
    db = database.session()
    user = current_user
    case = casework.visible_case(db, user, case_id)
    audit.record(db, "case_viewed", case_id=case.id, actor_id=user.id, via="web")
    db.commit()
    assignee = aliased(User)
    open_tasks = db.execute(
        select(TaskRecord, assignee).outerjoin(assignee, TaskRecord.assignee_id == assignee.id)
        .where(TaskRecord.case_id == case.id, TaskRecord.state == "open")
        .order_by(TaskRecord.created_at)).all()
    if access.is_parent_only(user):
        parent_tasks = [t for t, _a in open_tasks if t.role == "parent"]
        return render_template("cases/parent.html", title="Your child's placement", case=case,
                               parent_tasks=parent_tasks)
    events = db.execute(
        select(AuditEvent, User).outerjoin(User, AuditEvent.actor_id == User.id)
        .where(AuditEvent.case_id == case.id, AuditEvent.type.not_in(QUIET_EVENTS))
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())).all()
    people = _names(db, events)
    timeline = [describe(event, actor, people) for event, actor in events]
    from .records import case_records_context
    return render_template("cases/show.html", title=f"Case {case.reference}", case=case, open_tasks=open_tasks,
                           timeline=timeline, data=case.data or {},
                           can_work=lambda role: access.can_work_task(user, case, role),
                           can_end_early=casework.can_report_breakdown(user, case),
                           **case_records_context(db, case))


@bp.route("/cases/<int:case_id>/end-early", methods=["GET", "POST"])
@login_required
def end_early(case_id):
    """Report a placement breakdown: the case goes to closure, where the school records the destination."""
    db = database.session()
    case = casework.visible_case(db, current_user, case_id)
    reason, errors, status = "", {}, 200
    if request.method == "POST":
        reason = request.form.get("reason") or ""
        try:
            casework.report_breakdown(db, current_user, case.id, reason)
            db.commit()
            flash("The placement is ending early. Record the pupil's destination in the task "
                  "to close the placement.", "success")
            return redirect(url_for("cases.show", case_id=case.id))
        except InvalidInput as error:
            db.rollback()
            errors, status = error.details, 422
        except Conflict as error:
            db.rollback()
            errors, status = {"reason": error.message}, 409
    elif not casework.may_end_placements(current_user, case):
        raise NotAllowed("Only the pupil's school or the local authority can end a placement early")
    elif not casework.can_report_breakdown(current_user, case):
        raise casework.not_running(case)
    return render_template("cases/end_early.html", title=f"End the placement early – case {case.reference}",
                           case=case, reason=reason, errors=errors), status


def _names(db, events) -> dict[int, str]:
    ids = {e.detail.get("assignee_id") for e, _a in events if isinstance(e.detail, dict)} - {None}
    if not ids:
        return {}
    return {u.id: person(u) for u in db.scalars(select(User).where(User.id.in_(ids)))}


STATUS_WORDS = {"case_closed": "The placement was closed", "case_declined": "The placement was declined",
                "case_withdrawn": "The referral was withdrawn", "case_open": "The case was reopened"}


def describe(event: AuditEvent, actor: User | None, people: dict) -> dict:
    """One audit event in plain words for the timeline (no form data is shown)."""
    detail = event.detail if isinstance(event.detail, dict) else {}
    who = person(actor) if actor else "The system"
    title = detail.get("title") or "a task"
    match event.type:
        case "case_started":
            text = f"{who} made the referral"
        case "task_completed":
            text = f"{who} completed “{title}”"
        case "task_claimed":
            text = f"{who} claimed “{title}”"
        case "task_released":
            text = f"{who} released “{title}”"
        case "task_reassigned":
            text = f"{who} assigned “{title}” to {people.get(detail.get('assignee_id'), 'a colleague')}"
        case "timers_fired":
            text = "A deadline or reminder date was reached"
        case "message_received":
            text = f"The case was told: {str(detail.get('message', 'a message')).replace('_', ' ')}"
        case "message_ignored":
            text = f"A message was not needed: {str(detail.get('message', '')).replace('_', ' ')}"
        case "attendance_recorded":
            text = f"{who} recorded attendance for {detail.get('date', '')} {detail.get('session', '')}".strip()
        case "case_migrated":
            text = f"{who} moved the case to a new version of the process"
        case "timer_incident" | "timer_failed":
            text = "A scheduled step could not run and will be retried"
        case _ if event.type in STATUS_WORDS:
            text = STATUS_WORDS[event.type]
        case _:
            text = event.type.replace("_", " ").capitalize()
    return {"at": event.at, "text": text, "type": event.type}


def main_diagram_xml(version: ProcessVersion) -> str | None:
    """The BPMN file of the version's main process (the one that has the case's stages)."""
    key = version.model.key
    fallback = None
    for name, text in sorted((version.files or {}).items()):
        if not name.lower().endswith(".bpmn"):
            continue
        try:
            root = etree.fromstring(text.encode("utf-8"))
        except etree.XMLSyntaxError:
            continue
        ids = root.xpath("//*[local-name()='process']/@id")
        if key in ids:
            return text
        fallback = fallback or text
    return fallback


@bp.route("/cases/<int:case_id>/diagram.bpmn")
@login_required
def diagram_xml(case_id):
    db = database.session()
    case = casework.visible_case(db, current_user, case_id)
    if access.is_parent_only(current_user):
        return Response("Not found", status=404)
    xml = main_diagram_xml(db.get(ProcessVersion, case.model_version_id))
    if xml is None:
        return Response("No diagram", status=404)
    return Response(xml, mimetype="application/xml")


@bp.route("/cases/<int:case_id>/diagram.json")
@login_required
def diagram_state(case_id):
    db = database.session()
    case = casework.visible_case(db, current_user, case_id)
    if access.is_parent_only(current_user):
        return jsonify({"error": "not_found"}), 404
    try:
        instance = casework.load_instance(db, case)
        completed, active = instance.completed_element_ids(), instance.active_element_ids()
    except EngineError:
        completed, active = [], []
    return jsonify({"completed": [e for e in completed if e not in active], "active": active,
                    "stage": case.stage})
