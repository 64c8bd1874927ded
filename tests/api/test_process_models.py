"""Process models: list with running-case counts; deploy (process owners) from XML, multipart or
zip, with element-level problems as 422."""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

MINI = Path(__file__).resolve().parent.parent / "service" / "bundles" / "mini"
UNQUOTED = Path(__file__).resolve().parent.parent / "workflows" / "bpmn" / "timer_unquoted.bpmn"

SIMPLE = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="http://x">
  <bpmn:process id="simple" name="Simple" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:endEvent id="end"><bpmn:incoming>f1</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>"""


def _auth(api, who):
    return {"Authorization": f"Bearer {api.tokens[who]}"}


def test_list_models_with_versions_and_running_cases(api, case):
    response = api.get("/process-models", as_="owner")
    assert response.status_code == 200
    [model] = response.json
    assert model["key"] == "mini" and model["latest_version"] == 1 and model["running_cases"] == 1
    assert model["versions"][0]["running_cases"] == 1 and model["versions"][0]["version"] == 1
    assert api.get("/process-models").status_code == 401


def test_deploy_bpmn_xml_body(api, w):
    response = api.client.post("/api/v1/process-models?note=first", data=SIMPLE,
                               content_type="application/xml", headers=_auth(api, "owner"))
    assert response.status_code == 201, response.json
    version = response.json
    assert version["model"] == "simple" and version["version"] == 1 and version["note"] == "first"
    assert version["deployed_by"]["id"] == w["owner"]
    again = api.client.post("/api/v1/process-models", data=SIMPLE, content_type="text/xml",
                            headers=_auth(api, "owner"))
    assert again.status_code == 201 and again.json["version"] == 2
    keys = {m["key"]: m["latest_version"] for m in api.get("/process-models", as_="owner").json}
    assert keys == {"mini": 1, "simple": 2}


def test_deploy_multipart_files_and_zip(api):
    files = {"files": [(io.BytesIO((MINI / "mini.bpmn").read_bytes()), "mini.bpmn")]
             + [(io.BytesIO(p.read_bytes()), p.name) for p in sorted((MINI / "forms").iterdir())],
             "note": "multipart"}
    response = api.client.post("/api/v1/process-models", data=files, content_type="multipart/form-data",
                               headers=_auth(api, "owner"))
    assert response.status_code == 201, response.json
    assert response.json["model"] == "mini" and response.json["version"] == 2 and response.json["note"] == "multipart"

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in MINI.rglob("*"):
            if path.is_file():
                archive.write(path, "mini/" + str(path.relative_to(MINI)))
    zipped = api.client.post("/api/v1/process-models", data=buffer.getvalue(), content_type="application/zip",
                             headers=_auth(api, "owner"))
    assert zipped.status_code == 201, zipped.json
    assert zipped.json["version"] == 3
    buffer.seek(0)
    as_upload = api.client.post("/api/v1/process-models", data={"bundle": (buffer, "mini.zip")},
                                content_type="multipart/form-data", headers=_auth(api, "owner"))
    assert as_upload.status_code == 201 and as_upload.json["version"] == 4


@pytest.mark.parametrize("who", ["lead", "la_officer", "admin", "parent"])
def test_only_process_owners_deploy(api, who):
    response = api.client.post("/api/v1/process-models", data=SIMPLE, content_type="application/xml",
                               headers=_auth(api, who))
    assert response.status_code == 403 and response.json["error"]["code"] == "forbidden"


def test_deploy_needs_auth(api):
    assert api.client.post("/api/v1/process-models", data=SIMPLE, content_type="application/xml").status_code == 401


def _problems(response):
    assert response.status_code == 422, response.json
    details = response.json["error"]["details"]
    assert details["problems"] and all({"element_id", "message"} <= set(p) for p in details["problems"])
    return details


def test_unparseable_xml_is_422(api):
    response = api.client.post("/api/v1/process-models", data=b"<bpmn:definitions><oops", content_type="application/xml",
                               headers=_auth(api, "owner"))
    details = _problems(response)
    assert response.json["error"]["code"] == "invalid"
    assert details["problems"][0]["message"]


def test_no_executable_process_is_422(api):
    response = api.client.post("/api/v1/process-models", data=SIMPLE.replace(b'isExecutable="true"',
                                                                          b'isExecutable="false"'),
                               content_type="application/xml", headers=_auth(api, "owner"))
    details = _problems(response)
    assert any("executable" in p["message"].lower() for p in details["problems"])


def test_unquoted_timer_names_its_element(api):
    response = api.client.post("/api/v1/process-models", data=UNQUOTED.read_bytes(), content_type="application/xml",
                               headers=_auth(api, "owner"))
    details = _problems(response)
    assert "six_weeks" in [p["element_id"] for p in details["problems"]]
    assert "six_weeks" in details  # element ids map to their messages too


@pytest.mark.parametrize("data, content_type", [(b"", "application/xml"), (b"PK\x03\x04broken", "application/zip"),
                                                (b"\xff\xfe<x/>", "application/xml")])
def test_empty_broken_zip_or_non_utf8_is_422(api, data, content_type):
    response = api.client.post("/api/v1/process-models", data=data, content_type=content_type,
                               headers=_auth(api, "owner"))
    assert response.status_code == 422 and response.json["error"]["details"]


def test_unsafe_names_in_a_zip_are_ignored(api):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("../evil.bpmn", SIMPLE)
        archive.writestr("notes.txt", b"hello")
    response = api.client.post("/api/v1/process-models", data=buffer.getvalue(), content_type="application/zip",
                               headers=_auth(api, "owner"))
    assert response.status_code == 422
