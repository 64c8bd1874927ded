"""Signing in and out with Flask-Login; sign-in attempts are rate limited per address."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user
from sqlalchemy import func, select

from .. import audit, database
from ..extensions import address_and_email, limiter, sign_in_account_limit, sign_in_address_limit
from ..models import User
from ..security import verify_password

bp = Blueprint("auth", __name__)

GENERIC_ERROR = "Enter a correct email address and password"


def safe_next(target: str | None) -> str | None:
    """Only a path on this site: no scheme, no host, no protocol-relative or backslash tricks."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


@bp.route("/sign-in", methods=["GET", "POST"])
@limiter.limit(sign_in_address_limit, methods=["POST"])
@limiter.limit(sign_in_account_limit, key_func=address_and_email, methods=["POST"])
def sign_in():
    next_url = safe_next(request.values.get("next"))
    if current_user.is_authenticated and request.method == "GET":
        return redirect(next_url or url_for("home.start"))
    errors = {}
    email = ""
    if request.method == "POST":
        email = (request.form.get("email") or "").strip()
        password = request.form.get("password") or ""
        if not email:
            errors["email"] = "Enter your email address"
        if not password:
            errors["password"] = "Enter your password"
        if not errors:
            session = database.session()
            user = session.scalar(select(User).where(func.lower(User.email) == email.lower()))
            if verify_password(user.password_hash if user else None, password) and user.active:
                login_user(user)
                audit.record(session, "signed_in", actor_id=user.id)
                session.commit()
                return redirect(next_url or url_for("home.start"))
            errors["email"] = GENERIC_ERROR
        status = 400
    else:
        status = 200
    return render_template("auth/sign_in.html", title="Sign in", errors=errors, email=email,
                           next_url=next_url), status


@bp.route("/sign-out")
def sign_out():
    if current_user.is_authenticated:
        session = database.session()
        audit.record(session, "signed_out", actor_id=current_user.id)
        session.commit()
    logout_user()
    flash("You have signed out", "success")
    return redirect(url_for("auth.sign_in"))
