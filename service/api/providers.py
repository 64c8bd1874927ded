"""The provider directory: GET is public; adding a provider is for LA officers and admins."""
from __future__ import annotations

from datetime import date

from flask import jsonify, url_for
from sqlalchemy import select

from workflows import clock

from .. import access, audit, database, validation
from ..errors import InvalidInput, NotAllowed, NotFound
from ..models import REGISTRATION_STATUSES, Organisation, Provider
from . import bp, serializers
from .auth import api_user, authenticated
from .inputs import json_body

_TEXT = {"type": "string", "maxLength": 200}
PROVIDER_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "A provider's directory entry",
    "type": "object",
    "required": ["name", "registration_status"],
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 200, "title": "Name"},
        "address": {"type": "string", "maxLength": 2000, "title": "Address"},
        "urn": {"type": ["string", "null"], "pattern": "^[0-9]{6,7}$", "title": "URN",
                "description": "Unique reference number of a registered school (6 or 7 digits)"},
        "ukprn": {"type": ["string", "null"], "pattern": "^1[0-9]{7}$", "title": "UKPRN",
                  "description": "UK provider reference number (8 digits, starting with 1)"},
        "registration_status": {"enum": list(REGISTRATION_STATUSES), "title": "Registration status"},
        "ofsted_grade": {"type": ["string", "null"], "maxLength": 40, "title": "Ofsted grade"},
        "ofsted_date": {"type": ["string", "null"], "format": "date", "title": "Ofsted inspection date"},
        "last_safeguarding_check": {"type": ["string", "null"], "format": "date",
                                    "title": "Last safeguarding check"},
        "la_training_attended": {"type": "boolean", "default": True, "title": "Staff attended LA training",
                                 "description": "Only providers whose staff attended appear in the directory"},
        "services": {"type": "array", "maxItems": 50, "items": {**_TEXT, "minLength": 1}, "title": "Services"},
        "age_min": {"type": ["integer", "null"], "minimum": 3, "maximum": 25, "title": "Youngest age"},
        "age_max": {"type": ["integer", "null"], "minimum": 3, "maximum": 25, "title": "Oldest age"},
        "capacity": {"type": ["integer", "null"], "minimum": 0, "maximum": 10000, "title": "Capacity"},
        "contact_name": {**_TEXT, "title": "Contact name"},
        "contact_email": {"type": "string", "maxLength": 200, "format": "email", "title": "Contact email"},
        "contact_phone": {"type": "string", "maxLength": 50, "title": "Contact phone"},
        "description": {"type": "string", "maxLength": 5000, "title": "Description"},
        "la_id": {"type": ["integer", "null"], "title": "Local authority",
                  "description": "Defaults to the LA of the officer adding the provider"},
    },
    "additionalProperties": False,
}


@bp.get("/providers")
def list_providers():
    """Public: the directory of listed providers. LA officers and admins also see unlisted ones."""
    session = database.session()
    user = api_user(required=False)
    query = select(Provider).join(Provider.organisation).order_by(Organisation.name, Provider.id)
    if user is None or not access.can_manage_providers(user):
        query = query.where(Provider.la_training_attended.is_(True))
    return jsonify([serializers.provider(p) for p in session.scalars(query)])


@bp.get("/providers/<int:provider_id>")
def get_provider(provider_id: int):
    session = database.session()
    provider = session.get(Provider, provider_id)
    user = api_user(required=False)
    if provider is None or (not provider.listed and (user is None or not access.can_manage_providers(user))):
        raise NotFound("No such provider in the directory")
    return jsonify(serializers.provider(provider))


@bp.post("/providers")
@authenticated
def create_provider(user):
    if not access.can_manage_providers(user):
        raise NotAllowed("Only local authority officers and administrators can add providers to the directory")
    body = json_body()
    session = database.session()
    errors = validation.validate(PROVIDER_SCHEMA, body)
    _cross_checks(session, user, body, errors)
    if errors:
        raise InvalidInput("The provider has problems", errors)
    la_id = body.get("la_id")
    if la_id is None and user.organisation is not None:
        la_id = user.organisation.id if user.organisation.type == "la" else user.organisation.la_id
    now = clock.now()
    org = Organisation(name=body["name"].strip(), type="provider", la_id=la_id, created_at=now)
    session.add(org)
    session.flush()
    provider = Provider(
        id=org.id, address=body.get("address", ""), urn=body.get("urn") or None, ukprn=body.get("ukprn") or None,
        registration_status=body["registration_status"], ofsted_grade=body.get("ofsted_grade"),
        ofsted_date=_date(body.get("ofsted_date")), last_safeguarding_check=_date(body.get("last_safeguarding_check")),
        la_training_attended=body.get("la_training_attended", True), services=body.get("services", []),
        age_min=body.get("age_min"), age_max=body.get("age_max"), capacity=body.get("capacity"),
        contact_name=body.get("contact_name", ""), contact_email=body.get("contact_email", ""),
        contact_phone=body.get("contact_phone", ""), description=body.get("description", ""),
    )
    session.add(provider)
    session.flush()
    audit.record(session, "provider_created", actor_id=user.id, provider_id=org.id, name=org.name)
    session.commit()
    response = jsonify(serializers.provider(provider))
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_provider", provider_id=org.id)
    return response


def _cross_checks(session, user, body: dict, errors: dict) -> None:
    status = body.get("registration_status")
    if status == "registered_school" and not body.get("urn") and "urn" not in errors:
        errors["urn"] = "Enter the URN: a registered school has one"
    if status == "registered_fe" and not body.get("ukprn") and "ukprn" not in errors:
        errors["ukprn"] = "Enter the UKPRN: a registered further education provider has one"
    low, high = body.get("age_min"), body.get("age_max")
    if isinstance(low, int) and isinstance(high, int) and high < low and "age_max" not in errors:
        errors["age_max"] = "The oldest age must not be below the youngest age"
    today = clock.now().date()
    for field in ("ofsted_date", "last_safeguarding_check"):
        value = _date(body.get(field)) if field not in errors else None
        if value is not None and value > today:
            errors[field] = "This date must not be in the future"
    for field in ("urn", "ukprn"):
        value = body.get(field)
        if isinstance(value, str) and value and field not in errors:
            column = getattr(Provider, field)
            if session.scalar(select(Provider.id).where(column == value)) is not None:
                errors[field] = f"A provider with this {field.upper()} is already in the directory"
    la_id = body.get("la_id")
    if isinstance(la_id, int) and "la_id" not in errors:
        la = session.get(Organisation, la_id)
        if la is None or la.type != "la":
            errors["la_id"] = "Choose a local authority"
        elif "admin" not in user.roles and user.organisation is not None and user.organisation.id != la_id:
            errors["la_id"] = "You can only add providers to your own local authority's directory"


def _date(value) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None
