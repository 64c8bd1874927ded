"""Checking a referral: the schema, the UPN, and the rules that span fields and the database."""
from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy.orm import Session
from stdnum.gb import upn as upn_number

from . import validation
from workflows import clock

from .models import Organisation, Provider

MIN_AGE, MAX_AGE = 4, 19  # reception to the end of the sixth form
REFERRAL_SCHEMA = json.loads((Path(__file__).parent / "schemas" / "referral.json").read_text())


def check_upn(value: str) -> str | None:
    """A plain message when the UPN is not valid, using python-stdnum's check-letter rules."""
    try:
        upn_number.validate(value)
    except Exception:  # stdnum raises several ValidationError subclasses
        return "Enter a valid UPN: a check letter then 12 digits (or 11 digits and a letter)"
    return None


def validate_referral(session: Session, body) -> dict[str, str]:
    """All problems with a referral body, keyed by field path (e.g. `pupil.upn`)."""
    if not isinstance(body, dict):
        return {"_": "The referral must be a JSON object"}
    errors = validation.validate(REFERRAL_SCHEMA, body)
    pupil = body.get("pupil") if isinstance(body.get("pupil"), dict) else {}
    if isinstance(pupil.get("upn"), str) and "pupil.upn" not in errors:
        if message := check_upn(pupil["upn"].strip().upper()):
            errors["pupil.upn"] = message
    start, end = _date(body.get("proposed_start")), _date(body.get("proposed_end"))
    if start and end and end <= start:
        errors.setdefault("proposed_end", "The end date must be after the start date")
    today = clock.today_london()
    if start and start < today - timedelta(days=365):
        errors.setdefault("proposed_start", "The proposed start cannot be more than a year ago")
    dob = _date(pupil.get("date_of_birth"))
    if dob and dob >= today:
        errors.setdefault("pupil.date_of_birth", "Date of birth must be in the past")
    elif dob and start and not MIN_AGE <= _age_on(dob, start) <= MAX_AGE:
        errors.setdefault("pupil.date_of_birth",
                          f"The pupil must be of school age ({MIN_AGE} to {MAX_AGE}) on the proposed start date")
    if pupil.get("has_social_worker") and not body.get("social_care_id"):
        errors.setdefault("social_care_id", "Choose the children's social care team, as the pupil has a social worker")
    elif body.get("social_care_id") and not pupil.get("has_social_worker"):
        errors.setdefault("social_care_id", "Only choose a social care team when the pupil has a social worker")
    if pupil.get("looked_after") and not body.get("virtual_school_id"):
        errors.setdefault("virtual_school_id", "Choose the virtual school, as the pupil is looked after")
    elif body.get("virtual_school_id") and not pupil.get("looked_after"):
        errors.setdefault("virtual_school_id", "Only choose a virtual school when the pupil is looked after")
    _check_org(session, errors, body, "school_id", "school", "Choose a school")
    _check_org(session, errors, body, "social_care_id", "social_care", "Choose a children's social care team")
    _check_org(session, errors, body, "virtual_school_id", "virtual_school", "Choose a virtual school")
    if isinstance(body.get("provider_id"), int) and "provider_id" not in errors:
        provider = session.get(Provider, body["provider_id"])
        if provider is None:
            errors["provider_id"] = "Choose a provider from the directory"
        elif not provider.listed:
            errors["provider_id"] = "This provider is not listed in the directory"
    return errors


def _check_org(session, errors, body, field, org_type, message):
    value = body.get(field)
    if isinstance(value, int) and field not in errors:
        org = session.get(Organisation, value)
        if org is None or org.type != org_type:
            errors[field] = message


def _age_on(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def _date(value) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else None
    except ValueError:
        return None
