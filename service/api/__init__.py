"""The JSON API under /api/v1 (see shared CONTRACT.md): one module per resource.

Errors are always `{"error": {"code", "message", "details"}}`; the app's handlers render
ServiceError and HTTP errors as JSON for every /api/ path.
"""
from __future__ import annotations

from flask import Blueprint, g

from .. import database
from ..extensions import login_manager
from ..web import json_error
from .auth import Unauthorized

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.record_once
def _no_sign_in_redirect(_state):
    # Flask-Login's login_required must answer 401 for the API, never redirect to the sign-in page.
    login_manager.blueprint_login_views["api"] = None


@bp.after_request
def _remember_token_use(response):
    # a token's last_used_at is set when it authenticates; keep it even on read-only requests
    if "api_token" in g and response.status_code < 400:
        database.session().commit()
    return response


@bp.errorhandler(Unauthorized)
def _unauthorized(error: Unauthorized):
    response = json_error(error.status, error.code, error.message, error.details)
    response.headers["WWW-Authenticate"] = 'Bearer realm="placements"'
    return response


from . import tokens, me, providers, cases, tasks, attendance, process_models, openapi  # noqa: E402,F401
