"""Delivering queued emails over SMTP, each once, with backoff when the server is away."""
from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage

from flask import Flask
from sqlalchemy import select

from workflows import clock

from .models import OutboxEmail
from .timers import backoff

log = logging.getLogger(__name__)


def deliver_outbox(app: Flask, limit: int = 100) -> int:
    """Send due emails; with no SMTP_HOST configured they stay visible on the outbox page."""
    config = app.config
    if not config.get("SMTP_HOST"):
        return 0
    sessions = app.extensions["placements.sessions"]
    sent = 0
    for _ in range(limit):
        with sessions() as session:
            stmt = (select(OutboxEmail).where(OutboxEmail.sent_at.is_(None),
                                              OutboxEmail.next_attempt_at <= clock.now())
                    .order_by(OutboxEmail.id).limit(1))
            if session.get_bind().dialect.name == "postgresql":
                stmt = stmt.with_for_update(skip_locked=True)
            email = session.scalar(stmt)
            if email is None:
                break
            try:
                _send(config, email)
            except (OSError, smtplib.SMTPException) as error:
                email.attempts += 1
                email.last_error = f"{type(error).__name__}: {error}"[:1000]
                email.next_attempt_at = clock.now() + backoff(email.attempts)
                session.commit()
                log.warning("email %s not sent (attempt %s): %s", email.id, email.attempts, error)
                break  # the server is away: try the rest later
            email.sent_at = clock.now()
            email.attempts += 1
            session.commit()
            sent += 1
    return sent


def _send(config, email: OutboxEmail) -> None:
    message = EmailMessage()
    message["From"] = config["MAIL_FROM"]
    message["To"] = email.to_address
    message["Subject"] = email.subject
    message["Message-ID"] = f"<outbox-{email.id}@placements>"
    message.set_content(email.body)
    host, port = config["SMTP_HOST"], int(config["SMTP_PORT"])
    smtp_class = smtplib.SMTP_SSL if config.get("SMTP_SSL") else smtplib.SMTP
    with smtp_class(host, port, timeout=10) as smtp:
        if config.get("SMTP_STARTTLS"):
            smtp.starttls(context=ssl.create_default_context())
        if config.get("SMTP_USERNAME"):
            smtp.login(config["SMTP_USERNAME"], config["SMTP_PASSWORD"])
        smtp.send_message(message)
