"""Every change to a case, each as one transaction: lock, load, check, apply, step, save, project.

The web pages, the API, the CLI and the scheduler all change cases through these functions, so
the rules of DESIGN.md ("one transaction per mutation") hold whatever the entry point.
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, undefer
from sqlalchemy.orm.exc import StaleDataError

from workflows import EngineError, Instance, TaskNotFound, TaskNotReady, WrongLane, clock
from workflows.calendar import due_at as compute_due_at

from . import access, audit, processes, validation
from .errors import Conflict, InvalidInput, NotAllowed, NotFound
from .jsonable import jsonable
from .models import Case, Organisation, Provider, Pupil, TaskRecord, User, WaitingTimer
from .notify import deliver_notifications
from .referrals import validate_referral

DEFAULT_MODEL = "placement"
MAX_MESSAGE_HOPS = 5
OUTCOME_STATUSES = {"closed", "declined", "withdrawn"}


# ---------------------------------------------------------------- starting a case

def start_case(session: Session, actor: User | None, referral: dict,
               model_key: str = DEFAULT_MODEL) -> Case:
    """Check the referral, create the pupil and the case, and run the model to its first tasks."""
    if actor is not None and not access.can_refer(actor):
        if "parent" in actor.roles:
            raise NotAllowed("Parents and carers cannot make a referral. "
                             "Please talk to your child's school about alternative provision.")
        raise NotAllowed("Only school and local authority staff can make a referral")
    errors = validate_referral(session, referral)
    if actor is not None and not errors:
        org = actor.organisation
        if org.type == "school" and referral["school_id"] != org.id:
            errors["school_id"] = "You can only refer pupils on your own school's roll"
        if org.type == "la" and session.get(Organisation, referral["school_id"]).la_id != org.id:
            errors["school_id"] = "Choose a school in your local authority"
    if errors:
        raise InvalidInput("The referral has problems", errors)
    version = processes.latest_version(session, model_key)
    if version is None:
        raise NotFound(f"No process model '{model_key}' is deployed; run `placements deploy bpmn/placement`")

    pupil_in = referral["pupil"]
    school = session.get(Organisation, referral["school_id"])
    pupil = Pupil(
        upn=pupil_in["upn"].strip().upper(), first_name=pupil_in["first_name"].strip(),
        last_name=pupil_in["last_name"].strip(), date_of_birth=date.fromisoformat(pupil_in["date_of_birth"]),
        year_group=pupil_in.get("year_group"), sen_status=pupil_in["sen_status"],
        has_social_worker=bool(pupil_in.get("has_social_worker")),
        looked_after=bool(pupil_in.get("looked_after")), fsm_eligible=bool(pupil_in.get("fsm_eligible")),
        school_id=school.id,
    )
    session.add(pupil)
    now = clock.now()
    case = Case(
        pupil=pupil, school_id=school.id, provider_id=referral["provider_id"], la_id=school.la_id,
        social_care_id=referral.get("social_care_id"), virtual_school_id=referral.get("virtual_school_id"),
        referred_by_id=actor.id if actor else None, model_version_id=version.id, status="open",
        pattern=referral["pattern"], start_date=date.fromisoformat(referral["proposed_start"]),
        end_date=date.fromisoformat(referral["proposed_end"]), created_at=now, updated_at=now, data={},
        state={},
    )
    session.add(case)
    session.flush()
    data = dict(referral)
    data["pupil"] = {**pupil_in, "upn": pupil.upn}
    data["case_id"] = case.id
    data["provider"] = provider_snapshot(session, referral["provider_id"], case=case)
    bundle = processes.bundle_for(session, version.id)
    try:
        instance = Instance.start(bundle, data=data)
    except EngineError as error:
        raise InvalidInput(f"The process could not start: {error}", {"_": str(error)}) from error
    audit.record(session, "case_started", case_id=case.id, actor_id=_id(actor),
                 model=version.model.key, version=version.number)
    _persist(session, case, instance, actor)
    return case


# Stages of a placement the school has decided on: its pupil is at the provider, or going there.
PLACED_STAGES = ("Commissioning agreement", "Before the start", "Placement active", "Closure")


def provider_snapshot(session: Session, provider_id, case: Case | None = None) -> dict:
    """What the model may know of a provider: its registration and how many pupils it teaches
    full time (placements decided on, open, each pupil once; never `case`'s own pupil)."""
    provider = session.get(Provider, provider_id) if provider_id else None
    if provider is None:
        return {}
    # Each referral has its own pupil row: the same child is recognised by UPN.
    full_time = select(func.count(func.distinct(Pupil.upn))).join(Case, Case.pupil_id == Pupil.id).where(
        Case.provider_id == provider.id, Case.status == "open", Case.pattern == "full_time",
        Case.stage.in_(PLACED_STAGES))
    if case is not None:
        full_time = full_time.where(Case.id != case.id, Pupil.upn != case.pupil.upn)
    return {
        "id": provider.id, "name": provider.name, "registration_status": provider.registration_status,
        "urn": provider.urn, "ukprn": provider.ukprn,
        "current_full_time_pupils": session.scalar(full_time) or 0,
        "last_safeguarding_check": provider.last_safeguarding_check.isoformat()
        if provider.last_safeguarding_check else None,
    }


# ---------------------------------------------------------------- loading under a lock

def lock_case(session: Session, case_id: int, with_state: bool = False) -> Case:
    """The case row, locked for this transaction (FOR UPDATE on PostgreSQL; SQLite's
    BEGIN IMMEDIATE already serialises writers). ``with_state`` reads the (deferred) workflow
    state in the same statement, for callers that load the instance next."""
    stmt = select(Case).where(Case.id == case_id).execution_options(populate_existing=True)
    if with_state:
        stmt = stmt.options(undefer(Case.state))
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(of=Case)
    case = session.scalar(stmt)
    if case is None:
        raise NotFound("No such case")
    return case


def load_instance(session: Session, case: Case) -> Instance:
    bundle = processes.bundle_for(session, case.model_version_id)
    return Instance.load(bundle, case.state)


def visible_case(session: Session, user: User, case_id: int) -> Case:
    """The case if this user may see it; 404 otherwise, so ids reveal nothing."""
    case = session.get(Case, case_id)
    if case is None or not access.can_see_case(user, case):
        raise NotFound("No such case")
    return case


def task_record(session: Session, user: User, task_id: str) -> TaskRecord:
    task = session.get(TaskRecord, task_id)
    if task is None or not access.can_see_case(user, task.case):
        raise NotFound("No such task")
    return task


# ---------------------------------------------------------------- working tasks

def complete_task(session: Session, actor: User | None, task_id: str, data: dict,
                  expected_version: int | None = None) -> Case:
    """Complete a user task with form data, as one transaction; 409 when it is no longer open."""
    if not isinstance(data, dict):
        raise InvalidInput("The task data must be an object", {"data": "Send the form fields as an object"})
    # Lock the case first, then read the task row under the lock (fresh, even if this session
    # held it already): one statement fewer than get + lazy case + lock + refresh, and the
    # state comes with the lock.
    case_id = session.scalar(select(TaskRecord.case_id).where(TaskRecord.id == task_id))
    if case_id is None:
        raise NotFound("No such task")
    case = lock_case(session, case_id, with_state=True)
    record = session.scalar(select(TaskRecord).where(TaskRecord.id == task_id)
                            .execution_options(populate_existing=True))
    if record is None or (actor is not None and not access.can_see_case(actor, case)):
        raise NotFound("No such task")
    if record.state != "open":
        raise Conflict("This task has already been completed"
                       + (f" by {record.completed_by.name or record.completed_by.email}" if record.completed_by else ""))
    if expected_version is not None and expected_version != case.lock_version:
        raise Conflict("This case was changed by someone else while you were working on it. "
                       "Check the case and try again.")
    roles = None
    if actor is not None:
        if not access.can_work_task(actor, case, record.role):
            raise NotAllowed(access.not_your_role(record.role))
        roles = actor.roles
    instance = load_instance(session, case)
    timers_before = _timer_rows(instance)
    task = _engine_task(instance, task_id)
    cleaned = _validated_form_data(task, data)
    if cleaned.get("provider_id"):
        _refresh_chosen_provider(session, case, cleaned)
    try:
        instance.complete(task_id, cleaned, roles=roles)
    except (TaskNotReady, TaskNotFound) as error:
        raise Conflict("This task is no longer open") from error
    except WrongLane as error:
        raise NotAllowed(str(error)) from error
    except EngineError as error:
        raise InvalidInput(f"The process could not continue: {error}", {"_": str(error)}) from error
    now = clock.now()
    record.state, record.completed_at, record.completed_by_id = "completed", now, _id(actor)
    record.draft = None
    audit.record(session, "task_completed", case_id=case.id, actor_id=_id(actor), task_id=task_id,
                 element_id=record.element_id, title=record.title, data=jsonable(cleaned))
    _persist(session, case, instance, actor, timers_before=timers_before)
    return case


def _refresh_chosen_provider(session: Session, case: Case, cleaned: dict) -> None:
    """A newly chosen provider's registration comes from the directory, never from what was typed,
    so the model's registration rule runs on the truth."""
    provider = session.get(Provider, cleaned["provider_id"])
    if provider is None or not provider.listed:
        raise InvalidInput("Choose a provider from the directory",
                           {"provider_id": "Enter the directory number of a listed provider"})
    snapshot = provider_snapshot(session, provider.id, case=case)
    cleaned["provider"] = snapshot
    cleaned["new_provider_name"] = snapshot["name"]
    cleaned["new_provider_registration_status"] = snapshot["registration_status"]
    cleaned["new_provider_full_time_pupils"] = snapshot["current_full_time_pupils"]


def _engine_task(instance: Instance, task_id: str):
    try:
        return instance.get_task(task_id)
    except TaskNotFound as error:
        raise Conflict("This task is no longer open") from error


def _validated_form_data(task, data: dict) -> dict:
    """Validate against the task's JSON Schema; read-only fields keep the model's values."""
    form = task.form or {}
    schema = form.get("schema") or {"type": "object"}
    properties = schema.get("properties") or {}
    read_only = {name for name, prop in properties.items() if isinstance(prop, dict) and prop.get("readOnly")}
    prefill = task.data or {}
    merged = {k: v for k, v in data.items() if k not in read_only}
    merged.update({k: prefill[k] for k in read_only if k in prefill})
    errors = validation.validate(schema, merged) or _date_order_errors(properties, {**prefill, **merged})
    if errors:
        raise InvalidInput("Some answers need correcting", errors)
    return {k: v for k, v in merged.items() if k not in read_only and (not properties or k in properties)}


def _date_order_errors(properties: dict, answers: dict) -> dict[str, str]:
    """The forms' `x-notBefore` keyword: a date field names another date field (answered or held
    by the case) that it may not precede, e.g. an agreement's end date and its start date."""
    errors = {}
    for name, prop in properties.items():
        other = prop.get("x-notBefore") if isinstance(prop, dict) else None
        value, floor = answers.get(name), answers.get(other) if other else None
        if not (isinstance(value, str) and isinstance(floor, str)):
            continue
        try:
            if date.fromisoformat(value[:10]) < date.fromisoformat(floor[:10]):
                title = (properties.get(other) or {}).get("title") or other.replace("_", " ")
                errors[name] = f"{prop.get('title') or name} must be the same as or after {title.lower()}"
        except ValueError:
            continue  # not a date: the schema's format check reports it
    return errors


def save_draft(session: Session, actor: User, task_id: str, data: dict) -> TaskRecord:
    record = task_record(session, actor, task_id)
    if record.state != "open":
        raise Conflict("This task has already been completed")
    if not access.can_work_task(actor, record.case, record.role):
        raise NotAllowed(access.not_your_role(record.role))
    record.draft = jsonable(data)
    audit.record(session, "task_draft_saved", case_id=record.case_id, actor_id=actor.id, task_id=task_id)
    return record


def claim(session: Session, actor: User, task_id: str) -> TaskRecord:
    record = _open_task_for(session, actor, task_id)
    if record.assignee_id not in (None, actor.id):
        raise Conflict(f"This task is already assigned to {record.assignee.name or record.assignee.email}")
    record.assignee_id = actor.id
    audit.record(session, "task_claimed", case_id=record.case_id, actor_id=actor.id, task_id=task_id,
                 title=record.title)
    return record


def release(session: Session, actor: User, task_id: str) -> TaskRecord:
    record = _open_task_for(session, actor, task_id)
    if record.assignee_id not in (None, actor.id) and "admin" not in actor.roles:
        raise NotAllowed("Only the person holding a task can release it")
    record.assignee_id = None
    audit.record(session, "task_released", case_id=record.case_id, actor_id=actor.id, task_id=task_id,
                 title=record.title)
    return record


def reassign(session: Session, actor: User, task_id: str, assignee_id: int) -> TaskRecord:
    record = _open_task_for(session, actor, task_id)
    assignee = session.get(User, assignee_id)
    if assignee is None or not assignee.active or not access.can_work_task(assignee, record.case, record.role):
        raise InvalidInput("Choose someone who works in this role on this case",
                           {"assignee_id": f"Choose someone in the {access.role_name(record.role)} role"})
    record.assignee_id = assignee.id
    audit.record(session, "task_reassigned", case_id=record.case_id, actor_id=actor.id, task_id=task_id,
                 title=record.title, assignee_id=assignee.id)
    return record


def _open_task_for(session: Session, actor: User, task_id: str) -> TaskRecord:
    record = task_record(session, actor, task_id)
    if record.state != "open":
        raise Conflict("This task has already been completed")
    if not access.can_work_task(actor, record.case, record.role):
        raise NotAllowed(access.not_your_role(record.role))
    return record


# ---------------------------------------------------------------- timers and messages

def fire_timers(session: Session, case_id: int) -> int:
    """Fire whatever is due on one case (the scheduler calls this for each due row)."""
    case = lock_case(session, case_id, with_state=True)
    if case.status != "open":
        return 0
    instance = load_instance(session, case)
    fired = instance.fire_timers()
    if fired:
        audit.record(session, "timers_fired", case_id=case.id, count=fired)
    _persist(session, case, instance, None)
    return fired


def deliver_message(session: Session, case_id: int, name: str, payload: dict,
                    actor: User | None = None, _hops: int = 0) -> bool:
    """Give a case a message (e.g. `unexplained_absence`); False when the case is not waiting for it."""
    case = lock_case(session, case_id, with_state=True)
    if case.status != "open":
        return False
    instance = load_instance(session, case)
    timers_before = _timer_rows(instance)
    try:
        caught = instance.deliver_message(name, payload)
    except EngineError as error:
        raise InvalidInput(f"The process could not take the message: {error}", {"_": str(error)}) from error
    audit.record(session, "message_received" if caught else "message_ignored", case_id=case.id,
                 actor_id=_id(actor), message=name)
    if caught:
        _persist(session, case, instance, actor, _hops=_hops, timers_before=timers_before)
    return caught


BREAKDOWN_REPORTERS = {"school_ap_lead", "head_teacher", "la_officer"}
BREAKDOWN_STAGE = "Placement active"


def may_end_placements(user: User, case: Case) -> bool:
    """The pupil's school (AP lead, head teacher) and the LA may end a placement early."""
    org = user.organisation
    return org is not None and org.id in (case.school_id, case.la_id) and bool(user.roles & BREAKDOWN_REPORTERS)


def can_report_breakdown(user: User, case: Case) -> bool:
    """`may_end_placements`, and the placement is running."""
    return case.status == "open" and case.stage == BREAKDOWN_STAGE and may_end_placements(user, case)


def not_running(case: Case) -> Conflict:
    """The refusal for a placement that is not running (409, naming where the case is)."""
    where = f"at the {case.stage} stage" if case.status == "open" else case.status
    return Conflict(f"Only a running placement can be ended early; this case is {where}")


def report_breakdown(session: Session, actor: User, case_id: int, reason) -> Case:
    """The placement has broken down: the model's `placement_breakdown` message takes the case to
    closure (recording the destination is the school's closing task)."""
    case = lock_case(session, case_id)
    if not access.can_see_case(actor, case):
        raise NotFound("No such case")
    if not may_end_placements(actor, case):
        raise NotAllowed("Only the pupil's school or the local authority can end a placement early")
    if not can_report_breakdown(actor, case):
        raise not_running(case)
    reason = reason.strip() if isinstance(reason, str) else ""
    if not reason or len(reason) > 2000:
        raise InvalidInput("Say why the placement is ending", {
            "reason": "Enter why the placement is ending early, in 2000 characters or fewer"})
    if not deliver_message(session, case.id, "placement_breakdown", {"case_id": case.id, "reason": reason},
                           actor=actor):
        raise not_running(case)
    return case


# ---------------------------------------------------------------- saving and projections

def _persist(session: Session, case: Case, instance: Instance, actor: User | None, _hops: int = 0,
             timers_before: list | None = None) -> None:
    """Write the state and rewrite the projections, all in the caller's transaction.

    ``timers_before``: the instance's waiting timers as loaded (``_timer_rows``), when known; the
    timer rows are then left alone if they did not change."""
    now = clock.now()
    case.state = instance.dump()
    case.data = jsonable(instance.data)
    case.stage = instance.stage
    case.updated_at = now
    if case.data.get("provider_id") and case.data["provider_id"] != case.provider_id:
        case.provider_id = case.data["provider_id"]
    for key in ("end_date", "proposed_end"):  # the agreed (or extended) end, else the proposed one
        if isinstance(case.data.get(key), str) and len(case.data[key]) >= 10:
            case.end_date = date.fromisoformat(case.data[key][:10])
            break
    if isinstance(case.data.get("start_date"), str) and len(case.data["start_date"]) >= 10:
        case.start_date = date.fromisoformat(case.data["start_date"][:10])
    if instance.is_completed and case.status == "open":
        outcome = case.data.get("outcome")
        case.status = outcome if outcome in OUTCOME_STATUSES else "closed"
        case.closed_at = now
        audit.record(session, "case_" + case.status, case_id=case.id, actor_id=_id(actor))
    with session.no_autoflush:  # one UPDATE of the case per save, at the flush below
        _project_tasks(session, case, instance, now)
        _project_timers(session, case, instance, timers_before)
    try:
        session.flush()
    except StaleDataError as error:
        raise Conflict("This case was changed by someone else at the same time. Try again.") from error
    outbox = instance.take_outbox()
    deliver_notifications(session, case, outbox.notifications)
    for name, payload in outbox.messages:
        target = (payload or {}).get("case_id", case.id)
        if _hops < MAX_MESSAGE_HOPS and isinstance(target, int):
            deliver_message(session, target, name, payload, _hops=_hops + 1)


def _project_tasks(session: Session, case: Case, instance: Instance, now) -> None:
    ready = {task.id: task for task in instance.ready_tasks()}
    existing = {t.id: t for t in session.scalars(
        select(TaskRecord).where(TaskRecord.case_id == case.id, TaskRecord.state == "open"))}
    for task_id, record in existing.items():
        if record.state != "open":  # finished in this transaction (not flushed yet)
            continue
        if task_id not in ready:
            record.state = "cancelled"  # withdrawn by the model (e.g. a boundary event)
            record.completed_at = now
    for task_id, task in ready.items():
        if task_id in existing:
            continue
        due = compute_due_at(now, *task.due) if task.due else None
        session.add(TaskRecord(
            id=task_id, case_id=case.id, element_id=task.element_id, name=task.name or "",
            title=task.title or task.name or task.element_id, role=task.lane or "", stage=case.stage,
            due_at=due, created_at=now, state="open",
        ))


def _timer_rows(instance: Instance) -> list[tuple] | None:
    """(task id, element id, due) of each waiting timer; None when they cannot be computed."""
    try:
        return [(t.task_id, t.element_id, t.due_at) for t in instance.waiting_timers()]
    except EngineError:
        return None


def _project_timers(session: Session, case: Case, instance: Instance, before: list | None = None) -> None:
    timers = [] if case.status != "open" else instance.waiting_timers()
    next_at = min((t.due_at for t in timers), default=None)
    rows = [(t.task_id, t.element_id, t.due_at) for t in timers]
    if before is not None and rows == before and case.next_timer_at == next_at:
        # The rows the last save wrote still hold: same timers, and no failure was recorded since
        # (timers._record_failure moves next_timer_at off the earliest due time, or to NULL).
        return
    session.execute(delete(WaitingTimer).where(WaitingTimer.case_id == case.id)
                    .execution_options(synchronize_session=False))
    if timers:
        session.add_all([WaitingTimer(case_id=case.id, task_id=t.task_id, element_id=t.element_id,
                                      due_at=t.due_at, attempts=0) for t in timers])
    case.next_timer_at = next_at


def _id(user: User | None) -> int | None:
    return user.id if user is not None else None
