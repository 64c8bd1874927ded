"""Signing in and out, safe redirects, rate limiting and CSRF."""
from __future__ import annotations

from sqlalchemy import select

from service.models import AuditEvent

from ..service.factories import PASSWORD
from .conftest import email_of


def test_sign_in_page_and_pages_need_sign_in(app, w):
    client = app.test_client()
    page = client.get("/sign-in")
    assert page.status_code == 200 and "Sign in to Placements" in page.get_data(as_text=True)
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    for url in ("/inbox", "/cases", "/referrals/new", "/notifications"):
        response = client.get(url)
        assert response.status_code == 302 and "/sign-in" in response.headers["Location"]


def test_sign_in_and_out(app, w, sessions):
    client = app.test_client()
    response = client.post("/sign-in", data={"email": email_of(sessions, w["lead"]).upper(), "password": PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert client.get("/").headers["Location"].endswith("/inbox")
    inbox = client.get("/inbox").get_data(as_text=True)
    assert "Sign out" in inbox and "Start a referral" in inbox
    assert client.get("/sign-out").status_code == 302
    assert client.get("/inbox").status_code == 302
    with sessions() as session:
        types = set(session.scalars(select(AuditEvent.type).where(AuditEvent.actor_id == w["lead"])))
    assert {"signed_in", "signed_out"} <= types


def test_wrong_password_gives_generic_error(app, w, sessions):
    client = app.test_client()
    for email in (email_of(sessions, w["lead"]), "nobody@example.org"):
        response = client.post("/sign-in", data={"email": email, "password": "wrong"})
        body = response.get_data(as_text=True)
        assert response.status_code == 400
        assert "Enter a correct email address and password" in body and "govuk-error-summary" in body


def test_next_redirect_is_kept_on_site(app, w, sessions):
    email = email_of(sessions, w["lead"])
    client = app.test_client()
    response = client.post("/sign-in", data={"email": email, "password": PASSWORD, "next": "/cases"})
    assert response.headers["Location"] == "/cases"
    for evil in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        client = app.test_client()
        response = client.post("/sign-in", data={"email": email, "password": PASSWORD, "next": evil})
        assert response.headers["Location"] == "/"


def test_login_is_rate_limited(make_app, w):
    app = make_app(DEFAULT_PROCESS_MODEL="webmini", RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="3 per minute")
    client = app.test_client()
    codes = [client.post("/sign-in", data={"email": "x@example.org", "password": "no"}).status_code
             for _ in range(4)]
    assert codes == [400, 400, 400, 429]
    assert "Too many attempts" in client.post("/sign-in", data={"email": "x", "password": "y"}).get_data(as_text=True)


def test_csrf_is_enforced(make_app, w, sessions):
    app = make_app(DEFAULT_PROCESS_MODEL="webmini", WTF_CSRF_ENABLED=True)
    client = app.test_client()
    email = email_of(sessions, w["lead"])
    refused = client.post("/sign-in", data={"email": email, "password": PASSWORD})
    assert refused.status_code == 400
    page = client.get("/sign-in").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    accepted = client.post("/sign-in", data={"email": email, "password": PASSWORD, "csrf_token": token})
    assert accepted.status_code == 302
