"""Placement records in real Chromium: the provider registers a week, the school authorises one
absence, the dashboard figure changes and drills down to the case. (The dashboard screenshot is
taken over the demo data, in test_accessibility.)

The app runs in a thread (werkzeug) over a temporary SQLite database with CSRF on. The case is
driven to 'Placement active' through the deployed lifecycle, and the clock is fixed at Friday
26 September 2025, 4pm, for the server and the test alike.
"""
from __future__ import annotations

from datetime import date

import pytest

pytest.importorskip("playwright")
from playwright.sync_api import expect  # noqa: E402

from service import create_app, migrate, processes  # noqa: E402
from service.models import User  # noqa: E402
from workflows import clock  # noqa: E402

from ..records.helpers import at, setup_world, start_active_case  # noqa: E402
from .conftest import csp_errors, serving, sign_in  # noqa: E402

pytestmark = pytest.mark.browser



@pytest.fixture
def server(tmp_path):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'records.sqlite'}",
                      "SECRET_KEY": "browser-test", "WTF_CSRF_ENABLED": True, "RATELIMIT_ENABLED": False})
    migrate.upgrade(app.extensions["placements.engine"])
    processes._cache.clear()
    sessions = app.extensions["placements.sessions"]
    with app.app_context():
        w = setup_world(sessions)
        case_id = start_active_case(sessions, w, pattern="full_time", sessions_per_week=10)
    with sessions() as session:
        emails = {k: session.get(User, w[k]).email for k in ("provider_staff", "head", "lead")}
    clock.set(at(date(2025, 9, 26)))
    with serving(app) as url:
        yield {"url": url, "case_id": case_id, "emails": emails, "provider_id": w["provider"]}


def test_register_week_authorise_and_drill_down(server, page):
    base, case_id, emails = server["url"], server["case_id"], server["emails"]

    # The provider registers the week of 22 September: present Mon-Thu, ill Friday morning, N Friday afternoon.
    sign_in(page, base, emails["provider_staff"])
    page.goto(f"{base}/cases/{case_id}/attendance/week?start=2025-09-22")
    expect(page.get_by_role("heading", level=1)).to_contain_text("week beginning 22 September 2025")
    for day in ("Monday 22", "Tuesday 23", "Wednesday 24", "Thursday 25"):
        page.get_by_label(f"Code for {day} September, morning").select_option("/")
        page.get_by_label(f"Code for {day} September, afternoon").select_option("\\")
    page.get_by_label("Code for Friday 26 September, morning").select_option("C")
    page.get_by_role("button", name="Save the register").click()
    # C needs a note: the GOV.UK error summary links to the note field and nothing is saved.
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_contain_text("Add a note")
    summary.get_by_role("link").first.click()
    expect(page.get_by_label("Note for Friday 26 September, morning")).to_be_focused()
    page.get_by_label("Code for Friday 26 September, morning").select_option("I")
    page.get_by_label("Code for Friday 26 September, afternoon").select_option("N")
    page.get_by_role("button", name="Save the register").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("10 sessions registered")
    expect(page.locator("#week-percent")).to_have_text("80%")

    # The school sees two absences waiting for its decision on the dashboard.
    sign_in(page, base, emails["head"])
    page.goto(base + "/dashboard")
    awaiting = page.locator("#awaiting-decision")
    expect(awaiting).to_contain_text("2")
    expect(page.locator(f'a[data-provider="{server["provider_id"]}"][data-week="2025-09-22"]')).to_have_text("80%")

    # The head teacher authorises the illness.
    page.goto(f"{base}/cases/{case_id}/attendance")
    page.get_by_label("School's note for 26 September 2025 AM").fill("Parent phoned at 8.30am")
    page.get_by_role("button", name="Authorise absence on 26 September 2025 AM").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("Decision recorded")

    # The dashboard figure changes, and drills down to the case.
    page.goto(base + "/dashboard")
    expect(awaiting).to_contain_text("1")
    expect(awaiting).not_to_contain_text("2")
    awaiting.click()
    expect(page.locator("#count")).to_have_text("1 placement")
    page.get_by_role("link", name=f"AP-{case_id:05d}").click()
    expect(page.get_by_role("heading", level=1, name="Placement record")).to_be_visible()
    expect(page.locator("body")).to_contain_text("1 authorised and 1 unauthorised absences, 1 waiting")
    assert csp_errors(page) == []
