"""Reminder emails over a real SMTP server on loopback (aiosmtpd): once each, kept in the outbox
with backoff while the server is down, delivered when it returns."""
from __future__ import annotations

import socket
from datetime import datetime, timedelta, timezone
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from service import mailer, timers
from service.models import OutboxEmail
from workflows import clock

from .helpers import setup_world, start_case

MONDAY = datetime(2027, 1, 4, 9, 0, tzinfo=timezone.utc)


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp():
    port = free_port()
    inbox = Inbox()
    server = {"controller": None}

    def up():
        server["controller"] = Controller(inbox, hostname="127.0.0.1", port=port)
        server["controller"].start()

    def down():
        server["controller"].stop()
        server["controller"] = None

    up()
    yield port, inbox, up, down
    if server["controller"] is not None:
        down()


@pytest.fixture
def mail_app(make_app, smtp):
    port = smtp[0]
    return make_app(SMTP_HOST="127.0.0.1", SMTP_PORT=port, MAIL_FROM="placements@example.gov.uk",
                    BASE_URL="https://placements.example.gov.uk")


def _reminders(app, n: int) -> list[int]:
    sessions = app.extensions["placements.sessions"]
    w = setup_world(sessions, "wait")
    ids = [start_case(sessions, w, "timer_wait") for _ in range(n)]
    clock.travel(timedelta(hours=1, seconds=1))
    assert timers.run_due_timers(app) == n
    return ids


def _outbox(app) -> list[OutboxEmail]:
    with app.extensions["placements.sessions"]() as session:
        return list(session.scalars(select(OutboxEmail).order_by(OutboxEmail.id)))


def test_reminder_emails_arrive_once_each(mail_app, smtp):
    _, inbox, _, _ = smtp
    clock.set(MONDAY)
    ids = _reminders(mail_app, 3)
    assert mailer.deliver_outbox(mail_app) == 3
    assert mailer.deliver_outbox(mail_app) == 0
    clock.travel(timedelta(hours=2))
    assert mailer.deliver_outbox(mail_app) == 0
    assert len(inbox.messages) == 3
    message_ids = {m["Message-ID"] for _, m in inbox.messages}
    assert len(message_ids) == 3 and all(mid.endswith("@example.gov.uk>") for mid in message_ids)
    for (rcpt, message), case_id in zip(inbox.messages, ids):
        body = message.get_content()
        assert message["Subject"].startswith("Reminder: check the first week (AP-")
        assert f"https://placements.example.gov.uk/cases/{case_id}" in body
        assert "Sam" not in body and "Taylor" not in body and "Taylor" not in message["Subject"]
    assert all(e.sent_at is not None and e.attempts == 1 for e in _outbox(mail_app))


def test_server_down_keeps_emails_with_backoff_then_delivers_when_it_returns(mail_app, smtp):
    _, inbox, up, down = smtp
    clock.set(MONDAY)
    down()
    _reminders(mail_app, 2)
    assert mailer.deliver_outbox(mail_app) == 0
    emails = _outbox(mail_app)
    assert [e.attempts for e in emails] == [1, 1] and all(e.sent_at is None for e in emails)
    assert all("Connection refused" in e.last_error or "Errno" in e.last_error for e in emails)
    assert all(e.next_attempt_at == clock.now() + timedelta(minutes=1) for e in emails)
    assert mailer.deliver_outbox(mail_app) == 0 and [e.attempts for e in _outbox(mail_app)] == [1, 1]
    clock.travel(timedelta(minutes=1, seconds=1))
    assert mailer.deliver_outbox(mail_app) == 0
    assert [e.attempts for e in _outbox(mail_app)] == [2, 2]
    assert all(e.next_attempt_at == clock.now() + timedelta(minutes=2) for e in _outbox(mail_app))
    up()
    clock.travel(timedelta(minutes=1))
    assert mailer.deliver_outbox(mail_app) == 0  # still backing off
    clock.travel(timedelta(minutes=1, seconds=1))
    assert mailer.deliver_outbox(mail_app) == 2
    assert mailer.deliver_outbox(mail_app) == 0
    assert len(inbox.messages) == 2
    assert all(e.sent_at is not None and e.last_error is None for e in _outbox(mail_app))


def test_a_claim_lost_in_a_crash_is_retried_after_the_lease_only(mail_app, smtp):
    _, inbox, _, _ = smtp
    clock.set(MONDAY)
    _reminders(mail_app, 1)
    sessions = mail_app.extensions["placements.sessions"]
    [claimed] = mailer._claim(sessions, 10)  # a scheduler claimed it, then died before sending
    assert mailer.deliver_outbox(mail_app) == 0  # leased: no one else sends it
    clock.travel(mailer.LEASE + timedelta(seconds=1))
    assert mailer.deliver_outbox(mail_app) == 1
    assert len(inbox.messages) == 1 and _outbox(mail_app)[0].attempts == 2


def test_without_smtp_host_emails_stay_visible_in_the_outbox(make_app):
    app = make_app(SMTP_HOST="")
    clock.set(MONDAY)
    _reminders(app, 1)
    assert mailer.deliver_outbox(app) == 0
    with app.extensions["placements.sessions"]() as session:
        [email] = mailer.list_outbox(session, unsent_only=True)
        assert email.sent_at is None and email.attempts == 0
