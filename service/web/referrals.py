"""Start a referral: every field of the referral in CONTRACT.md as GOV.UK components, built with
the same JSON Schema renderer as the task pages; errors per field come from casework.start_case."""
from __future__ import annotations

import copy

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from .. import access, casework, database
from ..errors import InvalidInput, NotAllowed
from ..models import Organisation
from ..referrals import REFERRAL_SCHEMA, validate_referral
from . import forms_render
from .tasks import provider_options

bp = Blueprint("referrals", __name__)

SECTIONS = (
    ("About the pupil", ("pupil.",)),
    ("The placement", ("school_id", "provider_id", "reason", "pattern", "sessions_per_week", "proposed_start",
                       "proposed_end", "objectives", "transport_required")),
    ("Who else is involved", ("social_care_id", "virtual_school_id")),
)


def _choices(values_titles):
    return [{"const": v, "title": t} for v, t in values_titles]


def web_form(fixed_school: bool) -> dict:
    """The referral schema with labels, hints and answers the page insists on (yes/no questions
    must be answered, never assumed)."""
    schema = copy.deepcopy(REFERRAL_SCHEMA)
    pupil = schema["properties"]["pupil"]
    pupil["required"] = list(pupil["required"]) + ["has_social_worker", "looked_after", "fsm_eligible"]
    pupil["properties"]["sen_status"]["oneOf"] = _choices([
        ("none", "No special educational needs"), ("sen_support", "SEN support"),
        ("ehcp", "Education, health and care plan (EHCP)")])
    pupil["properties"]["has_social_worker"]["title"] = "Does the pupil have a social worker?"
    pupil["properties"]["looked_after"]["title"] = "Is the pupil looked after by the local authority?"
    pupil["properties"]["fsm_eligible"]["title"] = "Is the pupil eligible for free school meals?"
    props = schema["properties"]
    schema["required"] = list(schema["required"]) + ["transport_required"]
    props["reason"]["oneOf"] = _choices([
        ("suspension", "Suspension"), ("permanent_exclusion", "Permanent exclusion"),
        ("health_needs", "Health needs"), ("behaviour_intervention", "Behaviour intervention"),
        ("off_site_direction", "Off-site direction to improve behaviour"), ("other", "Other")])
    props["reason"]["title"] = "Reason for the placement"
    props["pattern"]["oneOf"] = _choices([("full_time", "Full time"), ("part_time", "Part time")])
    props["pattern"]["title"] = "Full time or part time?"
    props["transport_required"]["title"] = "Does the pupil need transport to the provider?"
    props["social_care_id"]["title"] = "Children's social care team"
    props["virtual_school_id"]["title"] = "Virtual school"
    ui = {
        "pupil.upn": {"hint": "13 characters: a letter then 12 digits, for example A123456789012", "width": 10},
        "pupil.first_name": {"autocomplete": "off", "width": 20},
        "pupil.last_name": {"autocomplete": "off", "width": 20},
        "pupil.date_of_birth": {"hint": "For example, 4 5 2012"},
        "pupil.year_group": {"widget": "number", "hint": "Reception is 0. Leave blank if not known."},
        "pupil.sen_status": {"widget": "radios"},
        "school_id": {"widget": "hidden" if fixed_school else "select"},
        "provider_id": {"widget": "provider",
                        "hint": "Only providers listed in the local authority's directory can be chosen."},
        "sessions_per_week": {"hint": "Between 1 and 10. A full week is 10 sessions (mornings and afternoons)."},
        "proposed_start": {"hint": "For example, 11 1 2027"},
        "proposed_end": {"hint": "Placements are time-limited. For example, 26 3 2027"},
        "objectives": {"widget": "textarea", "hint": "What the placement should achieve, and how progress will be judged."},
        "social_care_id": {"widget": "select", "hint": "Only if the pupil has a social worker."},
        "virtual_school_id": {"widget": "select", "hint": "Only if the pupil is looked after."},
        "order": ["pupil", "school_id", "provider_id", "reason", "pattern", "sessions_per_week", "proposed_start",
                  "proposed_end", "objectives", "transport_required", "social_care_id", "virtual_school_id"],
    }
    return {"schema": schema, "ui": ui}


def _orgs(db, type_, la_id):
    stmt = select(Organisation.id, Organisation.name).where(Organisation.type == type_)
    if la_id is not None:
        stmt = stmt.where(Organisation.la_id == la_id)
    return [(oid, name) for oid, name in db.execute(stmt.order_by(Organisation.name))]


def _context(db):
    org = current_user.organisation
    fixed_school = org.type == "school"
    la_id = org.la_id if fixed_school else org.id
    form = web_form(fixed_school)
    options = {"social_care_id": _orgs(db, "social_care", la_id),
               "virtual_school_id": _orgs(db, "virtual_school", la_id)}
    if not fixed_school:
        options["school_id"] = _orgs(db, "school", la_id)
    fields = forms_render.fields_for(form, options=options, widget_options={"provider": provider_options(db)})
    return form, fields, org if fixed_school else None


def _guard():
    user = current_user
    if access.can_refer(user):
        return None
    if "parent" in user.roles:
        return render_template("referrals/parent.html", title="Talk to your child's school"), 403
    raise NotAllowed("Only school and local authority staff can make a referral")


@bp.route("/referrals/new", methods=["GET", "POST"])
@login_required
def new():
    refused = _guard()
    if refused is not None:
        return refused
    db = database.session()
    form, fields, school = _context(db)
    errors: dict = {}
    raw: dict = {}
    status = 200
    if request.method == "POST":
        raw, data, parse_errors = forms_render.parse(fields, request.form)
        if school is not None:
            data["school_id"] = school.id
        errors = forms_render.validate(fields, form["schema"], data)
        for path, message in validate_referral(db, data).items():  # cross-field and directory rules
            errors.setdefault(path, message)
        errors = forms_render.friendly_errors(fields, errors)
        errors.update(parse_errors)
        if not errors:
            try:
                case = casework.start_case(db, current_user, data,
                                           model_key=current_app.config["DEFAULT_PROCESS_MODEL"])
                db.commit()
                flash(f"Referral made. The case reference is {case.reference}.", "success")
                return redirect(url_for("cases.show", case_id=case.id))
            except InvalidInput as error:
                db.rollback()
                errors = forms_render.friendly_errors(fields, error.details) or {"_": error.message}
        status = 422
    by_path = {f.path: f for f in fields}
    sections = []
    for heading, prefixes in SECTIONS:
        members = [f for f in fields if any(f.path == p or (p.endswith(".") and f.path.startswith(p))
                                            for p in prefixes)]
        sections.append((heading, [(f, forms_render.component(f, raw, errors)) for f in members]))
    return render_template("referrals/new.html", title="Start a referral", sections=sections, school=school,
                           errors=errors, error_list=forms_render.error_list(fields, errors),
                           by_path=by_path), status
