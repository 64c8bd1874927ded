"""The editor in real Chromium: round trip of the lifecycle, a timer changed in the panel and
deployed as version 2, and every MIWG reference model opened and deployed (or refused)."""
from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import select
from werkzeug.serving import make_server

from service import casework, create_app, migrate, processes
from service.models import Case, Organisation, ProcessVersion, TaskRecord, User, WaitingTimer
from service.notify import people_in_role
from workflows import validate_bundle
from workflows.migration import compare_files

from ..lifecycle.helpers import FORM_DATA
from ..service.factories import referral, world
from .conftest import add_test_login
from .helpers import LIFECYCLE, MIWG

pytestmark = pytest.mark.browser
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
VENDOR = Path(__file__).resolve().parents[2] / "service" / "static" / "vendor" / "models" / "models.js"


@pytest.fixture(scope="module")
def browser():
    if not VENDOR.exists():
        pytest.skip("front-end assets not built: run `make assets`")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        yield b
        b.close()


@pytest.fixture
def live(tmp_path):
    processes._cache.clear()
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'live.sqlite'}",
                      "SECRET_KEY": "browser-test", "RATELIMIT_ENABLED": False})
    migrate.upgrade(app.extensions["placements.engine"])
    add_test_login(app)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    sessions = app.extensions["placements.sessions"]
    with sessions() as session:
        people = world(session)
        session.commit()
        ids = {k: v.id for k, v in people.items()}
    yield {"url": f"http://127.0.0.1:{server.server_port}", "sessions": sessions, "ids": ids}
    server.shutdown()
    app.extensions["placements.engine"].dispose()


def _page(browser, live):
    context = browser.new_context()
    page = context.new_page()
    page.add_init_script("window.__csp = []; document.addEventListener('securitypolicyviolation', "
                         "e => window.__csp.push([e.violatedDirective, e.sourceFile]))")
    page.goto(live["url"] + f"/_test/login/{live['ids']['owner']}")
    return page


def _csp_problems(page):
    """CSP violations other than dmn-js's inline style attributes on its bpmn.io watermark
    (blocked, and the same styles come from models.css); script and stylesheet ones included."""
    seen = page.evaluate("window.__csp")
    return [v for v in seen if v[0] != "style-src-attr"]


def _deploy(live, files, note="test"):
    with live["sessions"]() as session:
        v = processes.deploy(session, files, note=note)
        session.commit()
        return v.id


def _open_editor(page, live, version_id, file=""):
    page.goto(live["url"] + f"/models/versions/{version_id}/edit" + (f"?file={file}" if file else ""))
    page.wait_for_selector("#model-editor[data-ready=true]", timeout=30000)


def _export(page, name):
    return page.evaluate("""async (name) => {
        const opened = await window.modelEditor.open(name);
        if (opened.error) return {error: opened.error};
        const { xml } = await window.bpmnModeler.saveXML({ format: true });
        return { xml, warnings: opened.warnings };
    }""", name)


def _extensions(xml: bytes) -> dict[str, list]:
    """Per element id: every spiffworkflow element and attribute under it, canonically."""
    root = etree.fromstring(xml)

    def canon(el):
        return (etree.QName(el.tag).localname, tuple(sorted(el.attrib.items())), (el.text or "").strip(),
                tuple(canon(c) for c in el if isinstance(c.tag, str)))
    out = {}
    for el in root.iter():
        if not isinstance(el.tag, str) or not el.get("id"):
            continue
        items = []
        for ext in el.findall("{http://www.omg.org/spec/BPMN/20100524/MODEL}extensionElements"):
            items += [canon(c) for c in ext if isinstance(c.tag, str) and etree.QName(c.tag).namespace == SPIFF]
        items += [("@" + k, v) for k, v in el.attrib.items() if k.startswith("{" + SPIFF)]
        if items:
            out[el.get("id")] = items
    return out


def _start(live, upn):
    with live["sessions"]() as session:
        orgs = {k: session.get(Organisation, live["ids"][k]) for k in ("school", "provider")}
        case = casework.start_case(session, session.get(User, live["ids"]["lead"]),
                                   referral(orgs, pupil={"upn": upn}))
        session.commit()
        return case.id


