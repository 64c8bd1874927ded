"""Demo data: one county, four schools, eight providers, staff in every role, ~30 pupils.

Cases are moved through the deployed lifecycle model by completing their open tasks as the right
people would, with answers made from each task's own form schema. Nothing here knows the model's
steps, so the demo follows whatever the process owner has deployed.
"""
from __future__ import annotations

import random
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session
from stdnum.gb import upn as upn_number

from workflows import clock

from . import casework, processes
from .errors import InvalidInput
from .models import Case, Organisation, Provider, PupilParent, TaskRecord, User, UserRole
from .notify import people_in_role
from .security import hash_password

DEMO_PASSWORD = "demo-password-1"
MARKER_EMAIL = "officer@shire.example"

SCHOOLS = [("Oak Academy", "oak"), ("Elm School", "elm"), ("Ash Park School", "ash"), ("Birch High School", "birch")]
PROVIDERS = [
    # name, registration, urn/ukprn, ofsted, services, ages, capacity, trained
    ("Bridge Learning Centre", "registered_school", ("urn", "140001"), "Good", ["behaviour support", "GCSE"], (11, 16), 40, True),
    ("Harbour Tuition", "unregistered", None, None, ["one-to-one tuition", "English", "maths"], (8, 16), 12, True),
    ("Northgate College", "registered_fe", ("ukprn", "10004567"), "Good", ["vocational", "construction", "hair and beauty"], (14, 19), 60, True),
    ("The Workshop Project", "unregistered", None, None, ["vocational", "motor vehicle"], (14, 16), 10, True),
    ("Riverside Pupil Referral Unit", "registered_school", ("urn", "140002"), "Requires improvement", ["behaviour support", "GCSE", "mental health"], (11, 16), 50, True),
    ("Greenfields Farm Learning", "unregistered", None, None, ["outdoor learning", "animal care"], (11, 16), 8, True),
    ("Summit Sports Academy", "unregistered", None, None, ["sport", "mentoring"], (13, 16), 15, False),
    ("Meadow Hospital Education Service", "registered_school", ("urn", "140003"), "Outstanding", ["health needs", "GCSE"], (5, 18), 30, True),
]
FIRST = ["Sam", "Alex", "Jordan", "Riley", "Casey", "Morgan", "Jamie", "Taylor", "Charlie", "Drew", "Ellis",
         "Frankie", "Harper", "Kai", "Logan", "Max", "Noah", "Olivia", "Priya", "Quinn", "Rosa", "Sol", "Toby",
         "Uma", "Vic", "Wren", "Yusuf", "Zara", "Amir", "Bea"]
LAST = ["Taylor", "Smith", "Jones", "Brown", "Patel", "Khan", "Williams", "Evans", "Wilson", "Roberts",
        "Walker", "Wright", "Hughes", "Green", "Hall", "Clarke", "Lewis", "Young", "King", "Baker"]

# Answers that steer a few demo cases down the other paths of the model.
DECLINE = {"decision": "decline", "decline_reason": "The parents and the school agreed a different plan."}
SAFEGUARDING_FAIL = {"safeguarding_outcome": "fail"}


