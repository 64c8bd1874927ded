"""Directory management for LA officers (and administrators): add and edit providers, import a
CSV. The public directory pages are in directory.py.

Every change is audited (`provider_created` / `provider_updated` with the changed fields).
CSV import is all or nothing: a file with any error imports nothing, and the page lists every
error by row and column so the officer can fix the file and upload it again.
"""
from __future__ import annotations

import csv
import io
import unicodedata
from datetime import date, timedelta

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, select

from workflows import clock

from .. import access, audit, database
from ..errors import NotAllowed, NotFound
from ..models import REGISTRATION_STATUSES, Case, Organisation, Provider
from .common import PAGE_SIZE, page_number, pagination

bp = Blueprint("directory_admin", __name__)

SAFEGUARDING_MAX_AGE = timedelta(days=365)  # a check older than 12 months is flagged
OFSTED_GRADES = ("Outstanding", "Good", "Requires improvement", "Inadequate", "Not yet inspected")
SETTING_TYPES = ("NFE", "OOT", "OTH", "WBP")
FIELDS = ("name", "address", "registration_status", "urn", "ukprn", "ofsted_grade", "ofsted_date",
          "last_safeguarding_check", "la_training_attended", "services", "age_min", "age_max", "capacity",
          "setting_type", "contact_name", "contact_email", "contact_phone", "description")
MAX_IMPORT_BYTES = 1_000_000


def _guard():
    if not access.can_manage_providers(current_user):
        raise NotAllowed("Only local authority officers manage the provider directory")


def _la_id() -> int | None:
    org = current_user.organisation
    if org is None:
        return None
    return org.id if org.type == "la" else org.la_id


def _clean_name(name: str) -> str:
    """A name as shown and compared: invisible characters (zero-width spaces and the like)
    dropped, runs of spaces made one."""
    visible = "".join(ch for ch in name if unicodedata.category(ch) != "Cf")
    return " ".join(visible.split())


def validate(raw: dict) -> tuple[dict, dict]:
    """Clean form/CSV values; returns (values, errors by field)."""
    v = {k: (raw.get(k) or "").strip() if isinstance(raw.get(k), str) or raw.get(k) is None else raw.get(k)
         for k in FIELDS}
    errors: dict[str, str] = {}
    out: dict = {}
    v["name"] = _clean_name(v["name"]) if isinstance(v["name"], str) else ""
    if not v["name"]:
        errors["name"] = "Enter the provider's name"
    elif len(v["name"]) > 200:
        errors["name"] = "The name must be 200 characters or fewer"
    out["name"] = v["name"]
    out["address"] = v["address"]
    status = v["registration_status"]
    if status not in REGISTRATION_STATUSES:
        errors["registration_status"] = "Choose registered school, registered further education or unregistered"
    out["registration_status"] = status
    for key, digits in (("urn", (6, 7)), ("ukprn", (8, 8))):
        value = v[key].replace(" ", "")
        if value and (not value.isdigit() or not digits[0] <= len(value) <= digits[1]):
            errors[key] = ("A URN is 6 or 7 digits" if key == "urn" else "A UKPRN is 8 digits, like 10004567")
        out[key] = value or None
    if status == "registered_school" and not out["urn"] and "urn" not in errors:
        errors["urn"] = "Enter the URN of a registered school"
    if status == "registered_fe" and not out["ukprn"] and "ukprn" not in errors:
        errors["ukprn"] = "Enter the UKPRN of a registered further education provider"
    grade = v["ofsted_grade"]
    if grade and grade not in OFSTED_GRADES:
        errors["ofsted_grade"] = "Choose an Ofsted grade: " + ", ".join(OFSTED_GRADES)
    out["ofsted_grade"] = grade or None
    for key, label in (("ofsted_date", "Ofsted inspection"), ("last_safeguarding_check", "last safeguarding check")):
        out[key] = None
        if v[key]:
            try:
                out[key] = date.fromisoformat(v[key])
                if out[key] > clock.today_london():
                    errors[key] = f"The date of the {label} must be today or in the past"
            except ValueError:
                errors[key] = f"Enter the date of the {label} as YYYY-MM-DD"
    trained = v["la_training_attended"]
    if isinstance(trained, bool):
        out["la_training_attended"] = trained
    else:
        lowered = str(trained).lower()
        if lowered not in ("yes", "no", "true", "false", "y", "n", "1", "0", ""):
            errors["la_training_attended"] = "Answer yes or no"
        out["la_training_attended"] = lowered in ("yes", "true", "y", "1")
    services = v["services"]
    out["services"] = [s.strip() for s in (services if isinstance(services, list) else str(services).replace(";", ",")
                                           .split(",")) if s.strip()]
    for key in ("age_min", "age_max", "capacity"):
        out[key] = None
        if v[key] not in ("", None):
            try:
                out[key] = int(v[key])
                if out[key] < 0 or out[key] > (500 if key == "capacity" else 25):
                    raise ValueError
            except (TypeError, ValueError):
                errors[key] = ("Enter the number of places, like 20" if key == "capacity"
                               else "Enter an age between 0 and 25")
    if out.get("age_min") is not None and out.get("age_max") is not None and out["age_min"] > out["age_max"]:
        errors["age_max"] = "The oldest age must be the same as or above the youngest"
    setting = v["setting_type"].upper()
    if setting and setting not in SETTING_TYPES:
        errors["setting_type"] = "Choose a census setting type: NFE, OOT, OTH or WBP"
    out["setting_type"] = setting or None
    email = v["contact_email"]
    if email and ("@" not in email or " " in email or len(email) > 200):
        errors["contact_email"] = "Enter an email address like office@provider.example"
    for key in ("contact_name", "contact_email", "contact_phone", "description"):
        out[key] = v[key]
    return out, errors


