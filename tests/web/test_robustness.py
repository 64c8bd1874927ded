"""Hostile or careless input never gives a 500: huge ids and pages, impossible dates, control
characters, oversized bodies, and the error pages themselves (500, 413, 429)."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from service.models import ApiToken, Case, TaskRecord
from service.security import new_token
from workflows import clock

from ..service.factories import PASSWORD
from .conftest import email_of, start_case
from .test_referrals import FORM
from .test_tasks import GOOD

HUGE = "9999999999999999999999999"
TOO_BIG_FOR_POSTGRES = str(2**31)  # PostgreSQL INTEGER is 32-bit
TOO_BIG_FOR_SQLITE = "9223372036854775808"


def _token(sessions, user_id) -> dict:
    token, digest = new_token()
    with sessions() as session:
        session.add(ApiToken(user_id=user_id, token_hash=digest, created_at=clock.now()))
        session.commit()
    return {"Authorization": f"Bearer {token}"}


def _open_task(sessions, case_id, element_id="assess"):
    with sessions() as session:
        return session.scalar(select(TaskRecord).where(
            TaskRecord.case_id == case_id, TaskRecord.element_id == element_id, TaskRecord.state == "open"))


def _lock(sessions, case_id):
    with sessions() as session:
        return session.get(Case, case_id).lock_version


def _is_govuk_page(body: str) -> bool:
    return "govuk-template" in body and "govuk-header" in body and "Traceback" not in body


# ------------------------------------------------------------------ 1. huge ids and page numbers

@pytest.mark.parametrize("number", [HUGE, TOO_BIG_FOR_SQLITE, TOO_BIG_FOR_POSTGRES])
def test_huge_ids_in_paths_are_404(app, w, sessions, sign_in, number):
    start_case(sessions, w)
    lead, la = sign_in(w["lead"]), sign_in(w["la_officer"])
    for client, path in ((lead, f"/cases/{number}"), (lead, f"/cases/{number}/attendance"),
                         (lead, f"/cases/{number}/export.json"), (lead, f"/directory/{number}"),
                         (la, f"/manage/providers/{number}/edit")):
        response = client.get(path)
        assert response.status_code == 404, path
        assert _is_govuk_page(response.get_data(as_text=True)), path
    headers = _token(sessions, w["lead"])
    for path in (f"/api/v1/cases/{number}", f"/api/v1/providers/{number}"):
        response = app.test_client().get(path, headers=headers)
        assert response.status_code == 404, path
        assert response.json["error"]["code"] == "not_found"


def test_huge_page_numbers_and_filters_on_pages(app, w, sessions, sign_in):
    start_case(sessions, w)
    client = sign_in(w["lead"])
    for path in (f"/inbox?page={HUGE}", f"/cases?page={HUGE}", f"/notifications?page={HUGE}",
                 f"/cases?page={TOO_BIG_FOR_SQLITE}"):
        assert client.get(path).status_code == 200, path
    for number in (HUGE, TOO_BIG_FOR_POSTGRES, "²", "9" * 5000):
        page = client.get(f"/register?provider={number}")
        assert page.status_code == 200, number
        csv = client.get(f"/register.csv?provider={number}")
        assert csv.status_code == 200, number
    # an id that cannot exist matches nothing (it is not ignored)
    assert "Sam Taylor" in client.get("/register").get_data(as_text=True)
    assert "Sam Taylor" not in client.get(f"/register?provider={HUGE}").get_data(as_text=True)
    assert "Sam Taylor" not in client.get(f"/register.csv?school={HUGE}").get_data(as_text=True)


def test_huge_query_numbers_in_the_api_are_422_naming_the_field(app, w, sessions):
    client, headers = app.test_client(), _token(sessions, w["lead"])
    for name in ("school_id", "provider_id", "page", "per_page"):
        for number in (HUGE, TOO_BIG_FOR_POSTGRES):
            response = client.get(f"/api/v1/cases?{name}={number}", headers=headers)
            assert response.status_code == 422, (name, number)
            assert name in response.json["error"]["details"]
    assert client.get(f"/api/v1/cases?school_id={w['school']}", headers=headers).status_code == 200


# ------------------------------------------------------------------ 2. attendance week start

@pytest.mark.parametrize("start", ["0001-01-01", "0001-01-07", "9999-12-31", "1999-12-31", "2101-01-01"])
def test_out_of_range_week_start_shows_the_current_week(app, w, sessions, sign_in, start):
    case_id = start_case(sessions, w)
    client = sign_in(w["provider_staff"])
    current = client.get(f"/cases/{case_id}/attendance/week").get_data(as_text=True)
    response = client.get(f"/cases/{case_id}/attendance/week?start={start}")
    assert response.status_code == 200
    title = current.split("<title>")[1].split("</title>")[0]
    assert f"<title>{title}</title>" in response.get_data(as_text=True)


# ------------------------------------------------------------------ 3. impossible dates

@pytest.mark.parametrize("year", ["999999999999999999999999999999", "99999", "999", "9" * 5000])
def test_referral_with_an_impossible_year_is_a_field_error(app, w, sessions, sign_in, year):
    client = sign_in(w["lead"])
    response = client.post("/referrals/new", data=dict(FORM, provider_id=str(w["provider"]),
                                                       **{"proposed_start-year": year}))
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "must be a real date" in body and "govuk-error-summary" in body
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == 0


def test_a_huge_number_is_a_field_error(app, w, sessions, sign_in):
    case_id = start_case(sessions, w)
    task = _open_task(sessions, case_id)
    for text in ("1e999", "9" * 400, "nan", "inf"):
        response = sign_in(w["lead"]).post(f"/tasks/{task.id}", data=dict(
            GOOD, hours=text, lock_version=_lock(sessions, case_id)))
        assert response.status_code == 422, text
        assert "Hours a week must be a number" in response.get_data(as_text=True)


# ------------------------------------------------------------------ 4. the 500 page

def test_500_page_is_styled_for_a_signed_in_user(app, w, sign_in):
    app.config["PROPAGATE_EXCEPTIONS"] = False

    def broken():
        from flask_login import current_user
        current_user.organisation  # loaded into the request's session, as real views do
        raise RuntimeError("secret internals")

    app.add_url_rule("/test-broken", "test_broken", broken)
    app.add_url_rule("/api/v1/test-broken", "api_test_broken", broken)
    client = sign_in(w["lead"])
    response = client.get("/test-broken")
    body = response.get_data(as_text=True)
    assert response.status_code == 500
    assert _is_govuk_page(body)
    assert "Sorry, there is a problem with the service" in body
    assert "Sign out" in body  # still shown as signed in
    assert "secret internals" not in body and "RuntimeError" not in body
    api = client.get("/api/v1/test-broken")
    assert api.status_code == 500 and api.json["error"]["code"] == "server_error"
    assert client.get("/cases").status_code == 200  # the next request is fine


def test_500_page_falls_back_when_the_user_cannot_be_reloaded(app, w, sign_in, monkeypatch):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    app.add_url_rule("/test-broken", "test_broken", lambda: 1 / 0)
    client = sign_in(w["lead"])
    from service import database

    def no_database():
        raise RuntimeError("database is down")

    monkeypatch.setattr(database, "session", no_database)
    response = client.get("/test-broken")
    body = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Sorry, there is a problem with the service" in body and "Traceback" not in body
    assert "database is down" not in body


# ------------------------------------------------------------------ 5. request size

def test_oversized_requests_are_413_pages(make_app, w, sessions, sign_in):
    app = make_app(DEFAULT_PROCESS_MODEL="webmini", MAX_CONTENT_LENGTH=1024 * 1024,
                   MAX_UPLOAD_CONTENT_LENGTH=4 * 1024 * 1024)
    case_id = start_case(sessions, w)
    task = _open_task(sessions, case_id)
    client = sign_in(w["lead"], app.test_client())
    big = "x" * (2 * 1024 * 1024)
    response = client.post(f"/tasks/{task.id}", data=dict(GOOD, details=big, lock_version=_lock(sessions, case_id)))
    body = response.get_data(as_text=True)
    assert response.status_code == 413
    assert _is_govuk_page(body) and "What you sent is too large" in body
    api = app.test_client().post("/api/v1/cases", json={"x": big}, headers=_token(sessions, w["lead"]))
    assert api.status_code == 413 and api.json["error"]["code"] == "too_large"
    # process models may be larger: this one passes the size check (and is then not a valid bundle)
    owner = sign_in(w["owner"], app.test_client())
    upload = owner.post("/models/validate", json={"files": {"bundle.json": big}})
    assert upload.status_code != 413
    assert owner.post("/models/validate", json={"files": {"a": "x" * (5 * 1024 * 1024)}}).status_code == 413


def test_default_size_limit_is_checked_before_csrf(make_app, w):
    app = make_app(DEFAULT_PROCESS_MODEL="webmini", WTF_CSRF_ENABLED=True)
    assert app.config["MAX_CONTENT_LENGTH"] == 5 * 1024 * 1024
    big = "x" * (6 * 1024 * 1024)
    assert app.test_client().post("/sign-in", data={"email": big}).status_code == 413
    # a model upload of the same size is read (and refused for its missing CSRF token)
    assert app.test_client().post("/models/upload", data={"note": big}).status_code == 400


def test_long_answers_without_a_max_length_are_field_errors(app, w, sessions, sign_in):
    case_id = start_case(sessions, w)
    task = _open_task(sessions, case_id)
    client = sign_in(w["lead"])
    response = client.post(f"/tasks/{task.id}", data=dict(
        GOOD, summary="s" * 501, details="d" * 10_001, lock_version=_lock(sessions, case_id)))
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Summary of needs must be 500 characters or fewer" in body
    assert "Further details must be 10,000 characters or fewer" in body
    ok = client.post(f"/tasks/{task.id}", data=dict(
        GOOD, summary="s" * 500, details="d" * 10_000, lock_version=_lock(sessions, case_id)))
    assert ok.status_code == 302, ok.get_data(as_text=True)


# ------------------------------------------------------------------ 6. control characters

def test_control_characters_in_forms_are_field_errors(app, w, sessions, sign_in):
    client = sign_in(w["lead"])
    response = client.post("/referrals/new", data=dict(FORM, provider_id=str(w["provider"]),
                                                       **{"pupil.first_name": "Te\u0000st"}))
    assert response.status_code == 422
    assert "must not contain control characters" in response.get_data(as_text=True)
    case_id = start_case(sessions, w)
    task = _open_task(sessions, case_id)
    response = client.post(f"/tasks/{task.id}", data=dict(
        GOOD, details="line one\r\n\tline two\x1b", lock_version=_lock(sessions, case_id)))
    assert response.status_code == 422
    assert "Further details must not contain control characters" in response.get_data(as_text=True)
    ok = client.post(f"/tasks/{task.id}", data=dict(
        GOOD, details="line one\r\n\tline two", lock_version=_lock(sessions, case_id)))
    assert ok.status_code == 302  # tabs and new lines are fine


def test_control_characters_in_json_are_422_naming_the_key(app, w, sessions):
    client, headers = app.test_client(), _token(sessions, w["lead"])
    for body, key in (({"pupil": {"first_name": "Te\u0000st"}}, "pupil"), ({"note": ["a", "\u0007"]}, "note"),
                      ({"a\u0000": 1}, "_")):
        response = client.post("/api/v1/cases", json=body, headers=headers)
        assert response.status_code == 422, body
        assert key in response.json["error"]["details"]
    for raw in ('{"x": NaN}', '{"x": Infinity}', "[" * 100_000):
        response = client.post("/api/v1/cases", data=raw, headers=dict(headers, **{"Content-Type": "application/json"}))
        assert response.status_code == 422, raw[:20]
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == 0


# ------------------------------------------------------------------ 7. sign-in rate limits

def test_sign_in_limit_is_per_address_and_email(make_app, w, sessions):
    app = make_app(DEFAULT_PROCESS_MODEL="webmini", RATELIMIT_ENABLED=True)
    client = app.test_client()
    for n in range(20):  # many people at one school's shared address
        assert client.post("/sign-in", data={"email": f"person{n}@example.org", "password": "no"}).status_code == 400
    codes = [client.post("/sign-in", data={"email": "target@example.org", "password": "guess"}).status_code
             for _ in range(11)]
    assert codes == [400] * 10 + [429]
    response = client.post("/sign-in", data={"email": " Target@Example.org ", "password": "guess"})
    body = response.get_data(as_text=True)
    assert response.status_code == 429
    assert _is_govuk_page(body) and "Too many attempts" in body and "Wait a minute, then try again" in body
    assert "per 1 minute" not in body and "per minute" not in body
    email = email_of(sessions, w["lead"])
    assert app.test_client().post("/sign-in", data={"email": email, "password": PASSWORD}).status_code == 302


def test_sign_in_keeps_a_looser_limit_per_address(make_app, w):
    app = make_app(DEFAULT_PROCESS_MODEL="webmini", RATELIMIT_ENABLED=True)
    assert app.config["LOGIN_RATE_LIMIT"] == "60 per minute"
    client = app.test_client()
    codes = [client.post("/sign-in", data={"email": f"p{n}@example.org", "password": "no"}).status_code
             for n in range(61)]
    assert codes == [400] * 60 + [429]


def test_token_limit_is_per_address_and_email(make_app, w):
    app = make_app(DEFAULT_PROCESS_MODEL="webmini", RATELIMIT_ENABLED=True)
    client = app.test_client()
    for n in range(15):
        assert client.post("/api/v1/tokens", json={"email": f"p{n}@example.org", "password": "x"}).status_code == 401
    codes = [client.post("/api/v1/tokens", json={"email": "t@example.org", "password": "x"}).status_code
             for _ in range(11)]
    assert codes == [401] * 10 + [429]
    response = client.post("/api/v1/tokens", json={"email": "t@example.org", "password": "x"})
    assert response.json["error"]["code"] == "rate_limited"
    assert "Wait a minute" in response.json["error"]["message"]


def test_huge_version_and_assignee_ids_are_not_server_errors(app, w, sessions, sign_in):
    huge = "9" * 25
    owner = sign_in(w["owner"])
    assert owner.get(f"/models/compare?a={huge}&b={huge}").status_code == 404
    assert owner.get(f"/models/compare.json?a={huge}&b=1").status_code == 404
