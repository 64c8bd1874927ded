"""The models pages: list, upload, download, validate, deploy, compare, migrate; owners only."""
from __future__ import annotations

import io
import re
import zipfile

import pytest
from sqlalchemy import select

from service import casework, processes
from service.models import AuditEvent, Case, Organisation, ProcessVersion, User

from ..service.factories import referral, world
from .helpers import EXTRA_STEP, EXTRA_STEP_END, LONGER_WAIT, NEW_FIRST_STEP, NEW_FIRST_STEP_REFS, mini, variant


@pytest.fixture
def w(sessions):
    with sessions() as session:
        people = world(session)
        v1 = processes.deploy(session, mini(), note="first")
        session.commit()
        ids = {k: v.id for k, v in people.items()}
        ids["v1"] = v1.id
    return ids


def _zip(files):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in files.items():
            z.writestr("mini/" + name, data)
    return buf.getvalue()


def _start(sessions, w):
    with sessions() as session:
        orgs = {k: session.get(Organisation, w[k]) for k in ("school", "provider")}
        case = casework.start_case(session, session.get(User, w["lead"]), referral(orgs), model_key="mini")
        session.commit()
        return case.id


def test_only_process_owners(app, login, w):
    assert app.test_client().get("/models/").status_code in (302, 401)
    assert login(w["lead"]).get("/models/").status_code == 403
    assert login(w["owner"]).get("/models/").status_code == 200


def test_editor_alone_allows_inline_styles(login, w):
    """bpmn-js icons carry style attributes: the editor page may have inline styles, never scripts."""
    client = login(w["owner"])
    editor = client.get(f"/models/versions/{w['v1']}/edit")
    assert editor.status_code == 200
    policy = editor.headers["Content-Security-Policy"]
    assert "style-src 'self' 'unsafe-inline'" in policy and "script-src 'self';" in policy
    for other in ("/models/", f"/models/versions/{w['v1']}"):
        assert "unsafe-inline" not in client.get(other).headers["Content-Security-Policy"]


def test_list_upload_download_and_problems(sessions, login, w):
    case_id = _start(sessions, w)
    client = login(w["owner"])
    page = client.get("/models/").get_data(as_text=True)
    assert "Version 1" in page and 'data-running="1"' in page
    # upload a zip of a folder: a new version, the case stays on 1
    r = client.post("/models/upload", data={"note": "longer wait", "bundle": (io.BytesIO(_zip(variant(LONGER_WAIT))), "mini.zip")},
                    content_type="multipart/form-data")
    assert r.status_code == 302
    with sessions() as session:
        v2 = session.scalars(select(ProcessVersion).where(ProcessVersion.number == 2)).one()
        assert v2.note == "longer wait" and v2.deployed_by_id == w["owner"] and "forms/consult.json" in v2.files
        assert session.get(Case, case_id).model_version_id == w["v1"]
    page = client.get("/models/").get_data(as_text=True)
    assert "longer wait" in page
    # an invalid bundle is refused with element ids
    bad = variant(('"P1D"', 'P1D'))
    r = client.post("/models/upload", data={"bundle": (io.BytesIO(bad["mini.bpmn"]), "mini.bpmn")},
                    content_type="multipart/form-data")
    assert r.status_code == 422 and 'data-element-id="wait_a_day"' in r.get_data(as_text=True)
    # downloads
    z = zipfile.ZipFile(io.BytesIO(client.get(f"/models/versions/{v2.id}/bundle.zip").data))
    assert sorted(z.namelist()) == sorted(v2.files)
    one = client.get(f"/models/versions/{v2.id}/files/forms/consult.json")
    assert one.status_code == 200 and b"schema" in one.data and "attachment" in one.headers["Content-Disposition"]
    assert client.get(f"/models/versions/{v2.id}/files/nope.bpmn").status_code == 404


def test_validate_and_deploy_json(sessions, login, w):
    client = login(w["owner"])
    files = {k: v.decode() for k, v in variant(('"P1D"', 'P1D')).items()}
    r = client.post("/models/validate", json={"files": files})
    assert r.status_code == 200 and any(p["element_id"] == "wait_a_day" and p["file"] == "mini.bpmn"
                                        for p in r.json["problems"])
    r = client.post("/models/deploy", json={"files": files, "note": "bad"})
    assert r.status_code == 422 and r.json["problems"]
    good = {k: v.decode() for k, v in variant(EXTRA_STEP, EXTRA_STEP_END).items()}
    assert client.post("/models/validate", json={"files": good}).json["problems"] == []
    r = client.post("/models/deploy", json={"files": good, "note": "log"})
    assert r.status_code == 201 and r.json["number"] == 2
    assert client.post("/models/deploy", json={"files": {"../x.bpmn": "x"}}).status_code == 422
    preview = client.post("/models/forms/preview", json={"form": files["forms/decide.json"]}).get_data(as_text=True)
    assert 'type="radio"' in preview and "Decision" in preview
    assert "cannot be read" in client.post("/models/forms/preview", json={"form": "{"}).get_data(as_text=True)


def test_compare_and_migrate_pages(sessions, login, w):
    safe_case = _start(sessions, w)
    other = _start(sessions, w)
    from service.models import TaskRecord
    with sessions() as session:
        record = session.scalars(select(TaskRecord).where(TaskRecord.case_id == other, TaskRecord.state == "open")).one()
        casework.complete_task(session, session.get(User, w["lead"]), record.id, {"parent_views": "ok"})
        session.commit()
    client = login(w["owner"])
    with sessions() as session:
        v2 = processes.deploy(session, variant(LONGER_WAIT, EXTRA_STEP, EXTRA_STEP_END), note="v2").id
        v3 = processes.deploy(session, variant(NEW_FIRST_STEP, *NEW_FIRST_STEP_REFS), note="v3").id
        session.commit()
    page = client.get(f"/models/compare?a={w['v1']}&b={v2}").get_data(as_text=True)
    assert re.search(r'data-element-id="log_outcome" data-kind="added"', page)
    assert re.search(r'data-element-id="wait_a_day" data-kind="changed"', page)
    data = client.get(f"/models/compare.json?a={w['v1']}&b={v2}").json
    assert {"element_id": "log_outcome", "kind": "added"}.items() <= next(
        c for c in data["changes"] if c["element_id"] == "log_outcome").items()
    page = client.get(f"/models/versions/{w['v1']}/migrate?to={v2}").get_data(as_text=True)
    assert f'data-case="{safe_case}" data-safe="yes"' in page
    r = client.post(f"/models/versions/{w['v1']}/migrate", data={"to": v2, "case_id": [safe_case]})
    assert 'data-moved="yes"' in r.get_data(as_text=True)
    with sessions() as session:
        assert session.get(Case, safe_case).model_version_id == v2
        assert session.scalars(select(AuditEvent).where(AuditEvent.type == "case_migrated")).one().actor_id == w["owner"]
    # a case whose completed path changed is refused, with the reason
    page = client.get(f"/models/versions/{w['v1']}/migrate?to={v3}").get_data(as_text=True)
    assert f'data-case="{other}" data-safe="no"' in page and "consult" in page
    r = client.post(f"/models/versions/{w['v1']}/migrate", data={"to": v3, "case_id": [other]})
    assert 'data-moved="no"' in r.get_data(as_text=True)
    with sessions() as session:
        assert session.get(Case, other).model_version_id == w["v1"]
