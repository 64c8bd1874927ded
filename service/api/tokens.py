"""POST /tokens: swap an email and password for an API token (shown once, stored hashed)."""
from __future__ import annotations

from flask import jsonify
from sqlalchemy import func, select

from workflows import clock

from .. import audit, database
from ..errors import InvalidInput
from ..extensions import address_and_email, limiter, sign_in_account_limit, sign_in_address_limit
from ..models import ApiToken, User
from ..security import new_token, verify_password
from . import bp, serializers
from .auth import Unauthorized
from .inputs import json_body


@bp.post("/tokens")
@limiter.limit(sign_in_address_limit)
@limiter.limit(sign_in_account_limit, key_func=address_and_email)
def create_token():
    body = json_body()
    errors = {field: "Enter your " + field for field in ("email", "password")
              if not isinstance(body.get(field), str) or not body.get(field)}
    if errors:
        raise InvalidInput("Enter an email address and a password", errors)
    session = database.session()
    user = session.scalar(select(User).where(func.lower(User.email) == body["email"].strip().lower()))
    # verify even when the email is unknown, so the answer time does not reveal accounts
    if not verify_password(user.password_hash if user else None, body["password"]) or not user.active:
        raise Unauthorized("The email address or password is not right")
    token, digest = new_token()
    session.add(ApiToken(user_id=user.id, token_hash=digest, created_at=clock.now()))
    audit.record(session, "api_token_created", actor_id=user.id)
    session.commit()
    response = jsonify({"token": token, "token_type": "Bearer", "user": serializers.me(user)})
    response.status_code = 201
    return response
