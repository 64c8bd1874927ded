"""axe-core on every page a user can reach that the journey and records tests do not already check,
each as the demo user who would see it, over the demo data.

The lifecycle from bpmn/placement is deployed (and a second version of it, for the compare and
migrate pages), the demo data is loaded, due timers run once (so reviews exist), one placement
breaks down (so a "close the placement" task exists) and one case has a timer incident. Every page
must have no axe-core violations, exactly one h1, a non-empty <title> and no Content Security
Policy errors in the console. Task forms are submitted empty to show their error summaries.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

import pytest

pytest.importorskip("playwright")
from axe_playwright_python.sync_playwright import Axe  # noqa: E402
from playwright.sync_api import expect  # noqa: E402
from sqlalchemy import select  # noqa: E402

from service import casework, create_app, demo, migrate, processes, timers  # noqa: E402
from service.models import Case, Organisation, PupilParent, TaskRecord, TimerIncident, User  # noqa: E402
from service.notify import people_in_role  # noqa: E402
from workflows import clock  # noqa: E402

from .conftest import csp_errors, open_page, serving, sign_in  # noqa: E402
from .shots import screenshot_folder  # noqa: E402

pytestmark = pytest.mark.browser

LIFECYCLE = Path(__file__).resolve().parents[2] / "bpmn" / "placement"
PASSWORD = demo.DEMO_PASSWORD
# Task forms shown with their error summary (check_provider_suitability is the journey test's);
# the demo data, built from DEMO_NOW, has each of them open.
TASK_FORMS = ["draft_agreement", "record_review", "close_placement", "accept_agreement", "chase_overdue_review",
              "decide_placement", "check_safeguarding", "consult_parents", "hold_professionals_meeting",
              "check_provider_suitability", "inform_family", "confirm_section_f", "consult_virtual_school"]
# WCAG 2.2 A and AA, and axe-core's best practices (landmarks, heading order, one h1 and so on).
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa",
                                                     "best-practice"]},
               "resultTypes": ["violations"]}
DEMO_NOW = datetime(2026, 11, 18, 10, 0, tzinfo=timezone.utc)
SLUGS = {name: slug for name, slug in demo.SCHOOLS}


def _email(session, case: Case, role: str) -> str:
    people = people_in_role(session, case, role)
    assert people, f"nobody in the {role} role for case {case.id}"
    return people[0].email


def _world(app) -> dict:
    """Ids and the right person for each page, picked from the demo data (not hard-coded)."""
    sessions = app.extensions["placements.sessions"]
    with app.app_context(), sessions() as session:
        cases = list(session.scalars(select(Case).order_by(Case.id)))
        active = [c for c in cases if c.stage == "Placement active"]
        oak = next(c for c in active if c.school.name == "Oak Academy")
        bridge = next(c for c in active if c.provider and c.provider.name == "Bridge Learning Centre")
        broken = next(c for c in active if c.id not in (oak.id, bridge.id))
        casework.deliver_message(session, broken.id, "placement_breakdown",
                                 {"case_id": broken.id, "reason": "The provider could not meet the pupil's needs."})
        parent = session.scalar(select(User).where(User.email == "parent@family.example"))
        parent_case = session.scalar(select(Case).join(PupilParent, PupilParent.pupil_id == Case.pupil_id)
                                     .where(PupilParent.user_id == parent.id))
        now = clock.now()
        stuck = next(c for c in cases if c.status == "open" and c.id not in (oak.id, bridge.id, broken.id))
        session.add(TimerIncident(case_id=stuck.id, attempts=5, element_ids="review_reminder",
                                  last_error="TimerStuck: a timer was due but the process did not fire it",
                                  opened_at=now))
        session.add(TimerIncident(case_id=oak.id, attempts=5, element_ids="review_overdue", last_error="OSError",
                                  opened_at=now - timedelta(days=3), resolved_at=now - timedelta(days=2),
                                  resolution="retried"))
        session.commit()
        tasks = {}
        for record in session.scalars(select(TaskRecord).where(TaskRecord.state == "open")
                                      .order_by(TaskRecord.created_at)):
            tasks.setdefault(record.element_id, (record.id, _email(session, record.case, record.role)))
        done = session.scalar(select(TaskRecord).where(TaskRecord.state == "completed").limit(1))
        bridge_org = session.scalar(select(Organisation).where(Organisation.name == "Bridge Learning Centre"))
        lead = f"lead@{SLUGS['Oak Academy']}.example"
        return {
            "oak_case": oak.id, "bridge_case": bridge.id, "parent_case": parent_case.id, "tasks": tasks,
            "bridge_school_head": _email(session, bridge, "head_teacher"), "lead": lead,
            "done_task": done.id, "done_task_lead": _email(session, done.case, "school_ap_lead"),
            "reassign_task": tasks["record_review"], "provider": bridge_org.id,
        }


def _second_version(app) -> tuple[int, int]:
    """The shipped lifecycle as version 1 (cases run on it) and a small change to it as version 2."""
    sessions = app.extensions["placements.sessions"]
    files = processes.read_bundle_path(LIFECYCLE)
    with sessions() as session:
        v1 = processes.latest_version(session, casework.DEFAULT_MODEL)
        text = files["monitoring.bpmn"].decode()
        assert 'name="Plan next steps"' in text
        files["monitoring.bpmn"] = text.replace('name="Plan next steps"', 'name="Plan the next steps"').encode()
        v2 = processes.deploy(session, files, note="Renamed a step")
        session.commit()
        return v1.id, v2.id


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    # The demo data is built around "now"; running the clock from a fixed Wednesday in term makes
    # the same tasks open on every run, whatever the day the suite runs.
    with clock.kept():
        clock.travel(DEMO_NOW)
        started = datetime.now(timezone.utc)
        for site in _site(tmp_path_factory):
            site["moment"] = lambda: DEMO_NOW + (datetime.now(timezone.utc) - started)
            yield site


def _keep_site_time(site) -> None:
    """Each test starts with the clock reset (tests/conftest.py): put it back on the site's time,
    still running, so pages show the demo as it was built (same open tasks, same weeks)."""
    clock.travel(site["moment"]())


def _site(tmp_path_factory):
    db = tmp_path_factory.mktemp("accessibility") / "demo.sqlite"
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{db}", "SECRET_KEY": "browser-test",
                      "WTF_CSRF_ENABLED": True, "RATELIMIT_ENABLED": False})
    migrate.upgrade(app.extensions["placements.engine"])
    processes._cache.clear()
    sessions = app.extensions["placements.sessions"]
    with sessions() as session:
        processes.deploy(session, processes.read_bundle_path(LIFECYCLE), note="Lifecycle as shipped")
        session.commit()
    with app.app_context(), sessions() as session:
        assert demo.load_demo(session)
        session.commit()
    timers.run_due_timers(app)
    world = _world(app)
    world["v1"], world["v2"] = _second_version(app)
    with serving(app) as url:
        yield {"url": url, **world, "signed_in": {}}


# ------------------------------------------------------------------------------------ the pages

@dataclass
class Visit:
    who: str | Callable[[dict], str] | None  # an email, or picked from the site's data
    go: Callable  # (page, site) -> None: go to the page (and submit a form to show its errors)


def get(path: str, status: int = 200) -> Callable:
    def go(page, site):
        response = page.goto(site["url"] + path.format(**site))
        assert response.status == status, f"{path}: HTTP {response.status}"
    return go


def submit_empty(path: str, button: str, status: int = 422) -> Callable:
    def go(page, site):
        get(path)(page, site)
        with page.expect_navigation() as navigation:
            page.get_by_role("button", name=button, exact=True).click()
        assert navigation.value.status == status, f"{path} submitted empty: HTTP {navigation.value.status}"
        expect(page.locator(".govuk-error-summary")).to_be_visible()
    return go


def task_with_errors(element_id: str) -> Visit:
    def worker(site):
        assert element_id in site["tasks"], f"no open {element_id} task in the demo data ({sorted(site['tasks'])})"
        return site["tasks"][element_id][1]

    def go(page, site):
        submit_empty(f"/tasks/{site['tasks'][element_id][0]}", "Submit")(page, site)
    return Visit(worker, go)


def sign_in_with_wrong_password(page, site):
    get("/sign-in")(page, site)
    page.fill("#email", "lead@oak.example")
    page.fill("#password", "not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".govuk-error-summary")).to_be_visible()


def editor(page, site):
    get("/models/versions/{v2}/edit")(page, site)
    page.wait_for_selector("#model-editor[data-ready=true]", timeout=30000)


LEAD, OFFICER, STAFF = "lead@oak.example", "officer@shire.example", "staff@bridge.example"
OWNER, ADMIN, PARENT = "owner@shire.example", "admin@shire.example", "parent@family.example"
PAGES: dict[str, Visit] = {
    "start": Visit(None, get("/")),
    "sign-in with a wrong password": Visit(None, sign_in_with_wrong_password),
    "directory with filters": Visit(None, get("/directory?service=GCSE&age=14")),
    "directory with errors": Visit(None, get("/directory?age=old", status=400)),
    "directory provider": Visit(None, get("/directory/{provider}")),
    "page not found": Visit(None, get("/no-such-page", status=404)),
    "case not found": Visit(LEAD, get("/cases/999999", status=404)),
    "forbidden": Visit(LEAD, get("/incidents", status=403)),
    "cases": Visit(LEAD, get("/cases")),
    "cases closed": Visit(OFFICER, get("/cases?status=closed")),
    "case in Placement active": Visit(LEAD, get("/cases/{oak_case}")),
    "end the placement early": Visit(LEAD, get("/cases/{oak_case}/end-early")),
    "end the placement early with errors": Visit(LEAD, submit_empty("/cases/{oak_case}/end-early",
                                                                    "End the placement early")),
    "parent's case summary": Visit(PARENT, get("/cases/{parent_case}")),
    "parent's inbox": Visit(PARENT, get("/inbox")),
    "parent referral": Visit(PARENT, get("/referrals/new", status=403)),
    "notifications": Visit(LEAD, get("/notifications")),
    "emails (admin)": Visit(ADMIN, get("/emails")),
    "emails (local authority)": Visit(OFFICER, get("/emails")),
    "dashboard (school)": Visit(LEAD, get("/dashboard")),
    "dashboard (local authority)": Visit(OFFICER, get("/dashboard")),
    "register": Visit(OFFICER, get("/register")),
    "register with filters": Visit(OFFICER, get("/register?status=open&pattern=full_time&provider={provider}")),
    "attendance overview (provider)": Visit(STAFF, get("/cases/{bridge_case}/attendance")),
    "attendance overview (school)": Visit(lambda s: s["bridge_school_head"], get("/cases/{bridge_case}/attendance")),
    "week register": Visit(STAFF, get("/cases/{bridge_case}/attendance/week")),
    "progress report form": Visit(STAFF, get("/cases/{bridge_case}/progress/new")),
    "progress report with errors": Visit(STAFF, submit_empty("/cases/{bridge_case}/progress/new",
                                                             "Save the report")),
    "placement record": Visit(LEAD, get("/cases/{oak_case}/records")),
    "subject access export": Visit(LEAD, get("/cases/{oak_case}/export")),
    "manage providers": Visit(OFFICER, get("/manage/providers")),
    "add a provider": Visit(OFFICER, get("/manage/providers/new")),
    "add a provider with errors": Visit(OFFICER, submit_empty("/manage/providers/new", "Save")),
    "edit a provider": Visit(OFFICER, get("/manage/providers/{provider}/edit")),
    "import providers": Visit(OFFICER, get("/manage/providers/import")),
    "import providers with errors": Visit(OFFICER, submit_empty("/manage/providers/import", "Upload and import")),
    "models": Visit(OWNER, get("/models/")),
    "model version": Visit(OWNER, get("/models/versions/{v2}")),
    "compare versions": Visit(OWNER, get("/models/compare?a={v1}&b={v2}")),
    "migrate preview": Visit(OWNER, get("/models/versions/{v1}/migrate?to={v2}")),
    "model editor": Visit(OWNER, editor),
    "incidents": Visit(ADMIN, get("/incidents")),
    "task already completed": Visit(lambda s: s["done_task_lead"], get("/tasks/{done_task}")),
    "reassign a task": Visit(lambda s: s["reassign_task"][1], get("/tasks/{reassign_task[0]}/reassign")),
    "reassign a task with errors": Visit(lambda s: s["reassign_task"][1],
                                         submit_empty("/tasks/{reassign_task[0]}/reassign", "Reassign")),
    **{f"task {name} with errors": task_with_errors(name) for name in TASK_FORMS},
}


def _signed_in_state(browser, site, email):
    """Sign in once per user through the sign-in page; later pages reuse the cookies."""
    if email not in site["signed_in"]:
        page = open_page(browser)
        sign_in(page, site["url"], email, PASSWORD)
        assert "/sign-in" not in page.url, f"{email} could not sign in"
        site["signed_in"][email] = page.context.storage_state()
        page.context.close()
    return site["signed_in"][email]


def describe_violations(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']} [{v['helpUrl']}]")
        for node in v["nodes"]:
            lines.append(f"    at {' '.join(map(str, node['target']))}: {node['html'][:200]}")
            summary = (node.get("failureSummary") or "").replace("\n", "\n      ")
            lines.append(f"      {summary}")
    return "\n".join(lines)

# Pages saved for the README (docs/screenshots/ under `make screenshots`), over the demo data.
SCREENSHOTS = {"dashboard (local authority)": "dashboard.png"}


@pytest.mark.parametrize("name", list(PAGES))
def test_page_is_accessible(name, site, browser):
    _keep_site_time(site)
    visit = PAGES[name]
    who = visit.who(site) if callable(visit.who) else visit.who
    state = _signed_in_state(browser, site, who) if who else None
    page = open_page(browser, storage_state=state)
    try:
        visit.go(page, site)
        page.wait_for_load_state("networkidle")
        violations = Axe().run(page, options=AXE_OPTIONS).response["violations"]
        assert not violations, f"axe-core on the {name} page ({page.url}):\n" + describe_violations(violations)
        assert page.locator("h1").count() == 1, f"{name}: {page.locator('h1').all_inner_texts()}"
        assert page.title().strip(), f"{name}: empty <title>"
        assert not csp_errors(page), f"{name}: {csp_errors(page)}"
        if name in SCREENSHOTS:
            screenshot_folder().mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(screenshot_folder() / SCREENSHOTS[name]), full_page=True)
    finally:
        page.context.close()
