"""The timer scheduler: APScheduler for waking up, the database for the truth.

It sleeps until the earliest due timer (a date job re-armed after each tick), with a slow safety
poll as a backstop. Nothing is kept in an APScheduler job store, so any number of schedulers may
run (on PostgreSQL they share the due cases through SKIP LOCKED).
"""
from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta, timezone

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask

from workflows import clock

from .timers import next_due, run_due_timers

log = logging.getLogger(__name__)
WAKE_JOB = "wake"


class TimerScheduler:
    def __init__(self, app: Flask, scheduler):
        self.app = app
        self.scheduler = scheduler
        self._tick_lock = threading.Lock()

    def tick(self) -> None:
        if not self._tick_lock.acquire(blocking=False):
            return
        try:
            fired = run_due_timers(self.app)
            if fired:
                log.info("fired %d timer(s)", fired)
            from .mailer import deliver_outbox
            deliver_outbox(self.app)
        except Exception:
            log.exception("scheduler tick failed")
        finally:
            self._tick_lock.release()
            self.arm()

    def arm(self) -> None:
        """Wake at the next due time (or at the safety poll, whichever is sooner)."""
        try:
            due = next_due(self.app)
        except Exception:
            log.exception("could not read the next due time")
            due = None
        poll = clock.now() + timedelta(seconds=self.app.config["SCHEDULER_SAFETY_POLL_SECONDS"])
        when = min(due, poll) if due else poll
        # The scheduler's own clock is real time; convert a travelled clock's offset.
        real_when = when - (clock.now() - datetime.now(timezone.utc))
        self.scheduler.add_job(self.tick, "date", run_date=real_when, id=WAKE_JOB, replace_existing=True,
                               misfire_grace_time=None, coalesce=True)

    def start(self) -> None:
        self.scheduler.add_job(self.tick, "date", id=WAKE_JOB, replace_existing=True)  # fire what is overdue now
        self.scheduler.start()


_running: TimerScheduler | None = None


def start_in_app(app: Flask) -> TimerScheduler:
    """Start the scheduler thread inside the web process (`serve`), once."""
    global _running
    if _running is None:
        _running = TimerScheduler(app, BackgroundScheduler(timezone="UTC"))
        _running.start()
        app.extensions["placements.scheduler"] = _running
    return _running


def wake_soon(app: Flask) -> None:
    """After a save that may have added an earlier timer, re-arm the wake-up."""
    running = app.extensions.get("placements.scheduler")
    if running is not None:
        running.arm()


def run_foreground(app: Flask) -> None:
    scheduler = TimerScheduler(app, BlockingScheduler(timezone="UTC"))
    log.info("scheduler running; Ctrl+C to stop")
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass
