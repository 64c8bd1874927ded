"""The inbox: "My tasks" and "My team's tasks", read only from the task projection (never from
workflow state), limited by access.case_filter to cases the user may see."""
from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, session as cookie, url_for
from flask_login import current_user, login_required
from sqlalchemy import and_, distinct, func, or_, select
from sqlalchemy.orm import aliased

from .. import access, database
from ..models import Case, Pupil, TaskRecord, User
from .common import PAGE_SIZE, page_number, pagination

bp = Blueprint("inbox", __name__)

SORTS = {"due": "Due date, soonest first", "due-desc": "Due date, latest first", "newest": "Newest first"}
FILTER_KEYS = ("q", "stage", "type")


def _filters() -> dict:
    """Filters live in the signed session cookie, not the URL: a pupil's name never goes in a URL
    or a server log."""
    saved = cookie.get("inbox_filters") or {}
    return {k: saved.get(k, "") for k in FILTER_KEYS}


def team_query(user):
    """Open tasks in the user's roles on cases the user may see."""
    return (select(TaskRecord.id)
            .join(Case, TaskRecord.case_id == Case.id)
            .join(Pupil, Case.pupil_id == Pupil.id)
            .where(TaskRecord.state == "open", TaskRecord.role.in_(sorted(user.roles)),
                   access.case_filter(user)))


def _apply_filters(stmt, filters: dict):
    if filters.get("stage"):
        stmt = stmt.where(TaskRecord.stage == filters["stage"])
    if filters.get("type"):
        stmt = stmt.where(TaskRecord.element_id == filters["type"])
    q = (filters.get("q") or "").strip()
    if q:
        needle = q.lower()
        full_name = func.lower(Pupil.first_name + " " + Pupil.last_name)
        stmt = stmt.where(or_(full_name.contains(needle, autoescape=True),
                              func.lower(Pupil.last_name).contains(needle, autoescape=True),
                              func.upper(Pupil.upn) == q.upper().replace(" ", "")))
    return stmt


@bp.route("/inbox")
@login_required
def index():
    user = current_user
    db = database.session()
    tab = request.args.get("tab", "mine")
    if tab not in ("mine", "team"):
        tab = "mine"
    sort = request.args.get("sort", "due")
    if sort not in SORTS:
        sort = "due"
    filters = _filters()
    page = page_number()

    team = _apply_filters(team_query(user), filters)
    mine = team.where(TaskRecord.assignee_id == user.id)
    count_mine = db.scalar(select(func.count()).select_from(mine.subquery()))
    count_team = db.scalar(select(func.count()).select_from(team.subquery()))
    chosen = mine if tab == "mine" else team

    assignee = aliased(User)
    rows_stmt = (select(TaskRecord, Case.id, Case.stage, Pupil.first_name, Pupil.last_name, Pupil.upn,
                        assignee.name, assignee.email)
                 .join(Case, TaskRecord.case_id == Case.id)
                 .join(Pupil, Case.pupil_id == Pupil.id)
                 .outerjoin(assignee, TaskRecord.assignee_id == assignee.id)
                 .where(TaskRecord.id.in_(chosen)))
    if sort == "due":
        rows_stmt = rows_stmt.order_by(TaskRecord.due_at.is_(None), TaskRecord.due_at, TaskRecord.created_at)
    elif sort == "due-desc":
        rows_stmt = rows_stmt.order_by(TaskRecord.due_at.is_(None), TaskRecord.due_at.desc(),
                                       TaskRecord.created_at)
    else:
        rows_stmt = rows_stmt.order_by(TaskRecord.created_at.desc())
    rows = db.execute(rows_stmt.offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)).all()
    total = count_mine if tab == "mine" else count_team

    unfiltered = team_query(user)
    stages = [s for s in db.scalars(
        select(distinct(TaskRecord.stage)).where(TaskRecord.id.in_(unfiltered)).order_by(TaskRecord.stage)) if s]
    types = db.execute(select(TaskRecord.element_id, func.min(TaskRecord.title))
                       .where(TaskRecord.id.in_(unfiltered))
                       .group_by(TaskRecord.element_id).order_by(func.min(TaskRecord.title))).all()
    return render_template(
        "inbox/index.html", title="My tasks" if tab == "mine" else "My team's tasks", tab=tab, sort=sort,
        sorts=SORTS, rows=rows, count_mine=count_mine, count_team=count_team, filters=filters,
        stages=stages, types=types, filtered=any(filters.values()),
        pagination=pagination(page, total, "inbox.index", tab=tab, sort=sort))


@bp.route("/inbox", methods=["POST"])
@login_required
def filter_tasks():
    tab = request.form.get("tab", "mine")
    sort = request.form.get("sort", "due")
    if request.form.get("action") == "clear":
        cookie.pop("inbox_filters", None)
    else:
        cookie["inbox_filters"] = {k: (request.form.get(k) or "").strip()[:100] for k in FILTER_KEYS}
    return redirect(url_for("inbox.index", tab=tab if tab in ("mine", "team") else "mine",
                            sort=sort if sort in SORTS else "due"))
