"""openapi.json: a valid OpenAPI 3.1 document that describes every path of CONTRACT.md and every
route the API blueprint serves."""
from __future__ import annotations

import re

from openapi_spec_validator import validate

CONTRACT_PATHS = {
    ("get", "/api/v1/me"), ("get", "/api/v1/providers"), ("get", "/api/v1/providers/{id}"),
    ("post", "/api/v1/providers"), ("post", "/api/v1/cases"), ("get", "/api/v1/cases"),
    ("get", "/api/v1/cases/{id}"), ("get", "/api/v1/cases/{id}/events"), ("get", "/api/v1/tasks"),
    ("get", "/api/v1/tasks/{id}"), ("post", "/api/v1/tasks/{id}/claim"), ("post", "/api/v1/tasks/{id}/unclaim"),
    ("post", "/api/v1/tasks/{id}/complete"), ("post", "/api/v1/cases/{id}/attendance"),
    ("get", "/api/v1/process-models"), ("post", "/api/v1/process-models"), ("get", "/api/v1/openapi.json"),
    ("post", "/api/v1/tokens"),
}


def test_openapi_is_public_valid_and_covers_the_contract(api):
    response = api.get("/openapi.json")
    assert response.status_code == 200
    doc = response.json
    validate(doc)
    assert doc["openapi"].startswith("3.1")
    described = {(method, path) for path, item in doc["paths"].items() for method in item}
    assert CONTRACT_PATHS <= described
    referral = doc["components"]["schemas"]["Referral"]
    assert "pupil" in referral["properties"] and "upn" in referral["properties"]["pupil"]["properties"]


def test_every_api_route_is_described(app, api):
    doc = api.get("/openapi.json").json
    # Parameters compared by position: Flask's <int:case_id> is the document's {id}.
    described = {(method, re.sub(r"\{\w+\}", "{}", path)) for path, item in doc["paths"].items()
                 for method in item}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1"):
            continue
        path = re.sub(r"<(?:\w+:)?\w+>", "{}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (method.lower(), path) in described, (method, rule.rule)


def test_every_operation_has_responses_and_errors_are_the_error_shape(api):
    doc = api.get("/openapi.json").json
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            assert operation["responses"], (method, path)
            assert operation.get("operationId")
    error = doc["components"]["schemas"]["Error"]["properties"]["error"]
    assert set(error["required"]) == {"code", "message", "details"}
