"""Under /api/ every error is JSON {"error": {code, message, details}}: never an HTML page."""
from __future__ import annotations


def _is_error(response, status, code):
    assert response.status_code == status
    assert response.is_json, response.get_data(as_text=True)[:200]
    assert set(response.json["error"]) == {"code", "message", "details"}
    assert response.json["error"]["code"] == code


def test_unknown_path_and_wrong_method(api):
    _is_error(api.get("/nothing-here", as_="lead"), 404, "not_found")
    _is_error(api.get("/cases/not-a-number", as_="lead"), 404, "not_found")
    _is_error(api.client.delete("/api/v1/cases", headers={"Authorization": f"Bearer {api.tokens['lead']}"}),
              405, "method_not_allowed")
    _is_error(api.client.put("/api/v1/me"), 405, "method_not_allowed")


def test_errors_carry_no_store_and_no_html(api):
    response = api.get("/cases/1", as_="lead")
    assert response.headers["Cache-Control"] == "no-store"
    assert "<html" not in response.get_data(as_text=True).lower()


def test_wrong_json_types_are_422_not_500(api, case):
    for path, payload in [("/cases", {"pupil": "Sam"}), ("/providers", {"name": 5}),
                          (f"/cases/{case['id']}/attendance", {"date": 20270112})]:
        who = {"/cases": "lead", "/providers": "la_officer"}.get(path, "provider_staff")
        response = api.post(path, json=payload, as_=who)
        _is_error(response, 422, "invalid")
