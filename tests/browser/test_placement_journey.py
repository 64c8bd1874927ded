"""A placement driven through real Chromium: referral, each task by the right person, the head
teacher's approval, the highlighted diagram, GOV.UK errors, and axe-core on every main page.

Runs the app in a thread (werkzeug) on a temporary SQLite database with CSRF switched on, and the
lifecycle bundle from bpmn/placement. Screenshots go to docs/screenshots/.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest.importorskip("playwright")
from axe_playwright_python.sync_playwright import Axe  # noqa: E402
from playwright.sync_api import expect  # noqa: E402

from service import create_app, migrate, processes  # noqa: E402
from service.models import Provider  # noqa: E402

from ..service.factories import org, user  # noqa: E402
from .conftest import csp_errors, serving  # noqa: E402
from .conftest import sign_in as sign_in_as  # noqa: E402
from .shots import screenshot_folder  # noqa: E402

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
SHOTS = screenshot_folder()
EMAILS = {"lead": "lead@oak.example", "dsl": "dsl@oak.example", "head": "head@oak.example"}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    db = tmp_path_factory.mktemp("browser") / "browser.sqlite"
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{db}", "SECRET_KEY": "browser-test",
                      "WTF_CSRF_ENABLED": True, "RATELIMIT_ENABLED": False, "DEFAULT_PROCESS_MODEL": "placement"})
    migrate.upgrade(app.extensions["placements.engine"])
    processes._cache.clear()
    with app.extensions["placements.sessions"]() as session:
        la = org(session, "Shire County Council", "la")
        school = org(session, "Oak Academy", "school", la=la)
        provider = org(session, "Bridge Learning Centre", "provider", la=la)
        org(session, "Harbour Tuition", "provider", la=la, registration_status="unregistered")
        entry = session.get(Provider, provider.id)
        entry.services, entry.age_min, entry.age_max, entry.ofsted_grade = ["Tuition", "Mentoring"], 11, 16, "Good"
        user(session, school, "school_ap_lead", email=EMAILS["lead"])
        user(session, school, "dsl", email=EMAILS["dsl"])
        user(session, school, "head_teacher", email=EMAILS["head"])
        processes.deploy(session, processes.read_bundle_path(REPO / "bpmn" / "placement"), note="browser test")
        session.commit()
        provider_id = provider.id
    with serving(app) as url:
        yield {"url": url, "provider_id": provider_id}


def assert_accessible(page, name):
    results = Axe().run(page)
    assert results.violations_count == 0, f"axe-core on the {name} page:\n" + results.generate_report()


def sign_in(page, base, who):
    sign_in_as(page, base, EMAILS[who])
    expect(page.get_by_role("heading", name="Inbox")).to_be_visible()


def open_team_task(page, base, title):
    page.goto(base + "/inbox?tab=team")
    page.get_by_role("link", name=title).first.click()
    expect(page.get_by_role("heading", level=1, name=title)).to_be_visible()


def submit(page):
    page.get_by_role("button", name="Submit").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("You completed")


def test_placement_from_referral_to_approval(server, page):
    base = server["url"]
    SHOTS.mkdir(parents=True, exist_ok=True)

    # Public pages: the start page, the directory and the sign-in page.
    page.goto(base + "/")
    expect(page.get_by_role("heading", name="Arrange alternative provision placements")).to_be_visible()
    page.goto(base + "/directory")
    expect(page.get_by_role("link", name="Bridge Learning Centre")).to_be_visible()
    assert_accessible(page, "directory")
    page.goto(base + "/sign-in")
    assert_accessible(page, "sign-in")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".govuk-error-summary")).to_be_visible()
    assert_accessible(page, "sign-in with errors")

    # The school AP lead makes the referral.
    sign_in(page, base, "lead")
    page.get_by_role("link", name="Start a referral").click()
    expect(page.get_by_role("heading", name="Start a referral")).to_be_visible()
    assert_accessible(page, "referral")
    page.get_by_role("button", name="Send referral").click()
    expect(page.locator(".govuk-error-summary")).to_be_visible()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Enter unique pupil number")
    assert_accessible(page, "referral with errors")
    page.fill("#pupil-upn", "B801200005001")
    page.fill("#pupil-first_name", "Sam")
    page.fill("#pupil-last_name", "Taylor")
    page.fill("#pupil-date_of_birth-day", "4")
    page.fill("#pupil-date_of_birth-month", "5")
    page.fill("#pupil-date_of_birth-year", "2012")
    page.fill("#pupil-year_group", "9")
    page.check("input[name='pupil.sen_status'][value='none']")
    page.check("input[name='pupil.has_social_worker'][value='no']")
    page.check("input[name='pupil.looked_after'][value='no']")
    page.check("input[name='pupil.fsm_eligible'][value='no']")
    page.select_option("#provider_id", str(server["provider_id"]))
    page.check("input[name='reason'][value='behaviour_intervention']")
    page.check("input[name='pattern'][value='part_time']")
    page.fill("#sessions_per_week", "4")
    page.fill("#proposed_start-day", "11")
    page.fill("#proposed_start-month", "1")
    page.fill("#proposed_start-year", "2027")
    page.fill("#proposed_end-day", "26")
    page.fill("#proposed_end-month", "3")
    page.fill("#proposed_end-year", "2027")
    page.fill("#objectives", "Re-engage with English and maths")
    page.check("input[name='transport_required'][value='no']")
    page.get_by_role("button", name="Send referral").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("Referral made")
    case_url = page.url
    assert re.search(r"/cases/\d+$", case_url)

    # Provider suitability (school AP lead), first with a mistake to see the GOV.UK errors.
    open_team_task(page, base, "Check the provider is suitable")
    page.get_by_role("button", name="Submit").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_be_focused()
    expect(page.locator("#registration_consideration-error")).to_be_visible()
    assert_accessible(page, "task with errors")
    page.check("input[name='provider_suitable'][value='yes']")
    page.fill("#registration_consideration", "Registered school, so no limit on full-time pupils.")
    page.screenshot(path=str(SHOTS / "task-form.png"), full_page=True)
    assert_accessible(page, "task")
    submit(page)
    page.goto(base + "/inbox?tab=team")
    expect(page.get_by_text("There are no open tasks for your team")).to_be_visible()

    # Safeguarding check (DSL).
    sign_in(page, base, "dsl")
    open_team_task(page, base, "Check the provider's safeguarding arrangements")
    page.check("input[name='staff_checks_confirmed'][value='yes']")
    for prefix in ("written_confirmation_date", "site_visit_date"):
        page.fill(f"#{prefix}-day", "2")
        page.fill(f"#{prefix}-month", "11")
        page.fill(f"#{prefix}-year", "2026")
    page.check("input[name='policies_reviewed'][value='yes']")
    page.fill("#provider_safeguarding_lead", "Jo Smith, 01234 567890")
    page.check("input[name='safeguarding_outcome'][value='pass']")
    submit(page)

    # Consult the parents (school AP lead): claim it first, so it is in "My tasks".
    sign_in(page, base, "lead")
    page.goto(base + "/inbox?tab=team")
    page.get_by_role("button", name=re.compile("^Claim")).first.click()
    expect(page.get_by_role("link", name=re.compile(r"My tasks \(1\)"))).to_be_visible()
    page.screenshot(path=str(SHOTS / "inbox.png"), full_page=True)
    assert_accessible(page, "inbox")
    page.get_by_role("link", name="Consult the pupil's parents or carers").click()
    page.fill("#parents_consulted_on-day", "3")
    page.fill("#parents_consulted_on-month", "11")
    page.fill("#parents_consulted_on-year", "2026")
    page.check("input[name='parents_told_reasons_and_duration'][value='yes']")
    page.fill("#parent_views", "They want Sam back in school full time by Easter.")
    page.check("input[name='parent_agrees'][value='agree']")
    submit(page)

    # The head teacher approves.
    sign_in(page, base, "head")
    open_team_task(page, base, "Decide whether to approve the placement")
    page.check("input[name='decision'][value='approve']")
    submit(page)

    # The case page: the placement moved on, and the diagram shows where it is.
    page.goto(case_url)
    expect(page.get_by_text("Current stage: Commissioning agreement")).to_be_visible()
    expect(page.get_by_text("completed “Decide whether to approve the placement”")).to_be_visible()
    diagram = page.locator("#diagram")
    expect(diagram.locator("svg").first).to_be_visible()
    expect(diagram).to_have_attribute("data-highlighted", re.compile(r"^[1-9]\d*$"))
    assert diagram.locator(".djs-element.app-completed").count() >= 4
    assert diagram.locator(".djs-element.app-active").count() >= 1
    assert diagram.locator("[data-element-id='decision_stage'].app-completed").count() == 1
    assert diagram.locator("[data-element-id='agreement_stage'].app-active").count() == 1
    expect(page.locator(".bjs-powered-by")).to_be_visible()  # the bpmn.io watermark stays
    page.screenshot(path=str(SHOTS / "case.png"), full_page=True)
    assert_accessible(page, "case")
    assert not csp_errors(page), csp_errors(page)
