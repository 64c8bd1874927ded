"""Web plumbing shared by the pages and the API: who is signed in, headers, errors, blueprints."""
from __future__ import annotations

import logging

from flask import Flask, abort, g, jsonify, render_template, request
from flask_login import AnonymousUserMixin
from sqlalchemy import select
from werkzeug.routing import IntegerConverter

from workflows import clock

from .. import database
from .. import validation
from ..validation import MAX_ID  # noqa: F401 (the pages import it from here)
from ..errors import ServiceError
from ..extensions import csrf, login_manager
from ..models import ApiToken, User
from ..security import token_hash

# No inline script or style anywhere: every script and stylesheet is a file served by the app.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; "
       "base-uri 'self'; object-src 'none'")
# The model editor only: bpmn-js and dmn-js draw some of their icons from SVG markup that carries
# style attributes. Styles (never scripts) may be inline there, for process owners only.
EDITOR_CSP = CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")

# Endpoints that take process-model bundles, which may be larger than ordinary requests.
UPLOAD_ENDPOINTS = ("process_models.", "api.deploy_model")
# Form posts whose fields are checked one by one (forms_render), with errors on the field.
FIELD_CHECKED_FORMS = {"tasks.submit", "referrals.new"}
log = logging.getLogger(__name__)


class IdConverter(IntegerConverter):
    """`<int:...>` in URLs: 1..MAX_ID, so a huge id is a 404 rather than a database overflow."""

    def __init__(self, map, fixed_digits=0, min=1, max=MAX_ID, signed=False):
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def install_request_limits(app: Flask) -> None:
    """MAX_CONTENT_LENGTH for every request, MAX_UPLOAD_CONTENT_LENGTH for model uploads.

    Call before CSRFProtect is bound: its check reads the form, and so the body, first."""
    @app.before_request
    def _upload_size():
        if (request.endpoint or "").startswith(UPLOAD_ENDPOINTS):
            request.max_content_length = app.config.get("MAX_UPLOAD_CONTENT_LENGTH")

    @app.before_request
    def _control_characters():
        """Every form post: nothing PostgreSQL cannot store. Forms built from a schema report it
        on the field instead (forms_render), so they are left to do that."""
        if request.method == "POST" and request.endpoint not in FIELD_CHECKED_FORMS and request.form:
            if any(validation.has_control_characters(v) for v in request.form.values()):
                abort(400, "What you sent contains characters that cannot be stored (such as NUL). "
                           "Remove them and try again.")


class Anonymous(AnonymousUserMixin):
    roles: set = set()
    organisation = None
    id = None


def register_web(app: Flask) -> None:
    login_manager.login_view = "auth.sign_in"
    login_manager.login_message = "Sign in to continue"
    login_manager.anonymous_user = Anonymous
    login_manager.session_protection = "strong"

    @login_manager.user_loader
    def _load_user(user_id: str):
        user = database.session().get(User, int(user_id)) if user_id.isdigit() else None
        return user if user is not None and user.active else None

    @login_manager.request_loader
    def _load_user_from_token(req):
        header = req.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            return None
        session = database.session()
        token = session.scalar(select(ApiToken).where(
            ApiToken.token_hash == token_hash(header[7:].strip()), ApiToken.revoked.is_(False)))
        if token is None or not token.user.active:
            return None
        token.last_used_at = clock.now()
        g.token_auth = True
        return token.user

    @app.after_request
    def _security_headers(response):
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Permissions-Policy", "geolocation=(), camera=(), microphone=()")
        response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if app.config.get("SESSION_COOKIE_SECURE"):
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if request.endpoint and not request.endpoint.endswith("static") and "directory" not in request.endpoint:
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.errorhandler(ServiceError)
    def _service_error(error: ServiceError):
        if wants_json():
            return json_error(error.status, error.code, error.message, error.details)
        return render_template("error.html", title=_TITLES.get(error.status, "There is a problem"),
                               message=error.message, details=error.details), error.status

    for status in (400, 401, 403, 404, 405, 409, 413, 422, 429, 500):
        app.register_error_handler(status, _http_error)

    from . import blueprints
    for blueprint in blueprints.ALL:
        app.register_blueprint(blueprint)
        if blueprint.name == "api":
            csrf.exempt(blueprint)


_TITLES = {400: "There is a problem with the request", 401: "Sign in to continue", 403: "You cannot do this",
           404: "Page not found", 405: "There is a problem with the request",
           409: "Someone else changed this", 413: "What you sent is too large", 422: "There is a problem",
           429: "Too many attempts", 500: "Sorry, there is a problem with the service"}


def wants_json() -> bool:
    return request.path.startswith("/api/")


def json_error(status: int, code: str, message: str, details: dict | None = None):
    response = jsonify({"error": {"code": code, "message": message, "details": details or {}}})
    response.status_code = status
    return response


# Messages that replace the library's own wording (e.g. the limiter's "10 per 1 minute").
_MESSAGES = {413: "Send a smaller file or shorter answers, then try again.",
             429: "There have been too many attempts. Wait a minute, then try again.",
             500: None}
_BARE_500 = ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sorry, there is a problem "
             "with the service</title></head><body><h1>Sorry, there is a problem with the service</h1>"
             "<p>Try again later.</p></body></html>")


def _http_error(error):
    status = getattr(error, "code", 500) or 500
    if status == 500:
        _fresh_session_for_error_page()
    description = _MESSAGES[status] if status in _MESSAGES else getattr(error, "description", None)
    if wants_json():
        codes = {401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
                 409: "conflict", 413: "too_large", 422: "invalid", 429: "rate_limited", 500: "server_error"}
        return json_error(status, codes.get(status, "bad_request"), description or _TITLES.get(status, "Error"))
    params = {"title": _TITLES.get(status, "There is a problem"), "message": description, "details": {},
              "status": status}
    try:
        return render_template("error.html", **params), status
    except Exception:
        log.exception("The error page failed; trying again signed out")
    try:
        g._login_user = Anonymous()
        return render_template("error.html", **params), status
    except Exception:
        log.exception("The error page failed again; sending a plain page")
        return _BARE_500, status, {"Content-Type": "text/html; charset=utf-8"}


def _fresh_session_for_error_page() -> None:
    """Discard the failed request's session and give the signed-in user a fresh one, so the
    error page's navigation can still read them; signed out if even that fails."""
    broken = g.pop("db_session", None)
    if broken is not None:
        try:
            broken.rollback()
            broken.close()
        except Exception:
            log.exception("Could not close the failed request's database session")
    user = g.get("_login_user")
    if not isinstance(user, User):
        return
    try:
        g._login_user = database.session().merge(user, load=True)
    except Exception:
        log.exception("Could not reload the signed-in user for the error page")
        g._login_user = Anonymous()
