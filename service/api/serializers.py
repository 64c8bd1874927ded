"""Plain JSON shapes of the API's resources, in one place so every endpoint answers alike."""
from __future__ import annotations

from datetime import date, datetime

from workflows import clock

from ..models import (AttendanceRecord, AuditEvent, Case, Organisation, ProcessModel, ProcessVersion, Provider,
                      Pupil, TaskRecord, User)


def iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def person(user: User | None) -> dict | None:
    """Who did something: enough to name them, nothing more."""
    if user is None:
        return None
    return {"id": user.id, "name": user.name or user.email}


def organisation(org: Organisation | None) -> dict | None:
    if org is None:
        return None
    return {"id": org.id, "name": org.name, "type": org.type, "la_id": org.la_id}


def me(user: User) -> dict:
    return {"id": user.id, "email": user.email, "name": user.name, "roles": sorted(user.roles),
            "organisation": organisation(user.organisation)}


def provider(p: Provider) -> dict:
    return {
        "id": p.id, "name": p.name, "la_id": p.organisation.la_id, "address": p.address,
        "urn": p.urn, "ukprn": p.ukprn, "registration_status": p.registration_status,
        "ofsted_grade": p.ofsted_grade, "ofsted_date": iso(p.ofsted_date),
        "last_safeguarding_check": iso(p.last_safeguarding_check),
        "la_training_attended": p.la_training_attended, "listed": p.listed,
        "services": list(p.services or []), "age_min": p.age_min, "age_max": p.age_max,
        "capacity": p.capacity,
        "contact": {"name": p.contact_name, "email": p.contact_email, "phone": p.contact_phone},
        "description": p.description,
    }


def provider_ref(p: Provider | None) -> dict | None:
    if p is None:
        return None
    return {"id": p.id, "name": p.name, "registration_status": p.registration_status}


def pupil(p: Pupil) -> dict:
    return {"id": p.id, "upn": p.upn, "first_name": p.first_name, "last_name": p.last_name,
            "date_of_birth": iso(p.date_of_birth), "year_group": p.year_group, "sen_status": p.sen_status,
            "has_social_worker": p.has_social_worker, "looked_after": p.looked_after,
            "fsm_eligible": p.fsm_eligible}


def task_ref(t: TaskRecord) -> dict:
    """An open task as listed on its case."""
    return {"id": t.id, "name": t.element_id, "title": t.title, "role": t.role,
            "assignee": person(t.assignee), "due_at": iso(t.due_at), "overdue": _overdue(t)}


def task(t: TaskRecord) -> dict:
    """A task as the inbox lists it."""
    return {
        "id": t.id, "name": t.element_id, "title": t.title, "case_id": t.case_id,
        "case_reference": f"AP-{t.case_id:05d}", "role": t.role, "stage": t.stage,
        "assignee": person(t.assignee), "assignee_id": t.assignee_id, "due_at": iso(t.due_at),
        "overdue": _overdue(t), "state": t.state, "created_at": iso(t.created_at),
        "completed_at": iso(t.completed_at),
    }


def _overdue(t: TaskRecord) -> bool:
    return t.state == "open" and t.due_at is not None and t.due_at < clock.now()


def _version_fields(case: Case) -> dict:
    version: ProcessVersion = case.model_version
    return {"model": version.model.key, "model_version": version.number, "model_version_id": version.id}


def case_summary(case: Case) -> dict:
    """A case as listed to staff."""
    return {
        "id": case.id, "reference": case.reference, "status": case.status, "stage": case.stage,
        "pupil": pupil(case.pupil), "school": organisation(case.school), "provider": provider_ref(case.provider),
        "pattern": case.pattern, "start_date": iso(case.start_date), "end_date": iso(case.end_date),
        "created_at": iso(case.created_at), "updated_at": iso(case.updated_at), "closed_at": iso(case.closed_at),
        **_version_fields(case),
    }


def case_detail(case: Case, open_tasks: list[TaskRecord]) -> dict:
    return {
        **case_summary(case),
        "la_id": case.la_id, "social_care_id": case.social_care_id, "virtual_school_id": case.virtual_school_id,
        "open_tasks": [task_ref(t) for t in open_tasks],
        "data": case.data or {},
        "lock_version": case.lock_version,
    }


def parent_summary(case: Case, open_tasks: list[TaskRecord]) -> dict:
    """What a parent or carer sees of their own child's placement: no staff working data."""
    return {
        "id": case.id, "reference": case.reference, "status": case.status, "stage": case.stage,
        "pupil": {"first_name": case.pupil.first_name, "last_name": case.pupil.last_name,
                  "year_group": case.pupil.year_group},
        "provider": {"id": case.provider.id, "name": case.provider.name} if case.provider else None,
        "start_date": iso(case.start_date), "end_date": iso(case.end_date),
        "open_tasks": [task_ref(t) for t in open_tasks if t.role == "parent"],
        "summary": True,
    }


def event(e: AuditEvent) -> dict:
    return {"id": e.id, "at": iso(e.at), "actor": person(e.actor), "type": e.type, "detail": e.detail or {}}


def version(v: ProcessVersion, running_cases: int = 0) -> dict:
    return {"id": v.id, "model": v.model.key, "name": v.model.name, "version": v.number, "number": v.number,
            "label": v.label, "note": v.note, "deployed_at": iso(v.deployed_at),
            "deployed_by": person(v.deployed_by), "running_cases": running_cases}


def process_model(m: ProcessModel, running: dict[int, int]) -> dict:
    versions = [version(v, running.get(v.id, 0)) for v in m.versions]
    return {"key": m.key, "name": m.name, "created_at": iso(m.created_at),
            "latest_version": versions[-1]["version"] if versions else None,
            "running_cases": sum(v["running_cases"] for v in versions), "versions": versions}


def attendance(a: AttendanceRecord, category: str, decision=None) -> dict:
    """A mark; `decision` is the school's latest decision on it (an absence), if any."""
    return {"id": a.id, "case_id": a.case_id, "date": iso(a.date), "session": a.session, "code": a.code,
            "category": category, "note": a.note, "recorded_by": person(a.recorded_by),
            "recorded_at": iso(a.recorded_at),
            "decision": None if decision is None else {
                "decision": decision.decision, "note": decision.note,
                "decided_by": person(decision.decided_by), "decided_at": iso(decision.decided_at)}}
