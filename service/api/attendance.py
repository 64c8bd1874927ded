"""The provider's attendance register for a placement (AM and PM sessions).

Codes are those of the School Attendance (Pupil Registration) (England) Regulations 2024. The
provider records what happened; the school decides whether an absence is authorised. Marks are
never changed or deleted. An unexplained absence (`N`, `O`) of a pupil with a social worker is
passed to the case at once as the `unexplained_absence` message, so the model can tell the
social worker the same day.
"""
from __future__ import annotations

from datetime import date

from flask import jsonify
from sqlalchemy import select

from workflows import clock

from .. import access, audit, database, validation
from .. import attendance as register
from ..errors import InvalidInput, NotAllowed, NotFound
from ..models import AttendanceRecord
from . import bp, serializers
from .auth import authenticated
from .cases import readable_case
from .inputs import json_body

CODES = {code: meta.category for code, meta in register.CODES.items()}  # code -> category

ATTENDANCE_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "One session's attendance mark",
    "type": "object",
    "required": ["date", "session", "code"],
    "properties": {
        "date": {"type": "string", "format": "date", "title": "Date"},
        "session": {"enum": ["AM", "PM"], "title": "Session"},
        "code": {"enum": list(CODES), "title": "Attendance code",
                 "description": "A code of the School Attendance (Pupil Registration) (England) Regulations 2024"},
        "note": {"type": "string", "maxLength": 2000, "title": "Note"},
    },
    "additionalProperties": False,
}

DECISION_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "The school's decision on an absence",
    "type": "object",
    "required": ["decision"],
    "properties": {
        "decision": {"enum": list(register.DECISIONS), "title": "Decision"},
        "note": {"type": "string", "maxLength": 2000, "title": "Note"},
    },
    "additionalProperties": False,
}


def _check(body: dict) -> dict[str, str]:
    errors = validation.validate(ATTENDANCE_SCHEMA, body)
    if "code" in errors and isinstance(body.get("code"), str):
        errors["code"] = ("Use an attendance code of the 2024 regulations, e.g. / or \\ (present), "
                          "L, B, I, M, N, O, U")
    code, session = body.get("code"), body.get("session")
    if "code" not in errors and "session" not in errors:
        if code == "/" and session == "PM":
            errors["code"] = "/ marks the morning session; use \\ for PM"
        if code == "\\" and session == "AM":
            errors["code"] = "\\ marks the afternoon session; use / for AM"
    if "date" not in errors and date.fromisoformat(body["date"]) > clock.today_london():
        errors["date"] = "You cannot register a session that has not happened yet"
    return errors


@bp.post("/cases/<int:case_id>/attendance")
@authenticated
def register_session(user, case_id: int):
    session = database.session()
    case = readable_case(session, user, case_id)
    org = user.organisation
    if "provider" not in user.roles or org is None or org.type != "provider" or org.id != case.provider_id:
        raise NotAllowed("Only staff of the pupil's provider can register attendance")
    body = json_body()
    errors = _check(body)
    if errors:
        raise InvalidInput("The attendance mark has problems", errors)
    # The shared register rules (notes, the provider's B/K rule, school days, placement dates) and
    # alerts (unexplained absence message, LA alert) live in service.attendance.
    [record] = register.register_marks(session, user, case, [body])
    delivered = getattr(record, "message_delivered", None)
    session.commit()
    body = serializers.attendance(record, CODES[record.code], None)
    body["message_delivered"] = delivered
    response = jsonify(body)
    response.status_code = 201
    return response


@bp.get("/cases/<int:case_id>/attendance")
@authenticated
def list_attendance(user, case_id: int):
    """The register of a placement, oldest first, for anyone who may see the case."""
    session = database.session()
    case = readable_case(session, user, case_id)
    if access.is_parent_only(user):
        raise NotAllowed("Ask the school about your child's attendance")
    rows = list(session.scalars(select(AttendanceRecord).where(AttendanceRecord.case_id == case.id)
                                .order_by(AttendanceRecord.date, AttendanceRecord.session)))
    decisions = register.latest_decisions(session, [r.id for r in rows])
    items = [serializers.attendance(r, CODES.get(r.code, "unknown"), decisions.get(r.id)) for r in rows]
    audit.record(session, "case_viewed", case_id=case.id, actor_id=user.id, via="api_attendance")
    session.commit()
    return jsonify(items)


@bp.post("/cases/<int:case_id>/attendance/<int:record_id>/decision")
@authenticated
def decide_absence(user, case_id: int, record_id: int):
    """The school authorises an absence the provider reported, or not (it may change its mind:
    the latest decision counts, every one is kept). The provider's mark is never changed."""
    session = database.session()
    case = readable_case(session, user, case_id)
    record = session.get(AttendanceRecord, record_id)
    if record is None or record.case_id != case.id:
        raise NotFound("No such mark on this placement's register")
    if not register.can_decide(user, case):  # who may, before what they sent
        raise NotAllowed("Only the pupil's school (head teacher or AP lead) decides whether an absence is authorised")
    body = json_body()
    errors = validation.validate(DECISION_SCHEMA, body)
    if errors:
        if "decision" in errors:
            errors["decision"] = "Send authorised or unauthorised"
        raise InvalidInput("The decision has problems", errors)
    decision = register.decide(session, user, case, record_id, body["decision"], body.get("note", ""))
    session.commit()
    return jsonify(serializers.attendance(record, CODES[record.code], decision))
