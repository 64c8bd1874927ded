"""The inbox and task work: list, read (with form and prefill), claim, unclaim, complete."""
from __future__ import annotations

from flask import jsonify
from sqlalchemy import func, select

from workflows import TaskNotFound

from .. import access, audit, casework, database
from ..errors import InvalidInput, NotAllowed, NotFound
from ..models import Case, TaskRecord
from . import bp, serializers
from .auth import authenticated
from .cases import case_json
from .inputs import choice_arg, json_body, paged_response, paging

SCOPES = ("mine", "team")


def workable_task(session, user, task_id: str, read_only: bool = False) -> TaskRecord:
    """404 when there is no such task; 403 when its case is not the caller's or the task is for
    another role (to read it, school and LA staff overseeing the case may: access.can_view_task)."""
    record = session.get(TaskRecord, task_id)
    if record is None:
        raise NotFound("No such task")
    if not access.can_see_case(user, record.case):
        audit.record(session, "case_access_refused", case_id=record.case_id, actor_id=user.id, task_id=task_id)
        session.commit()
        raise NotAllowed("You cannot work on this task: its case is not one your organisation is party to")
    allowed = access.can_view_task if read_only else access.can_work_task
    if not allowed(user, record.case, record.role):
        raise NotAllowed(access.not_your_role(record.role))
    return record


@bp.get("/tasks")
@authenticated
def list_tasks(user):
    """scope=team (default): every open task of the caller's roles on their cases;
    scope=mine: the open tasks assigned to the caller."""
    session = database.session()
    scope = choice_arg("scope", SCOPES, default="team")
    page = paging()
    where = [TaskRecord.state == "open", TaskRecord.role.in_(sorted(user.roles)), access.case_filter(user)]
    if scope == "mine":
        where.append(TaskRecord.assignee_id == user.id)
    base = select(TaskRecord).join(Case, Case.id == TaskRecord.case_id).where(*where)
    total = session.scalar(select(func.count()).select_from(base.subquery()))
    tasks = session.scalars(base.order_by(TaskRecord.due_at.is_(None), TaskRecord.due_at, TaskRecord.created_at,
                                          TaskRecord.id).offset(page.offset).limit(page.per_page))
    return paged_response([serializers.task(t) for t in tasks], page, total)


@bp.get("/tasks/<task_id>")
@authenticated
def get_task(user, task_id: str):
    session = database.session()
    record = workable_task(session, user, task_id, read_only=True)
    case = record.case
    body = serializers.task(record)
    form, prefill, instructions = None, record.draft, None
    if record.state == "open":
        try:
            view = casework.load_instance(session, case).get_task(record.id)
        except TaskNotFound:
            view = None
        if view is not None:
            form = view.form or {"schema": {"type": "object"}, "ui": {}}
            instructions = view.instructions
            if prefill is None:
                prefill = view.data
    body.update({
        "form": form, "data": prefill or {}, "instructions": instructions,
        "case": {"id": case.id, "reference": case.reference, "status": case.status, "stage": case.stage,
                 "lock_version": case.lock_version},
    })
    audit.record(session, "case_viewed", case_id=case.id, actor_id=user.id, via="api_task", task_id=record.id)
    session.commit()
    return jsonify(body)


@bp.post("/tasks/<task_id>/claim")
@authenticated
def claim_task(user, task_id: str):
    session = database.session()
    workable_task(session, user, task_id)
    record = casework.claim(session, user, task_id)
    session.commit()
    return jsonify(serializers.task(record))


@bp.post("/tasks/<task_id>/unclaim")
@authenticated
def unclaim_task(user, task_id: str):
    session = database.session()
    workable_task(session, user, task_id)
    record = casework.release(session, user, task_id)
    session.commit()
    return jsonify(serializers.task(record))


@bp.post("/tasks/<task_id>/complete")
@authenticated
def complete_task(user, task_id: str):
    session = database.session()
    body = json_body()
    errors = {}
    data = body.get("data")
    if not isinstance(data, dict):
        errors["data"] = "Send the form's answers as an object: {\"data\": {...}}"
    lock_version = body.get("lock_version")
    if lock_version is not None and (not isinstance(lock_version, int) or isinstance(lock_version, bool)):
        errors["lock_version"] = "Must be the case's lock_version, a whole number"
    if errors:
        raise InvalidInput("The request has problems", errors)
    workable_task(session, user, task_id)
    case = casework.complete_task(session, user, task_id, data, expected_version=lock_version)
    session.commit()
    return jsonify(case_json(session, user, case))
