"""The admin page for timer incidents: list, retry (admin only)."""
from __future__ import annotations

from datetime import timedelta

from service import casework, timers
from service.models import Case, TimerIncident
from tests.service.factories import PASSWORD, user
from workflows import clock

from .helpers import notes, setup_world, start_case


def _sign_in(app, sessions, user_id):
    from service.models import User
    with sessions() as session:
        email = session.get(User, user_id).email
    client = app.test_client()
    response = client.post("/sign-in", data={"email": email, "password": PASSWORD})
    assert response.status_code == 302
    return client


def test_admin_sees_a_parked_case_and_retries_it(app, sessions, monkeypatch):
    w = setup_world(sessions, "wait")
    with sessions() as session:
        admin_id = user(session, None, "admin").id
        session.commit()
    case_id = start_case(sessions, w, "timer_wait")
    monkeypatch.setattr(casework, "fire_timers", lambda session, cid: 1 / 0)
    clock.travel(timedelta(hours=1, seconds=1))
    for _ in range(timers.MAX_ATTEMPTS):
        timers.run_due_timers(app)
        clock.travel(timedelta(hours=1))
    monkeypatch.undo()
    with sessions() as session:
        assert session.get(Case, case_id).next_timer_at is None

    lead = _sign_in(app, sessions, w["lead"])
    assert lead.get("/incidents").status_code == 403
    assert lead.post(f"/incidents/{case_id}/retry").status_code == 403

    admin = _sign_in(app, sessions, admin_id)
    page = admin.get("/incidents").get_data(as_text=True)
    assert f"AP-{case_id:05d}" in page and "ZeroDivisionError" in page and "wait_an_hour" in page
    assert "Sam" not in page and "Taylor" not in page
    response = admin.post(f"/incidents/{case_id}/retry")
    assert response.status_code == 302
    assert "will be retried now" in admin.get("/incidents").get_data(as_text=True)
    assert admin.post(f"/incidents/{case_id}/retry").status_code == 404  # nothing open any more
    assert timers.run_due_timers(app) == 1
    assert len(notes(sessions, "Reminder", case_id)) == 1
    with sessions() as session:
        [incident] = session.query(TimerIncident).all()
        assert incident.resolution == "retried" and incident.resolved_by_id == admin_id