def load_demo(session: Session, force: bool = False):
    """Load everything; returns [(email, password, roles)] or None if already loaded.

    Built around the clock's "now" (the wall clock, or wherever a test has put it)."""
    if not force and session.scalar(select(User).where(User.email == MARKER_EMAIL)):
        return None
    rng = random.Random(20261203)
    suffix = "" if not force else f"-{rng.randrange(10_000)}"
    now = clock.now()
    accounts: list[tuple[str, str, list[str]]] = []
    password_hash = hash_password(DEMO_PASSWORD)

    def org(name, type_, la=None):
        record = Organisation(name=name, type=type_, la_id=la.id if la else None, created_at=now)
        session.add(record)
        session.flush()
        return record

    def person(email, name, organisation, *roles):
        email = email.replace("@", f"{suffix}@") if suffix else email
        user = User(email=email, name=name, password_hash=password_hash,
                    organisation_id=organisation.id if organisation else None, created_at=now,
                    role_rows=[UserRole(role=r) for r in roles])
        session.add(user)
        accounts.append((email, DEMO_PASSWORD, list(roles)))
        return user

    la = org("Shire County Council", "la")
    social_care = org("Shire Children's Services", "social_care", la)
    virtual_school = org("Shire Virtual School", "virtual_school", la)
    person("officer@shire.example", "Lee Officer", la, "la_officer")
    person("owner@shire.example", "Pat Owner", la, "process_owner")
    person("admin@shire.example", "Ash Admin", la, "admin")
    person("worker@social.example", "Sol Worker", social_care, "social_worker")
    person("head@virtual.example", "Vic Head", virtual_school, "virtual_school")

    schools = []
    for name, slug in SCHOOLS:
        school = org(name, "school", la)
        schools.append(school)
        person(f"lead@{slug}.example", f"{name.split()[0]} AP Lead", school, "school_ap_lead")
        person(f"head@{slug}.example", f"{name.split()[0]} Head Teacher", school, "head_teacher")
        person(f"dsl@{slug}.example", f"{name.split()[0]} Safeguarding Lead", school, "dsl")
        person(f"senco@{slug}.example", f"{name.split()[0]} SENCO", school, "senco")

    providers = []
    for index, (name, status, ref, grade, services, ages, capacity, trained) in enumerate(PROVIDERS):
        provider_org = org(name, "provider", la)
        slug = name.split()[0].lower()
        provider = Provider(
            id=provider_org.id, registration_status=status, urn=ref[1] if ref and ref[0] == "urn" else None,
            ukprn=ref[1] if ref and ref[0] == "ukprn" else None, ofsted_grade=grade,
            ofsted_date=date(2025, 3 + index % 9, 10) if grade else None,
            last_safeguarding_check=(now.date() - timedelta(days=60 + 50 * index)),
            la_training_attended=trained, services=services, age_min=ages[0], age_max=ages[1],
            capacity=capacity, contact_name=f"{name.split()[0]} Manager", contact_email=f"office@{slug}.example",
            contact_phone=f"01632 96{index:04d}", address=f"{index + 1} High Street, Shiretown",
            description=f"{name} offers {', '.join(services)} for pupils aged {ages[0]} to {ages[1]}.",
        )
        session.add(provider)
        person(f"staff@{slug}.example", f"{name.split()[0]} Staff", provider_org, "provider")
        providers.append(provider)
    session.flush()

    version = processes.latest_version(session, casework.DEFAULT_MODEL)
    if version is None:
        raise RuntimeError("Deploy the lifecycle first: placements deploy bpmn/placement")
    listed = [p for p in providers if p.listed]
    parent = person("parent@family.example", "Parent Carer", None, "parent")
    session.flush()
    case_count = 0
    for index in range(30):
        school = schools[index % len(schools)]
        lead = session.scalar(select(User).join(UserRole).where(
            User.organisation_id == school.id, UserRole.role == "school_ap_lead"))
        provider = listed[index % len(listed)]
        start = now.date() + timedelta(days=rng.randint(-70, 30))
        pupil = {
            "upn": _upn(rng), "first_name": FIRST[index % len(FIRST)], "last_name": LAST[index % len(LAST)],
            "date_of_birth": date(2010 + index % 5, 1 + index % 12, 1 + index % 27).isoformat(),
            "year_group": 7 + index % 5, "sen_status": ["none", "sen_support", "ehcp"][index % 3 if index % 7 else 0],
            "has_social_worker": index % 5 == 1, "looked_after": index % 9 == 4, "fsm_eligible": index % 3 == 0,
        }
        referral = {
            "pupil": pupil, "school_id": school.id, "provider_id": provider.id,
            "reason": ["behaviour_intervention", "suspension", "health_needs", "off_site_direction",
                       "permanent_exclusion", "other"][index % 6],
            "pattern": "part_time" if index % 2 else "full_time", "sessions_per_week": 4 if index % 2 else 10,
            "proposed_start": start.isoformat(), "proposed_end": (start + timedelta(weeks=12 + index % 6)).isoformat(),
            "objectives": "Re-engage with learning, improve attendance and prepare to return to school.",
            "transport_required": index % 4 == 0,
            "social_care_id": social_care.id if pupil["has_social_worker"] else None,
            "virtual_school_id": virtual_school.id if pupil["looked_after"] else None,
        }
        # Each case began some weeks ago, so its history, reviews and reminders look lived-in.
        with clock.kept():
            clock.set(now - timedelta(days=rng.randint(20, 75), hours=rng.randint(0, 8)))
            case = casework.start_case(session, lead, referral)
            if index == 0:
                session.add(PupilParent(pupil_id=case.pupil_id, user_id=parent.id))
            steps = [0, 1, 2, 3, 4, 5, 7, 9, 12, 16, 40][index % 11]
            overrides = dict(DECLINE) if index in (6, 17) else dict(SAFEGUARDING_FAIL) if index == 9 else {}
            advance(session, case, steps if not overrides else 40, overrides, rng)
            if index in (10, 21, 29) and case.stage == "Placement active":
                clock.travel(timedelta(days=14))
                casework.deliver_message(session, case.id, "placement_breakdown",
                                         {"case_id": case.id, "reason": "The provider could not meet the pupil's needs."})
                advance(session, case, 1 if index == 29 else 3, {}, rng)
    session.flush()
    from . import demo_attendance
    demo_attendance.load(session, rng)  # a term of registers for the active placements
    session.flush()
    return accounts


