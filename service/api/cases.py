"""Cases: start one from a referral, list the visible ones, read one, read its audit trail.

Every read of a case is written to its audit trail (`case_viewed`).
"""
from __future__ import annotations

from flask import current_app, jsonify, url_for
from sqlalchemy import func, select

from .. import access, audit, casework, database
from ..errors import NotAllowed, NotFound
from ..models import CASE_STATUSES, AuditEvent, Case, TaskRecord
from . import bp, serializers
from .auth import authenticated
from .inputs import choice_arg, int_arg, json_body, paged_response, paging


def default_model() -> str:
    return current_app.config["DEFAULT_PROCESS_MODEL"]


def readable_case(session, user, case_id: int) -> Case:
    """The case if the caller may see it: 404 when there is no such case, 403 when it is not theirs
    (the refusal is itself audited)."""
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound("No such case")
    if not access.can_see_case(user, case):
        audit.record(session, "case_access_refused", case_id=case.id, actor_id=user.id)
        session.commit()
        raise NotAllowed("You cannot see this case: it is not one your organisation is party to")
    return case


def open_tasks(session, case_id: int) -> list[TaskRecord]:
    return list(session.scalars(select(TaskRecord).where(TaskRecord.case_id == case_id, TaskRecord.state == "open")
                                .order_by(TaskRecord.created_at, TaskRecord.id)))


def case_json(session, user, case: Case) -> dict:
    tasks = open_tasks(session, case.id)
    if access.is_parent_only(user):
        return serializers.parent_summary(case, tasks)
    return serializers.case_detail(case, tasks)


@bp.post("/cases")
@authenticated
def start_case(user):
    session = database.session()
    if "parent" in user.roles and not access.can_refer(user):
        raise NotAllowed("Parents and carers cannot make a referral. "
                         "Please talk to your child's school about alternative provision.")
    body = json_body()
    case = casework.start_case(session, user, body, model_key=default_model())
    session.commit()
    response = jsonify(case_json(session, user, case))
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_case", case_id=case.id)
    return response


@bp.get("/cases")
@authenticated
def list_cases(user):
    session = database.session()
    status = choice_arg("status", CASE_STATUSES)
    school_id, provider_id = int_arg("school_id"), int_arg("provider_id")
    page = paging()
    where = [access.case_filter(user)]
    if status:
        where.append(Case.status == status)
    if school_id is not None:
        where.append(Case.school_id == school_id)
    if provider_id is not None:
        where.append(Case.provider_id == provider_id)
    total = session.scalar(select(func.count(Case.id)).where(*where))
    cases = list(session.scalars(select(Case).where(*where).order_by(Case.updated_at.desc(), Case.id.desc())
                                 .offset(page.offset).limit(page.per_page)))
    parent = access.is_parent_only(user)
    items = []
    for case in cases:
        audit.record(session, "case_viewed", case_id=case.id, actor_id=user.id, via="api_list")
        items.append(serializers.parent_summary(case, open_tasks(session, case.id)) if parent
                     else serializers.case_summary(case))
    session.commit()
    return paged_response(items, page, total)


@bp.get("/cases/<int:case_id>")
@authenticated
def get_case(user, case_id: int):
    session = database.session()
    case = readable_case(session, user, case_id)
    body = case_json(session, user, case)
    audit.record(session, "case_viewed", case_id=case.id, actor_id=user.id, via="api")
    session.commit()
    return jsonify(body)


@bp.post("/cases/<int:case_id>/end-early")
@authenticated
def end_early(user, case_id: int):
    """A running placement has broken down: the case goes to closure (school AP lead, head
    teacher or LA officer of the case)."""
    session = database.session()
    readable_case(session, user, case_id)
    body = json_body()
    case = casework.report_breakdown(session, user, case_id, body.get("reason"))
    session.commit()
    return jsonify(case_json(session, user, case))


@bp.get("/cases/<int:case_id>/events")
@authenticated
def case_events(user, case_id: int):
    session = database.session()
    case = readable_case(session, user, case_id)
    if access.is_parent_only(user):
        raise NotAllowed("Parents and carers see a summary of their child's placement; "
                         "ask the school for the full record")
    page = paging(default=500, maximum=1000)
    where = AuditEvent.case_id == case.id
    total = session.scalar(select(func.count(AuditEvent.id)).where(where))
    events = list(session.scalars(select(AuditEvent).where(where).order_by(AuditEvent.at, AuditEvent.id)
                                  .offset(page.offset).limit(page.per_page)))
    items = [serializers.event(e) for e in events]
    audit.record(session, "case_viewed", case_id=case.id, actor_id=user.id, via="api_events")
    session.commit()
    return paged_response(items, page, total)
