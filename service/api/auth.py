"""Who is calling the API: a Bearer token, or (for reads only) the browser's session cookie.

Every failure is a 401 JSON error, never a redirect to the sign-in page.
"""
from __future__ import annotations

from functools import wraps

from flask import g, request
from flask_login import current_user
from sqlalchemy import select

from workflows import clock

from .. import database
from ..errors import NotAllowed, ServiceError
from ..models import ApiToken, User
from ..security import token_hash

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


class Unauthorized(ServiceError):
    status, code = 401, "unauthorized"


def token_user(header: str) -> User | None:
    """The active user owning this `Bearer` token, or None."""
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    session = database.session()
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash(token),
                                                ApiToken.revoked.is_(False)))
    if row is None or not row.user.active:
        return None
    row.last_used_at = clock.now()
    g.api_token = row
    return row.user


def api_user(required: bool = True) -> User | None:
    """The caller. A token, when sent, decides alone (a bad one is refused even with a session);
    a session cookie is accepted for reads, not for changes (the API is not CSRF-protected)."""
    if "api_user" not in g:
        header = request.headers.get("Authorization")
        user = None
        if header is not None:
            user = token_user(header)
            if user is None:
                raise Unauthorized("The API token is missing, wrong or revoked. "
                                   "Send 'Authorization: Bearer <token>'.")
        elif current_user.is_authenticated:
            if request.method not in SAFE_METHODS:
                raise Unauthorized("Changes through the API need an API token: "
                                   "send 'Authorization: Bearer <token>'.")
            user = current_user._get_current_object()
        g.api_user = user
    if g.api_user is None and required:
        raise Unauthorized("Sign in first: send 'Authorization: Bearer <token>' "
                           "(get one from POST /api/v1/tokens).")
    return g.api_user


def authenticated(view):
    """The view runs with the caller passed as `user`; 401 otherwise."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        return view(api_user(), *args, **kwargs)
    return wrapper


def require_roles(user: User, roles: set[str], message: str) -> None:
    if not user.roles & roles:
        raise NotAllowed(message)