def _apply(session, provider: Provider | None, values: dict, la_id: int | None) -> tuple[Provider, dict]:
    """Create or update; returns the provider and {field: [old, new]} of what changed."""
    now = clock.now()
    changes = {}
    if provider is None:
        org = Organisation(name=values["name"], type="provider", la_id=la_id, created_at=now)
        session.add(org)
        session.flush()
        provider = Provider(id=org.id)
        session.add(provider)
        provider.organisation = org
        changes["name"] = [None, values["name"]]
    elif provider.organisation.name != values["name"]:
        changes["name"] = [provider.organisation.name, values["name"]]
        provider.organisation.name = values["name"]
    for key in FIELDS[1:]:
        old, new = getattr(provider, key, None), values[key]
        if old != new:
            changes[key] = [old.isoformat() if isinstance(old, date) else old,
                            new.isoformat() if isinstance(new, date) else new]
            setattr(provider, key, new)
    session.flush()
    return provider, changes


def _provider_names(session, except_id: int | None = None) -> set[str]:
    """Providers' names as compared for duplicates (case-insensitive)."""
    stmt = select(Organisation.name).where(Organisation.type == "provider")
    if except_id is not None:
        stmt = stmt.where(Organisation.id != except_id)
    return {_clean_name(name).casefold() for name in session.scalars(stmt)}


def _placements(session) -> dict[int, int]:
    return dict(session.execute(select(Case.provider_id, func.count(Case.id)).where(Case.status == "open")
                                .group_by(Case.provider_id)).all())


@bp.route("/manage/providers")
@login_required
def index():
    _guard()
    db = database.session()
    page = page_number()
    total = db.scalar(select(func.count(Provider.id)))
    providers = list(db.scalars(select(Provider).join(Organisation, Organisation.id == Provider.id)
                                .order_by(Organisation.name, Provider.id)
                                .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)))
    today = clock.today_london()
    return render_template("directory_admin/index.html", title="Manage the provider directory", providers=providers,
                           total=total, pagination=pagination(page, total, "directory_admin.index"),
                           current=_placements(db),
                           stale=lambda p: p.last_safeguarding_check is None
                           or today - p.last_safeguarding_check > SAFEGUARDING_MAX_AGE)


