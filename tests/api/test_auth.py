"""Tokens, /me, and how the API refuses missing or bad credentials (JSON 401, never a redirect)."""
from __future__ import annotations

from flask_login.utils import _create_identifier
from sqlalchemy import select

from service.models import ApiToken
from service.security import token_hash
from tests.service.factories import PASSWORD


def _email(sessions, user_id):
    from service.models import User
    with sessions() as session:
        return session.get(User, user_id).email


def test_token_for_good_credentials_is_stored_hashed_and_works(api, sessions, w):
    email = _email(sessions, w["lead"])
    response = api.post("/tokens", json={"email": email.upper(), "password": PASSWORD})
    assert response.status_code == 201
    token = response.json["token"]
    assert response.json["token_type"] == "Bearer" and response.json["user"]["id"] == w["lead"]
    with sessions() as session:
        stored = session.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash(token)))
        assert stored is not None and stored.user_id == w["lead"]
        assert token not in {t.token_hash for t in session.scalars(select(ApiToken))}
    me = api.client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json["email"] == email


def test_token_refused_for_bad_password_or_unknown_email(api, sessions, w):
    email = _email(sessions, w["lead"])
    for creds in ({"email": email, "password": "wrong"}, {"email": "nobody@example.org", "password": PASSWORD}):
        response = api.post("/tokens", json=creds)
        assert response.status_code == 401
        assert response.json["error"]["code"] == "unauthorized"


def test_token_request_with_missing_fields_is_422(api):
    response = api.post("/tokens", json={"email": "a@example.org"})
    assert response.status_code == 422
    assert set(response.json["error"]["details"]) == {"password"}


def test_token_requests_are_rate_limited(make_app, w):
    app = make_app(DEFAULT_PROCESS_MODEL="mini", RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="3 per minute")
    client = app.test_client()
    codes = [client.post("/api/v1/tokens", json={"email": "x@example.org", "password": "nope"}).status_code
             for _ in range(5)]
    assert codes[:3] == [401, 401, 401] and codes[-1] == 429
    last = client.post("/api/v1/tokens", json={"email": "x@example.org", "password": "nope"})
    assert last.json["error"]["code"] == "rate_limited"


def test_me(api, w):
    response = api.get("/me", as_="lead")
    assert response.status_code == 200
    me = response.json
    assert me["id"] == w["lead"] and me["roles"] == ["school_ap_lead"]
    assert me["organisation"] == {"id": w["school"], "name": "Oak Academy", "type": "school", "la_id": w["la"]}


def test_missing_bad_or_revoked_token_is_json_401(api, sessions, w):
    assert api.get("/me").status_code == 401
    for header in ("Bearer nope", "Basic abc", "Bearer "):
        response = api.get("/me", headers={"Authorization": header})
        assert response.status_code == 401 and response.is_json
        assert response.json["error"]["code"] == "unauthorized"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    with sessions() as session:
        for token in session.scalars(select(ApiToken).where(ApiToken.user_id == w["lead"])):
            token.revoked = True
        session.commit()
    assert api.get("/me", as_="lead").status_code == 401


def test_no_redirect_to_sign_in_for_any_protected_endpoint(api, case):
    for method, path in [("get", "/me"), ("get", "/cases"), ("get", f"/cases/{case['id']}"), ("get", "/tasks"),
                         ("post", "/cases"), ("post", "/providers"), ("get", "/process-models"),
                         ("post", "/process-models"), ("post", f"/cases/{case['id']}/attendance"),
                         ("get", f"/cases/{case['id']}/events"), ("post", "/tasks/x/complete")]:
        response = getattr(api.client, method)("/api/v1" + path)
        assert response.status_code == 401, (method, path)
        assert response.is_json and "error" in response.json


def _sign_in_with_cookie(app, client, user_id):
    # the identifier Flask-Login's "strong" session protection expects from the test client
    with app.test_request_context(environ_base=client.environ_base):
        ident = _create_identifier()
    with client.session_transaction() as s:
        s["_user_id"] = str(user_id)
        s["_fresh"] = True
        s["_id"] = ident


def test_session_cookie_works_for_reads_but_not_for_changes(app, api, w, body):
    _sign_in_with_cookie(app, api.client, w["lead"])
    assert api.get("/me").json["id"] == w["lead"]
    response = api.post("/cases", json=body())
    assert response.status_code == 401
    assert "token" in response.json["error"]["message"]


def test_a_bad_token_is_refused_even_with_a_session(app, api, w):
    _sign_in_with_cookie(app, api.client, w["lead"])
    assert api.get("/me", headers={"Authorization": "Bearer wrong"}).status_code == 401


def test_flask_login_unauthorized_is_401_not_a_redirect_for_the_api(app):
    import pytest
    from werkzeug.exceptions import Unauthorized as HttpUnauthorized

    from service.extensions import login_manager
    with app.test_request_context("/api/v1/me"):
        from flask import request
        assert request.blueprint == "api"
        with pytest.raises(HttpUnauthorized):
            login_manager.unauthorized()


def test_token_use_is_remembered(api, sessions, w):
    assert api.get("/me", as_="lead").status_code == 200
    with sessions() as session:
        token = session.scalar(select(ApiToken).where(ApiToken.user_id == w["lead"]))
        assert token.last_used_at is not None
