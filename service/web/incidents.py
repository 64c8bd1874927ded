"""Timer incidents: cases whose timers kept failing and were parked. Administrators see them
and put a case back in the scheduler's queue ("Retry")."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user

from .. import database
from ..errors import NotFound
from ..timers import MAX_ATTEMPTS, list_incidents, retry_incident
from .common import roles_required

bp = Blueprint("incidents", __name__)


@bp.route("/incidents")
@roles_required("admin")
def index():
    db = database.session()
    incidents = list_incidents(db)
    resolved = [i for i in list_incidents(db, include_resolved=True, limit=50) if i.resolved_at is not None]
    return render_template("incidents/index.html", title="Timer incidents", incidents=incidents,
                           resolved=resolved[:20], max_attempts=MAX_ATTEMPTS)


@bp.route("/incidents/<int:case_id>/retry", methods=["POST"])
@roles_required("admin")
def retry(case_id: int):
    db = database.session()
    try:
        case = retry_incident(db, case_id, current_user)
    except NotFound:
        abort(404)
    db.commit()  # the commit hook wakes the scheduler now
    current_app.logger.info("timer incident on case %s retried by user %s", case_id, current_user.id)
    flash(f"Case {case.reference} will be retried now", "success")
    return redirect(url_for("incidents.index"))
