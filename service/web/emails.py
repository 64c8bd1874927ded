"""The email outbox, so emails can be read when SMTP is off: administrators see every email, a
local authority officer those sent to people in their local authority."""
from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user
from sqlalchemy import func, or_, select

from .. import database
from ..models import Organisation, OutboxEmail, User
from .common import PAGE_SIZE, page_number, pagination, roles_required

bp = Blueprint("emails", __name__)


@bp.route("/emails")
@roles_required("admin", "la_officer")
def index():
    db = database.session()
    page = page_number()
    stmt = select(OutboxEmail)
    if "admin" not in current_user.roles:
        la_id = current_user.organisation_id
        recipients = (select(func.lower(User.email)).join(Organisation, User.organisation_id == Organisation.id)
                      .where(or_(Organisation.id == la_id, Organisation.la_id == la_id)))
        stmt = stmt.where(func.lower(OutboxEmail.to_address).in_(recipients))
    total = db.scalar(select(func.count()).select_from(stmt.subquery()))
    emails = list(db.scalars(stmt.order_by(OutboxEmail.created_at.desc(), OutboxEmail.id.desc())
                             .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)))
    return render_template("emails/index.html", title="Emails", emails=emails, total=total,
                           pagination=pagination(page, total, "emails.index"))
