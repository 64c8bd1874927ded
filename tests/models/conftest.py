"""Fixtures of the models tests: a signed-in client without depending on the sign-in pages."""
from __future__ import annotations

import pytest
from flask_login import login_user

from service import database
from service.models import User


def add_test_login(app):
    """GET /_test/login/<id> signs that user in (tests only; added before the first request)."""
    @app.get("/_test/login/<int:user_id>")
    def _test_login(user_id):
        login_user(database.session().get(User, user_id))
        return "ok"


@pytest.fixture
def login(app):
    add_test_login(app)

    def sign_in(user_id):
        client = app.test_client()
        assert client.get(f"/_test/login/{user_id}").status_code == 200
        return client
    return sign_in