def _to_active(live, case_id) -> None:
    """Complete the case's tasks as the people in their lanes until the placement is active."""
    for _ in range(20):
        with live["sessions"]() as session:
            case = session.get(Case, case_id)
            if case.stage == "Placement active":
                return
            task = session.scalar(select(TaskRecord).where(TaskRecord.case_id == case_id, TaskRecord.state == "open")
                                  .order_by(TaskRecord.created_at, TaskRecord.element_id).limit(1))
            data = dict(FORM_DATA[task.element_id])
            if task.element_id == "draft_agreement":
                data.update(start_date=case.start_date.isoformat(), end_date=case.end_date.isoformat())
            casework.complete_task(session, people_in_role(session, case, task.role)[0], task.id, data)
            session.commit()
    raise AssertionError(f"case {case_id} never became active")


def _reminder_due(live, case_id):
    with live["sessions"]() as session:
        return session.scalar(select(WaitingTimer.due_at).where(WaitingTimer.case_id == case_id,
                                                                WaitingTimer.element_id == "review_reminder"))


def test_lifecycle_round_trips_through_the_modeler(browser, live):
    files = processes.read_bundle_path(LIFECYCLE)
    version_id = _deploy(live, files)
    page = _page(browser, live)
    _open_editor(page, live, version_id)
    exported = dict(files)
    for name in sorted(n for n in files if n.endswith(".bpmn")):
        result = _export(page, name)
        assert "error" not in result, (name, result)
        exported[name] = result["xml"].encode()
        before, after = _extensions(files[name]), _extensions(exported[name])
        assert before, name
        assert after == before, name
    assert validate_bundle(exported) == []
    assert compare_files(files, exported) == []
    # the DMN tables open in dmn-js, with the watermark visible
    opened = page.evaluate("window.modelEditor.open('review_cadence.dmn')")
    assert opened["error"] is None
    page.wait_for_selector("#dmn-canvas .bjs-powered-by", state="visible")
    assert page.locator("#bpmn-canvas .bjs-powered-by").count() == 1
    assert _csp_problems(page) == []


def test_owner_changes_a_timer_validates_and_deploys_v2(browser, live):
    files = processes.read_bundle_path(LIFECYCLE)
    v1 = _deploy(live, files, "as shipped")
    old_case = _start(live, "B801200005001")
    page = _page(browser, live)
    _open_editor(page, live, v1, "monitoring.bpmn")
    page.evaluate("""() => {
        const shape = window.bpmnModeler.get('elementRegistry').get('review_reminder');
        window.bpmnModeler.get('selection').select(shape);
    }""")
    value = page.locator("#bio-properties-panel-timerEventDefinitionValue")
    value.wait_for(state="attached", timeout=10000)
    page.click("[data-group-id='group-timer'] .bio-properties-panel-group-header")  # open the Timer group
    value.wait_for(timeout=10000)
    # an unquoted duration is refused with the element id, marked on the diagram
    value.fill("P3D")
    page.wait_for_timeout(600)  # the panel's input debounce
    page.click("#editor-validate")
    page.wait_for_selector("#editor-problems li[data-element-id=review_reminder]")
    assert page.locator(".djs-element.app-problem[data-element-id=review_reminder]").count() == 1
    new_expr = "at_nine(date.fromisoformat(next_review_date) - timedelta(days=3))"
    value.fill(new_expr)
    page.wait_for_timeout(600)
    page.click("#editor-validate")
    page.wait_for_function("() => document.querySelector('#editor-status').dataset.kind === 'ok'")
    page.fill("#editor-note", "Reminder three days before each review")
    page.click("#editor-deploy")
    page.wait_for_function("() => document.querySelector('#editor-status').textContent.includes('version 2')")
    new_case = _start(live, "Q801200005002")
    with live["sessions"]() as session:
        v2 = session.scalars(select(ProcessVersion).where(ProcessVersion.number == 2)).one()
        assert v2.note == "Reminder three days before each review"
        assert new_expr in v2.files["monitoring.bpmn"]
        assert session.get(Case, old_case).model_version_id == v1
        assert session.get(Case, new_case).model_version_id == v2.id
        bundle = processes.bundle_for(session, v2.id)
        timer = bundle.subprocess_specs["monitoring"].task_specs["review_reminder"].event_definition
        assert timer.expression == new_expr
        old = processes.bundle_for(session, v1)
        assert old.subprocess_specs["monitoring"].task_specs["review_reminder"].event_definition.expression == "review_reminder_at"
    # Both placements begin: the old case keeps the 7-day reminder, the new one follows the new model.
    _to_active(live, old_case)
    _to_active(live, new_case)
    old_due, new_due = _reminder_due(live, old_case), _reminder_due(live, new_case)
    assert old_due is not None and new_due - old_due == timedelta(days=4)
    # the models list shows both versions and who runs on which
    page.goto(live["url"] + "/models/")
    assert page.locator("tr[data-version='1'] td[data-running='1']").count() == 1
    assert page.locator("tr[data-version='2'] td[data-running='1']").count() == 1
    assert _csp_problems(page) == []


