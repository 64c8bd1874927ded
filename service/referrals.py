"""Checking a referral: the schema, the UPN, and the rules that span fields and the database."""
from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from sqlalchemy.orm import Session
from stdnum.gb import upn as upn_number

from . import validation
from workflows import clock

from .models import Organisation, Provider

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
    dob = _date(pupil.get("date_of_birth"))
    if dob and dob >= clock.now().date():
        errors.setdefault("pupil.date_of_birth", "Date of birth must be in the past")
    if pupil.get("has_social_worker") and not body.get("social_care_id"):
        errors.setdefault("social_care_id", "Choose the children's social care team, as the pupil has a social worker")
    if pupil.get("looked_after") and not body.get("virtual_school_id"):
        errors.setdefault("virtual_school_id", "Choose the virtual school, as the pupil is looked after")
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


def _date(value) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else None
    except ValueError:
        return None
