"""A task page: the form built from the task's JSON Schema, saved as a draft or completed through
casework, with the GOV.UK error summary, a polite stale-submit notice and a conflict page."""
from __future__ import annotations

import re

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from markupsafe import Markup, escape
from sqlalchemy import select

from workflows import EngineError

from .. import access, casework, database
from ..errors import Conflict, InvalidInput, NotAllowed, NotFound
from ..models import Organisation, Provider, TaskRecord, User, UserRole
from . import MAX_ID, forms_render
from .common import REGISTRATION_NAMES, person

bp = Blueprint("tasks", __name__)


def _engine_task(db, case, task_id):
    """The engine's view of one task (its form, instructions and prefill); one instance is
    deserialised for one task page, never for a list."""
    try:
        return casework.load_instance(db, case).get_task(task_id)
    except EngineError:
        return None


def instructions_html(text: str | None) -> Markup:
    """Plain text / simple markdown (paragraphs, `- ` bullets, **bold**) as escaped HTML."""
    if not text:
        return Markup("")
    blocks = re.split(r"\n\s*\n", text.strip())
    out = []
    for block in blocks:
        lines = [line.strip() for line in block.splitlines() if line.strip()]
        if lines and all(re.match(r"^[-*] ", line) for line in lines):
            items = "".join(f"<li>{_inline(line[2:])}</li>" for line in lines)
            out.append(f'<ul class="govuk-list govuk-list--bullet">{items}</ul>')
        elif lines and lines[0].startswith("#"):
            out.append(f'<h3 class="govuk-heading-s">{_inline(lines[0].lstrip("# "))}</h3>')
            if lines[1:]:
                out.append(f'<p class="govuk-body">{_inline(" ".join(lines[1:]))}</p>')
        else:
            out.append(f'<p class="govuk-body">{_inline(" ".join(lines))}</p>')
    return Markup("".join(out))


def _inline(text: str) -> str:
    escaped = str(escape(text))
    return re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", escaped)


def provider_options(db) -> list[tuple]:
    """Providers listed in the directory, for a `"widget": "provider"` field."""
    rows = db.execute(select(Provider.id, Organisation.name, Provider.registration_status)
                      .join(Organisation, Organisation.id == Provider.id)
                      .where(Provider.la_training_attended.is_(True)).order_by(Organisation.name)).all()
    return [(pid, f"{name} ({REGISTRATION_NAMES.get(status, status)})") for pid, name, status in rows]


def task_fields(db, view):
    ui = (view.form or {}).get("ui") or {}
    wants_providers = any(isinstance(h, dict) and h.get("widget") == "provider" for h in ui.values())
    return forms_render.fields_for(view.form, widget_options={"provider": provider_options(db)}
                                   if wants_providers else None)


def _render(record, view, fields, raw, errors, status=200, notice=None):
    case = record.case
    user = current_user
    shown = forms_render.raw_from_data([f for f in fields if f.kind == "readonly"], view.data if view else {})
    raw = {**raw, **shown}  # read-only values always come from the case, never from the form
    components = [(f, forms_render.component(f, raw, errors)) for f in fields]
    return render_template(
        "tasks/task.html", title=record.title, task=record, case=case, view=view, components=components,
        errors=errors, error_list=forms_render.error_list(fields, errors),
        instructions=instructions_html(view.instructions if view else None),
        can_work=access.can_work_task(user, case, record.role), parent_view=access.is_parent_only(user),
        notice=notice, assignee=person(record.assignee) if record.assignee_id else None,
    ), status


def _conflict(record, message, status=409):
    return render_template("tasks/conflict.html", title="This task has already been completed",
                           task=record, message=message), status


@bp.route("/tasks/<task_id>")
@login_required
def show(task_id):
    db = database.session()
    record = casework.task_record(db, current_user, task_id)
    if not access.can_view_task(current_user, record.case, record.role):
        # Party to the case, but neither in the task's lane nor overseeing the case.
        raise NotAllowed(access.not_your_role(record.role))
    if record.state != "open":
        who = person(record.completed_by) if record.completed_by_id else None
        return _conflict(record, f"This task was completed by {who}." if who and record.state == "completed"
                         else "This task is no longer open.", status=200)
    view = _engine_task(db, record.case, task_id)
    if view is None:
        return _conflict(record, "This task is no longer open.", status=200)
    fields = task_fields(db, view)
    prefill = record.draft if record.draft is not None else view.data
    return _render(record, view, fields, forms_render.raw_from_data(fields, prefill), {})