def _deploy_in_browser(page, name, xml) -> str:
    response = page.evaluate("""async (args) => {
        const r = await fetch('/models/deploy', { method: 'POST', credentials: 'same-origin',
          headers: { 'Content-Type': 'application/json', 'X-CSRFToken': document.querySelector('#model-editor').dataset.csrf },
          body: JSON.stringify({ files: { [args.name]: args.xml }, note: 'MIWG ' + args.name }) });
        return { status: r.status, body: await r.json() };
    }""", {"name": name, "xml": xml})
    assert response["status"] in (201, 422), (name, response)
    if response["status"] == 201:
        return "deployed"
    problems = response["body"]["problems"]
    assert problems and all(p["message"] for p in problems), name
    return "element problems" if any(p["element_id"] for p in problems) else "refused"


def test_every_miwg_model_opens_and_deploys_or_names_its_problems(browser, live):
    corpus = sorted(MIWG.glob("*.bpmn"))
    if not corpus:
        pytest.skip("no MIWG corpus beside the repository")
    seed = _deploy(live, processes.read_bundle_path(LIFECYCLE))
    page = _page(browser, live)
    _open_editor(page, live, seed)
    outcomes = {}
    for path in corpus:
        xml = path.read_text(encoding="utf-8")
        result = page.evaluate("""async (xml) => {
            try { const r = await window.bpmnModeler.importXML(xml); return { warnings: r.warnings.length }; }
            catch (e) { return { error: String(e.message || e) }; }
        }""", xml)
        assert "error" not in result, (path.name, result)
        outcomes[path.name] = _deploy_in_browser(page, path.name, xml)
        if outcomes[path.name] == "refused" and 'isExecutable="false"' in xml:
            # The reference models are not marked executable: try them as if they were, so the
            # engine's element-level checks run on them too.
            runnable = xml.replace('isExecutable="false"', 'isExecutable="true"')
            outcomes[path.name + " (executable)"] = _deploy_in_browser(page, path.name, runnable)
    print("MIWG:", {k: list(outcomes.values()).count(k) for k in set(outcomes.values())}, outcomes)
    assert _csp_problems(page) == []


def test_compare_highlights_changes_on_both_diagrams(browser, live):
    files = processes.read_bundle_path(LIFECYCLE)
    v1 = _deploy(live, files)
    changed = dict(files)
    changed["monitoring.bpmn"] = files["monitoring.bpmn"].replace(
        b">review_reminder_at<", b">at_nine(next_review_date)<")
    v2 = _deploy(live, changed)
    page = _page(browser, live)
    page.goto(live["url"] + f"/models/compare?a={v1}&b={v2}")
    page.wait_for_selector("#model-compare[data-ready=true]", timeout=30000)
    assert page.locator("#compare-changes tr[data-element-id=review_reminder][data-kind=changed]").count() == 1
    assert page.locator("#compare-left .djs-element.app-diff-changed[data-element-id=review_reminder]").count() == 1
    assert page.locator("#compare-right .djs-element.app-diff-changed[data-element-id=review_reminder]").count() == 1
    assert _csp_problems(page) == []