def advance(session: Session, case: Case, steps: int, overrides: dict, rng: random.Random) -> int:
    """Complete up to `steps` open tasks of a case as the people in their roles would.

    Tasks opened together are taken in element order (their ids are random), so the same seed
    always gives the same demo."""
    done = 0
    while done < steps:
        task = session.scalar(select(TaskRecord).where(TaskRecord.case_id == case.id, TaskRecord.state == "open")
                              .order_by(TaskRecord.created_at, TaskRecord.element_id, TaskRecord.id).limit(1))
        if task is None:
            break
        people = people_in_role(session, case, task.role)
        if not people:
            break
        instance = casework.load_instance(session, case)
        view = instance.get_task(task.id)
        answers = answers_for(view.form or {}, view.data or {}, overrides, rng)
        _complete_with_retries(session, people[0], task.id, answers, view.form or {})
        for used in set(overrides) & set(answers):  # steer only the first decision of its kind
            overrides.pop(used)
        if not overrides and steps >= 40 and done > 40:
            break
        done += 1
    return done


def _complete_with_retries(session: Session, user: User, task_id: str, answers: dict, form: dict) -> None:
    """Submit; where a conditional rule refuses an answer (e.g. "must be No"), try the other choices."""
    properties = (form.get("schema") or {}).get("properties") or {}
    for _ in range(6):
        try:
            with session.begin_nested():
                casework.complete_task(session, user, task_id, answers)
            return
        except InvalidInput as invalid:
            changed = False
            for field in invalid.details:
                options = _choices(properties.get(field) or {})
                if options and answers.get(field) in options:
                    answers[field] = options[(options.index(answers[field]) + 1) % len(options)]
                    changed = True
            if not changed:
                raise


def _choices(prop: dict) -> list:
    if prop.get("type") == "boolean" and not prop.get("oneOf"):
        return [True, False]
    return [option.get("const") for option in prop.get("oneOf", []) if "const" in option] or prop.get("enum") or []


def answers_for(form: dict, prefill: dict, overrides: dict, rng: random.Random) -> dict:
    """Plausible answers made from a form's JSON Schema (enums, booleans, dates, text, numbers)."""
    schema = form.get("schema") or {}
    today = clock.now().date()
    answers = {}
    for name, prop in (schema.get("properties") or {}).items():
        if not isinstance(prop, dict) or prop.get("readOnly"):
            continue
        if name in overrides:
            answers[name] = overrides[name]
        elif name in prefill and prefill[name] not in (None, ""):
            answers[name] = prefill[name]
        else:
            value = _value_for(name, prop, today)
            if value is not None:
                answers[name] = value
    return answers


def _value_for(name: str, prop: dict, today: date):
    choices = _choices(prop)
    kind = prop.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if choices:
        preferred = {"decision": "approve", "safeguarding_outcome": "pass", "review_outcome": "continue",
                     "destination": "home_school"}
        return preferred.get(name, choices[0])
    if kind == "boolean":
        return True
    if kind == "array":
        items = prop.get("items") or {}
        options = [o.get("const") for o in items.get("oneOf", []) if "const" in o] or items.get("enum") or []
        return options[:1]
    if kind in ("number", "integer"):
        return prop.get("minimum", 1) or 1
    if kind == "string" and prop.get("format") == "date":
        if "end" in name:
            return (today + timedelta(weeks=10)).isoformat()
        return today.isoformat()
    if kind == "string":
        return "Discussed and agreed with everyone involved."
    return None


def _upn(rng: random.Random) -> str:
    digits = f"825{rng.randrange(1000, 9999)}{rng.randrange(10, 27)}{rng.randrange(100, 999)}"
    return upn_number.calc_check_digit(digits) + digits
