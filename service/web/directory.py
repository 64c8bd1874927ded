"""The provider directory: public, no sign-in. Only providers whose staff attended the LA's
training are listed."""
from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from sqlalchemy import func, select

from .. import database
from ..models import Organisation, Provider
from .common import REGISTRATION_NAMES

bp = Blueprint("directory", __name__)


def _listed(db):
    return list(db.scalars(select(Provider).join(Organisation, Organisation.id == Provider.id)
                           .where(Provider.la_training_attended.is_(True)).order_by(Organisation.name)))


@bp.route("/directory")
def index():
    db = database.session()
    q = (request.args.get("q") or "").strip()[:100]
    service = request.args.get("service") or ""
    status = request.args.get("status") or ""
    age_text = (request.args.get("age") or "").strip()
    errors = {}
    age = None
    if age_text:
        try:
            age = int(age_text)
            if not 2 <= age <= 25:
                raise ValueError
        except ValueError:
            errors["age"] = "Enter an age between 2 and 25, like 14"
    providers = _listed(db)
    services = sorted({s for p in providers for s in (p.services or []) if isinstance(s, str)})
    shown = [p for p in providers
             if (not q or q.lower() in p.name.lower())
             and (not service or service in (p.services or []))
             and (not status or p.registration_status == status)
             and (age is None or ((p.age_min is None or p.age_min <= age) and (p.age_max is None or age <= p.age_max)))]
    return render_template("directory/index.html", title="Find an alternative provision provider",
                           providers=shown, total=len(providers), services=services,
                           statuses=REGISTRATION_NAMES, q=q, service=service, status=status, age=age_text,
                           errors=errors), 400 if errors else 200


@bp.route("/directory/<int:provider_id>")
def provider(provider_id):
    db = database.session()
    entry = db.get(Provider, provider_id)
    if entry is None or not entry.listed:
        abort(404)
    return render_template("directory/provider.html", title=entry.name, provider=entry)
