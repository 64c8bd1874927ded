"""Small builders for organisations, users and referrals used by the service tests."""
from __future__ import annotations

import itertools
from pathlib import Path

from workflows import clock

from service import processes
from service.models import Organisation, Provider, User, UserRole
from service.security import hash_password

BUNDLES = Path(__file__).parent / "bundles"
_counter = itertools.count(1)
PASSWORD = "correct horse battery"
_HASH = None


def org(session, name, type_, la=None, **provider_fields):
    organisation = Organisation(name=name, type=type_, la_id=la.id if la else None, created_at=clock.now())
    session.add(organisation)
    session.flush()
    if type_ == "provider":
        fields = {"registration_status": "registered_school", "la_training_attended": True, "services": []}
        fields.update(provider_fields)
        session.add(Provider(id=organisation.id, **fields))
        session.flush()
    return organisation


def user(session, organisation, *roles, email=None):
    global _HASH
    _HASH = _HASH or hash_password(PASSWORD)  # hashing is slow by design; do it once
    person = User(email=email or f"user{next(_counter)}@example.org", name=f"{roles[0]} person",
                  password_hash=_HASH, organisation_id=organisation.id if organisation else None,
                  created_at=clock.now(), role_rows=[UserRole(role=r) for r in roles])
    session.add(person)
    session.flush()
    return person


def world(session):
    """An LA with a school, a provider, and staff in each role; returns a dict of them."""
    la = org(session, "Shire County Council", "la")
    school = org(session, "Oak Academy", "school", la=la)
    other_school = org(session, "Elm School", "school", la=la)
    provider = org(session, "Bridge Learning Centre", "provider", la=la)
    other_provider = org(session, "Harbour Tuition", "provider", la=la, registration_status="unregistered")
    social_care = org(session, "Shire Children's Services", "social_care", la=la)
    virtual_school = org(session, "Shire Virtual School", "virtual_school", la=la)
    people = {
        "lead": user(session, school, "school_ap_lead"),
        "head": user(session, school, "head_teacher"),
        "dsl": user(session, school, "dsl"),
        "senco": user(session, school, "senco"),
        "other_lead": user(session, other_school, "school_ap_lead"),
        "la_officer": user(session, la, "la_officer"),
        "provider_staff": user(session, provider, "provider"),
        "other_provider_staff": user(session, other_provider, "provider"),
        "social_worker": user(session, social_care, "social_worker"),
        "virtual_school": user(session, virtual_school, "virtual_school"),
        "owner": user(session, None, "process_owner"),
    }
    return {"la": la, "school": school, "other_school": other_school, "provider": provider,
            "other_provider": other_provider, "social_care": social_care, "virtual_school": virtual_school,
            **people}


def referral(w, **overrides):
    body = {
        "pupil": {"upn": "B801200005001", "first_name": "Sam", "last_name": "Taylor",
                  "date_of_birth": "2012-05-04", "year_group": 9, "sen_status": "none",
                  "has_social_worker": False, "looked_after": False, "fsm_eligible": False},
        "school_id": w["school"].id, "provider_id": w["provider"].id, "reason": "behaviour_intervention",
        "pattern": "part_time", "sessions_per_week": 4, "proposed_start": "2027-01-11",
        "proposed_end": "2027-03-26", "objectives": "Re-engage with learning", "transport_required": False,
    }
    for key, value in overrides.items():
        if key == "pupil":
            body["pupil"].update(value)
        else:
            body[key] = value
    return body


def deploy(session, name="mini"):
    return processes.deploy(session, processes.read_bundle_path(BUNDLES / name), note="test")