@bp.route("/tasks/<task_id>", methods=["POST"])
@login_required
def submit(task_id):
    db = database.session()
    user = current_user
    record = casework.task_record(db, user, task_id)
    if record.state != "open":
        return _conflict(record, _completed_message(record))
    if not access.can_work_task(user, record.case, record.role):
        raise NotAllowed(access.not_your_role(record.role))
    view = _engine_task(db, record.case, task_id)
    if view is None:
        return _conflict(record, "This task is no longer open.")
    fields = task_fields(db, view)
    raw, data, parse_errors = forms_render.parse(fields, request.form)

    if request.form.get("action") == "draft":
        casework.save_draft(db, user, task_id, data)
        db.commit()
        flash("Your answers have been saved as a draft. Nobody else can see them until you submit the task.",
              "success")
        return redirect(url_for("tasks.show", task_id=task_id))

    schema = (view.form or {}).get("schema") or {"type": "object"}
    if parse_errors:
        errors = forms_render.validate(fields, schema, data)
        errors.update(parse_errors)
        return _render(record, view, fields, raw, errors, status=422)
    try:
        expected = int(request.form.get("lock_version", ""))
    except ValueError:
        expected = None
    try:
        case = casework.complete_task(db, user, task_id, data, expected_version=expected)
        db.commit()
    except InvalidInput as error:
        db.rollback()
        record = db.get(TaskRecord, task_id)
        errors = forms_render.friendly_errors(fields, error.details) or {"_": error.message}
        return _render(record, view, fields, raw, errors, status=422)
    except Conflict as error:
        db.rollback()
        db.expire_all()
        record = db.get(TaskRecord, task_id)
        if record.state != "open":
            return _conflict(record, _completed_message(record))
        notice = ("Someone else changed this case while you were working on it. Your answers are below: "
                  "check the case summary and submit again.")
        return _render(record, view, fields, raw, {}, status=409, notice=notice)
    flash(Markup('You completed “{title}”. <a class="govuk-notification-banner__link" href="{href}">'
                 'View the case</a>.').format(title=record.title, href=url_for("cases.show", case_id=case.id)),
          "success")
    return redirect(url_for("inbox.index"))


def _completed_message(record) -> str:
    if record.state == "completed" and record.completed_by_id:
        return f"{person(record.completed_by)} completed this task before you submitted your answers."
    return "This task is no longer open: the case has moved on."


def _back(task_id):
    if request.form.get("next") == "inbox":
        tab = request.form.get("tab", "mine")
        return redirect(url_for("inbox.index", tab=tab if tab in ("mine", "team") else "mine"))
    return redirect(url_for("tasks.show", task_id=task_id))


@bp.route("/tasks/<task_id>/claim", methods=["POST"])
@login_required
def claim(task_id):
    db = database.session()
    try:
        record = casework.claim(db, current_user, task_id)
        db.commit()
        flash(f"You claimed “{record.title}”. It is now in My tasks.", "success")
    except (Conflict, NotAllowed) as error:
        db.rollback()
        flash(error.message, "error")
    return _back(task_id)


@bp.route("/tasks/<task_id>/release", methods=["POST"])
@login_required
def release(task_id):
    db = database.session()
    try:
        record = casework.release(db, current_user, task_id)
        db.commit()
        flash(f"You released “{record.title}”. Anyone in your team can now claim it.", "success")
    except (Conflict, NotAllowed) as error:
        db.rollback()
        flash(error.message, "error")
    return _back(task_id)


def candidates(db, record) -> list[User]:
    """Colleagues who may work this task: the same role, the same organisation, able to see the case."""
    user = current_user
    people = db.scalars(
        select(User).join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == record.role, User.active.is_(True),
               User.organisation_id == user.organisation_id)
        .order_by(User.name, User.email)).unique()
    return [p for p in people if access.can_work_task(p, record.case, record.role)]


@bp.route("/tasks/<task_id>/reassign", methods=["GET", "POST"])
@login_required
def reassign(task_id):
    db = database.session()
    record = casework.task_record(db, current_user, task_id)
    if record.state != "open":
        return _conflict(record, _completed_message(record))
    if not access.can_work_task(current_user, record.case, record.role):
        raise NotAllowed(access.not_your_role(record.role))
    people = candidates(db, record)
    error = None
    if request.method == "POST":
        try:
            assignee_id = int(request.form.get("assignee_id", ""))
            assignee_id = assignee_id if 0 < assignee_id <= MAX_ID else None
        except ValueError:
            assignee_id = None
        if assignee_id is None:
            error = "Select who should do this task"
        else:
            try:
                record = casework.reassign(db, current_user, task_id, assignee_id)
                db.commit()
                flash(f"“{record.title}” is now assigned to {person(record.assignee)}.", "success")
                return redirect(url_for("tasks.show", task_id=task_id))
            except InvalidInput as problem:
                db.rollback()
                error = problem.details.get("assignee_id") or problem.message
    return render_template("tasks/reassign.html", title="Reassign task", task=record, people=people,
                           error=error), 422 if error else 200
