"""GET /me: the caller."""
from __future__ import annotations

from flask import jsonify

from . import bp, serializers
from .auth import authenticated


@bp.get("/me")
@authenticated
def me(user):
    return jsonify(serializers.me(user))