def _form(provider: Provider | None):
    db = database.session()
    errors: dict = {}
    if request.method == "POST":
        raw = {k: request.form.get(k, "") for k in FIELDS}
        raw["la_training_attended"] = request.form.get("la_training_attended", "")
        values, errors = validate(raw)
        name_key = (values.get("name") or "").casefold()
        if "name" not in errors and name_key in _provider_names(db, except_id=provider.id if provider else None):
            errors["name"] = "A provider with this name is already in the directory"
        if not errors:
            saved, changes = _apply(db, provider, values, _la_id())
            if provider is None:
                audit.record(db, "provider_created", actor_id=current_user.id, provider_id=saved.id,
                             changed=sorted(changes), changes=changes, via="form")
            elif changes:
                audit.record(db, "provider_updated", actor_id=current_user.id, provider_id=saved.id,
                             changed=sorted(changes), changes=changes, via="form")
            db.commit()
            flash(f"{saved.name} {'added' if provider is None else 'saved'}", "success")
            return redirect(url_for(".index"))
        shown = dict(raw)
    elif provider is not None:
        shown = {k: getattr(provider, k, "") for k in FIELDS[1:]}
        shown["name"] = provider.name
        shown["services"] = ", ".join(provider.services or [])
        shown["la_training_attended"] = "yes" if provider.la_training_attended else "no"
        shown = {k: ("" if v is None else v.isoformat() if isinstance(v, date) else v) for k, v in shown.items()}
    else:
        shown = {k: "" for k in FIELDS}
    error_list = [{"text": errors[k], "href": f"#{k}"} for k in FIELDS if k in errors]
    return render_template("directory_admin/form.html", title="Add a provider" if provider is None else f"Edit {provider.name}",
                           provider=provider, values=shown, errors=errors, error_list=error_list,
                           statuses=REGISTRATION_STATUSES, grades=OFSTED_GRADES, setting_types=SETTING_TYPES), \
        422 if errors else 200


@bp.route("/manage/providers/new", methods=["GET", "POST"])
@login_required
def new():
    _guard()
    return _form(None)


@bp.route("/manage/providers/<int:provider_id>/edit", methods=["GET", "POST"])
@login_required
def edit(provider_id):
    _guard()
    provider = database.session().get(Provider, provider_id)
    if provider is None:
        raise NotFound("No such provider")
    return _form(provider)


@bp.route("/manage/providers/import", methods=["GET", "POST"])
@login_required
def import_csv():
    _guard()
    db = database.session()
    row_errors: list[dict] = []
    problem = None
    if request.method == "POST":
        upload = request.files.get("file")
        content = upload.read(MAX_IMPORT_BYTES + 1) if upload else b""
        if not content:
            problem = "Choose a CSV file to upload"
        elif len(content) > MAX_IMPORT_BYTES:
            problem = "The file must be smaller than 1 MB"
        else:
            try:
                text = content.decode("utf-8-sig")
            except UnicodeDecodeError:
                text = None
                problem = "The file must be a CSV saved as UTF-8"
            if text is not None:
                reader = csv.DictReader(io.StringIO(text))
                missing = [f for f in ("name", "registration_status") if f not in (reader.fieldnames or [])]
                if missing and (content[:2] == b"PK" or "\x00" in text):
                    problem = "The file must be a CSV file (a spreadsheet must be saved as CSV first)"
                elif missing:
                    problem = "The file must have a header row with at least the columns name and registration_status"
                else:
                    unknown = [f for f in reader.fieldnames if f not in FIELDS]
                    rows = []
                    taken = _provider_names(db)
                    for number, raw in enumerate(reader, start=2):  # row 1 is the header
                        values, errors = validate({k: raw.get(k) or "" for k in FIELDS})
                        name_key = (values.get("name") or "").casefold()
                        if name_key and "name" not in errors:
                            if name_key in taken:
                                errors["name"] = "A provider with this name is already in the directory or earlier in the file"
                            taken.add(name_key)
                        for field, message in errors.items():
                            row_errors.append({"row": number, "field": field, "message": message,
                                               "name": (raw.get("name") or "").strip()})
                        rows.append(values)
                    if unknown:
                        row_errors.insert(0, {"row": 1, "field": ", ".join(unknown),
                                              "message": "Unknown column; use the columns listed on this page", "name": ""})
                    if not rows and not row_errors:
                        problem = "The file has no providers in it"
                    elif not row_errors:
                        for values in rows:
                            saved, changes = _apply(db, None, values, _la_id())
                            audit.record(db, "provider_created", actor_id=current_user.id, provider_id=saved.id,
                                         changed=sorted(changes), changes=changes, via="csv_import")
                        db.commit()
                        flash(f"{len(rows)} provider{'s' if len(rows) != 1 else ''} imported", "success")
                        return redirect(url_for(".index"))
    status = 422 if (problem or row_errors) else 200
    return render_template("directory_admin/import.html", title="Import providers from a CSV file",
                           problem=problem, row_errors=row_errors, fields=FIELDS), status
