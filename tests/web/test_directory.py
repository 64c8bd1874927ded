"""The provider directory is public and filterable; notifications and the email outbox."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

from service.models import Notification, OutboxEmail, Provider
from workflows import clock


def _describe(sessions, w):
    with sessions() as session:
        bridge = session.get(Provider, w["provider"])
        bridge.services, bridge.age_min, bridge.age_max = ["Tuition", "Mentoring"], 11, 16
        bridge.ofsted_grade, bridge.ofsted_date = "Good", date(2025, 3, 1)
        bridge.last_safeguarding_check = date(2026, 9, 1)
        harbour = session.get(Provider, w["other_provider"])
        harbour.services, harbour.age_min, harbour.age_max = ["Tuition"], 5, 11
        session.commit()


def test_directory_is_public_and_filters(app, w, sessions):
    _describe(sessions, w)
    client = app.test_client()
    body = client.get("/directory").get_data(as_text=True)
    assert "Bridge Learning Centre" in body and "Harbour Tuition" in body and "Sign in" in body
    assert "Harbour" not in client.get("/directory?service=Mentoring").get_data(as_text=True)
    only_bridge = client.get("/directory?age=14").get_data(as_text=True)
    assert "Bridge Learning Centre" in only_bridge and "Harbour Tuition" not in only_bridge
    unregistered = client.get("/directory?status=unregistered").get_data(as_text=True)
    assert "Harbour Tuition" in unregistered and "Bridge Learning Centre" not in unregistered
    assert "Harbour" not in client.get("/directory?q=bridge").get_data(as_text=True)
    assert client.get("/directory?age=old").status_code == 400


def test_provider_page(app, w, sessions):
    _describe(sessions, w)
    body = app.test_client().get(f"/directory/{w['provider']}").get_data(as_text=True)
    for text in ("Registered school", "Good, inspected 1 March 2025", "1 September 2026",
                 "Staff attended the local authority", "Tuition, Mentoring"):
        assert text in body, text
    with sessions() as session:
        session.get(Provider, w["provider"]).la_training_attended = False
        session.commit()
    assert app.test_client().get(f"/directory/{w['provider']}").status_code == 404
    assert app.test_client().get("/directory/9999").status_code == 404


def test_notifications_and_mark_read(app, w, sessions, sign_in):
    with sessions() as session:
        session.add(Notification(user_id=w["lead"], subject="A review is due", body="Please record it",
                                 created_at=clock.now()))
        session.add(Notification(user_id=w["head"], subject="Not yours", created_at=clock.now()))
        session.commit()
    client = sign_in(w["lead"])
    body = client.get("/notifications").get_data(as_text=True)
    assert "A review is due" in body and "Not yours" not in body and "(1 unread)" in body
    import re
    note_id = re.search(r"/notifications/(\d+)/read", body).group(1)
    client.post(f"/notifications/{note_id}/read")
    body = client.get("/notifications").get_data(as_text=True)
    assert "unread)" not in body and "A review is due" in body
    with sessions() as session:
        assert session.scalar(select(Notification).where(Notification.user_id == w["head"])).read_at is None


def test_email_outbox_for_admins_and_la(app, w, sessions, sign_in):
    from .conftest import email_of
    with sessions() as session:
        now = clock.now()
        session.add(OutboxEmail(to_address=email_of(sessions, w["head"]), subject="Decision waiting", body="Sign in",
                                created_at=now, next_attempt_at=now))
        session.add(OutboxEmail(to_address="someone@elsewhere.example", subject="Elsewhere", body="x",
                                created_at=now, next_attempt_at=now))
        session.commit()
    admin = sign_in(w["admin"]).get("/emails").get_data(as_text=True)
    assert "Decision waiting" in admin and "Elsewhere" in admin
    la = sign_in(w["la_officer"]).get("/emails").get_data(as_text=True)
    assert "Decision waiting" in la and "Elsewhere" not in la
    assert sign_in(w["lead"]).get("/emails").status_code == 403
