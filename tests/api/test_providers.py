"""The provider directory: public reads, LA/admin-only additions validated per field."""
from __future__ import annotations

import pytest

NEW = {"name": "Riverside Learning", "registration_status": "registered_school", "urn": "123456",
       "address": "1 River Lane", "services": ["Maths", "English"], "age_min": 11, "age_max": 16,
       "capacity": 20, "contact_email": "office@riverside.example"}


def test_directory_is_public_and_lists_only_listed_providers(api, sessions, w):
    from service.models import Provider
    with sessions() as session:
        session.get(Provider, w["other_provider"]).la_training_attended = False
        session.commit()
    response = api.get("/providers")
    assert response.status_code == 200
    assert [p["id"] for p in response.json] == [w["provider"]]
    assert response.json[0]["name"] == "Bridge Learning Centre"
    # an LA officer keeps the directory, so sees unlisted entries too
    assert {p["id"] for p in api.get("/providers", as_="la_officer").json} == {w["provider"], w["other_provider"]}


def test_one_provider_public_and_404(api, w):
    response = api.get(f"/providers/{w['provider']}")
    assert response.status_code == 200 and response.json["registration_status"] == "registered_school"
    missing = api.get("/providers/99999")
    assert missing.status_code == 404 and missing.json["error"]["code"] == "not_found"
    assert api.get(f"/providers/{w['school']}").status_code == 404  # a school is not a provider


@pytest.mark.parametrize("who", ["la_officer", "admin"])
def test_la_officer_or_admin_adds_a_provider(api, w, who):
    response = api.post("/providers", json=NEW, as_=who)
    assert response.status_code == 201, response.json
    created = response.json
    assert created["name"] == "Riverside Learning" and created["listed"] is True and created["urn"] == "123456"
    assert response.headers["Location"].endswith(f"/api/v1/providers/{created['id']}")
    if who == "la_officer":
        assert created["la_id"] == w["la"]
    assert created["id"] in {p["id"] for p in api.get("/providers").json}


@pytest.mark.parametrize("who", ["lead", "provider_staff", "parent", "owner"])
def test_others_cannot_add_providers(api, who):
    response = api.post("/providers", json=NEW, as_=who)
    assert response.status_code == 403 and response.json["error"]["code"] == "forbidden"


def test_provider_needs_auth_to_add(api):
    assert api.post("/providers", json=NEW).status_code == 401


@pytest.mark.parametrize("change, field", [
    ({"name": ""}, "name"),
    ({"registration_status": "maybe"}, "registration_status"),
    ({"urn": "12AB"}, "urn"),
    ({"urn": None}, "urn"),  # a registered school has a URN
    ({"age_min": 16, "age_max": 11}, "age_max"),
    ({"capacity": "lots"}, "capacity"),
    ({"ofsted_date": "2024-02-30"}, "ofsted_date"),
    ({"last_safeguarding_check": "2999-01-01"}, "last_safeguarding_check"),
    ({"colour": "blue"}, "colour"),
    ({"la_id": 99999}, "la_id"),
])
def test_invalid_provider_fields_are_422_per_field(api, change, field):
    response = api.post("/providers", json={**NEW, **change}, as_="la_officer")
    assert response.status_code == 422
    assert field in response.json["error"]["details"], response.json


def test_missing_required_and_duplicate_urn(api):
    response = api.post("/providers", json={"address": "x"}, as_="la_officer")
    assert response.status_code == 422
    assert {"name", "registration_status"} <= set(response.json["error"]["details"])
    assert api.post("/providers", json=NEW, as_="la_officer").status_code == 201
    again = api.post("/providers", json={**NEW, "name": "Copy"}, as_="la_officer")
    assert again.status_code == 422 and "urn" in again.json["error"]["details"]
