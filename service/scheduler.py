"""The timer scheduler: APScheduler for waking up, the database for the truth.

It sleeps until the earliest due timer (one APScheduler *date* job, re-armed after each tick and
after each commit that stored an earlier timer), with a slow safety poll as a backstop. Nothing is
kept in an APScheduler job store, so any number of schedulers may run (on PostgreSQL they share
the due cases through SKIP LOCKED; on SQLite the database lock serialises them).

Time: due times are in the injectable clock (`workflows.clock`), APScheduler sleeps in real
time. `arm` converts a clock instant to a real one with the clock's current offset, so tests that
travel the clock still get a wake-up at the right real moment.

Where it runs: `placements scheduler` (its own process, `run_foreground`) or inside the one
`placements serve` process (`start_in_app`). `create_app` never starts it when TESTING, nor
unless START_SCHEDULER is set (only `serve` sets it), so gunicorn workers built with
`create_app()` never run one.

Waking after a save: `install_commit_hook` listens to the app's sessions; a commit that set some
case's `next_timer_at` earlier than the armed wake-up moves the wake-up (no query, a comparison
per flushed case). On PostgreSQL the same hook sends `NOTIFY placements_timers`, so a scheduler
in another process (`placements scheduler`) wakes too: it LISTENs on its own connection. On
SQLite, which cannot notify, a scheduler reads the earliest due time each second instead.

Email delivery runs as a separate job (its own thread), so a slow SMTP server never delays a
timer.
"""
from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta, timezone
from itertools import chain

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask
from sqlalchemy import event, inspect, text

from workflows import clock

from .models import Case
from .timers import next_due, run_due_timers

log = logging.getLogger(__name__)
WAKE_JOB = "wake"
MAIL_JOB = "mail"
MAIL_NOW_JOB = "mail-now"
NOTIFY_CHANNEL = "placements_timers"
_SESSION_KEY = "placements.earliest_timer"


def to_real(when: datetime) -> datetime:
    """A clock instant as a real (wall-clock) instant, for APScheduler."""
    return when - (clock.now() - datetime.now(timezone.utc))


class TimerScheduler:
    def __init__(self, app: Flask, scheduler, poll_seconds: float | None = None,
                 mail_seconds: float | None = None):
        # The CLI hands us `current_app`, a proxy bound to the main thread: keep the real app.
        self.app = app._get_current_object() if hasattr(app, "_get_current_object") else app
        self.scheduler = scheduler
        self.poll_seconds = float(poll_seconds or app.config.get("SCHEDULER_SAFETY_POLL_SECONDS", 60))
        self.mail_seconds = float(mail_seconds or app.config.get("MAIL_POLL_SECONDS", 30))
        self.watch_seconds = float(app.config.get("SCHEDULER_SQLITE_WATCH_SECONDS", 1))
        self._tick_lock = threading.Lock()
        self._state = threading.Lock()
        self._armed_at: datetime | None = None  # clock time of the pending wake-up
        self._hint: datetime | None = None      # an earlier due time noticed during a tick
        self._listener: threading.Thread | None = None
        self._stopping = threading.Event()
        self.ticks = 0

    # ------------------------------------------------------------------ the tick
    def tick(self) -> None:
        if not self._tick_lock.acquire(blocking=False):
            return  # a tick is running; it re-arms when it ends
        try:
            if self._stopping.is_set():
                return
            with self._state:
                self._hint = None  # this tick's claim query sees everything committed before it
                self._armed_at = None
            self.ticks += 1
            fired = run_due_timers(self.app)
            if fired:
                log.info("fired %d timer(s)", fired)
                self.mail_soon()
        except Exception:
            log.exception("scheduler tick failed")
        finally:
            try:
                self.arm()  # inside the lock: `stop` waits for it, so it never races the shutdown
            finally:
                self._tick_lock.release()

    def arm(self) -> None:
        """Wake at the next due time (or at the safety poll, whichever is sooner)."""
        if self._stopping.is_set():
            return
        try:
            due = next_due(self.app)
        except Exception:
            log.exception("could not read the next due time")
            due = None
        poll = clock.now() + timedelta(seconds=self.poll_seconds)
        with self._state:
            when = min(d for d in (due, poll, self._hint) if d is not None)
        self._schedule(when)
        with self._state:  # an earlier timer noticed while we were reading the database
            late_hint = self._hint if self._hint is not None and self._hint < when else None
        if late_hint is not None:
            self._schedule(late_hint)

    def _schedule(self, when: datetime) -> None:
        if self._stopping.is_set():
            return
        with self._state:
            self._armed_at = when
        # A wake-up in the past runs at once (misfire_grace_time=None: never dropped).
        self.scheduler.add_job(self.tick, "date", run_date=to_real(when), id=WAKE_JOB,
                               replace_existing=True, misfire_grace_time=None, coalesce=True,
                               max_instances=1)

    def notice(self, due: datetime) -> None:
        """A commit stored a timer due at `due`: wake earlier if that is before the armed time."""
        with self._state:
            if self._armed_at is not None and due >= self._armed_at:
                return
            self._hint = due if self._hint is None else min(self._hint, due)
            if self._tick_lock.locked():  # the running tick re-arms with the hint when it ends
                return
        self._schedule(due)

    @property
    def armed_at(self) -> datetime | None:
        return self._armed_at

    # ------------------------------------------------------------------ email
    def deliver_mail(self) -> None:
        from .mailer import deliver_outbox
        try:
            deliver_outbox(self.app)
        except Exception:
            log.exception("email delivery failed")

    def mail_soon(self) -> None:
        if self._stopping.is_set():
            return
        self.scheduler.add_job(self.deliver_mail, "date", id=MAIL_NOW_JOB, replace_existing=True,
                               misfire_grace_time=None, coalesce=True)

    # ------------------------------------------------------------------ life cycle
    def start(self) -> None:
        # Run a tick at once: timers that fell due while nothing was running fire now, in due order.
        self.scheduler.add_job(self.tick, "date", id=WAKE_JOB, replace_existing=True,
                               misfire_grace_time=None, max_instances=1)
        self.scheduler.add_job(self.deliver_mail, "interval", seconds=self.mail_seconds, id=MAIL_JOB,
                               replace_existing=True, coalesce=True, max_instances=1,
                               next_run_time=datetime.now(timezone.utc))
        self._start_listener()
        self.scheduler.start()

    def stop(self) -> None:
        """Stop after the running tick (if any) has finished and re-armed nothing."""
        self._stopping.set()
        with self._tick_lock:
            if self.scheduler.running:
                # APScheduler's shutdown holds its job store lock while it waits for running
                # jobs, so it must never wait for a tick that could still add a job: we hold
                # the tick lock, so no tick body is running or can start.
                self.scheduler.shutdown(wait=True)

    def _start_listener(self) -> None:
        """Hear of saves made by other processes (web workers, the CLI): on PostgreSQL, LISTEN;
        SQLite has no notifications, so read the earliest due time every second (one indexed
        MIN, well under a millisecond) instead."""
        engine = self.app.extensions["placements.engine"]
        if self._listener is not None:
            return
        if engine.dialect.name == "postgresql":
            target, args, name = self._listen, (engine,), "placements-timer-listen"
        else:
            target, args, name = self._watch, (), "placements-timer-watch"
        self._listener = threading.Thread(target=target, args=args, daemon=True, name=name)
        self._listener.start()

    def _watch(self) -> None:
        while not self._stopping.wait(self.watch_seconds):
            try:
                due = next_due(self.app)
            except Exception:
                log.exception("could not read the next due time")
                continue
            if due is not None:
                self.notice(due)  # does nothing unless it is earlier than the armed wake-up

    def _listen(self, engine) -> None:
        while not self._stopping.is_set():
            try:
                raw = engine.raw_connection()
                try:
                    conn = raw.driver_connection
                    conn.autocommit = True
                    conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    while not self._stopping.is_set():
                        for note in conn.notifies(timeout=1.0):
                            try:
                                self.notice(datetime.fromisoformat(note.payload))
                            except ValueError:
                                pass
                finally:
                    raw.invalidate()  # never hand a LISTENing connection back to the pool
            except Exception:
                log.exception("LISTEN connection lost; reconnecting")
                self._stopping.wait(5)


# ---------------------------------------------------------------------- the commit hook

def install_commit_hook(app: Flask) -> None:
    """After each commit that set a case's next timer, tell the scheduler (and, on PostgreSQL,
    other processes' schedulers). Cheap: a history check per flushed Case, no query."""
    sessions = app.extensions["placements.sessions"]
    if getattr(sessions, "_placements_hooked", False):
        return
    sessions._placements_hooked = True
    postgres = app.extensions["placements.engine"].dialect.name == "postgresql"

    @event.listens_for(sessions, "after_flush")
    def _collect(session, _context):
        earliest = session.info.get(_SESSION_KEY)
        for obj in chain(session.new, session.dirty):
            if not isinstance(obj, Case):
                continue
            for value in inspect(obj).attrs.next_timer_at.history.added:
                if value is not None and (earliest is None or value < earliest):
                    earliest = value
        if earliest is not None:
            session.info[_SESSION_KEY] = earliest

    if postgres:
        @event.listens_for(sessions, "before_commit")
        def _notify(session):
            due = session.info.get(_SESSION_KEY)
            if due is None:
                session.flush()
                due = session.info.get(_SESSION_KEY)
            if due is not None:
                session.execute(text("SELECT pg_notify(:channel, :due)"),
                                {"channel": NOTIFY_CHANNEL, "due": due.isoformat()})

    @event.listens_for(sessions, "after_commit")
    def _wake(session):
        due = session.info.pop(_SESSION_KEY, None)
        running = app.extensions.get("placements.scheduler")
        if due is not None and running is not None:
            running.notice(due)

    @event.listens_for(sessions, "after_rollback")
    def _forget(session):
        session.info.pop(_SESSION_KEY, None)


# ---------------------------------------------------------------------- entry points

_running: TimerScheduler | None = None
_start_lock = threading.Lock()


def start_in_app(app: Flask) -> TimerScheduler:
    """Start the scheduler thread inside the web process (`serve`), once."""
    global _running
    with _start_lock:
        if _running is None:
            _running = TimerScheduler(app, BackgroundScheduler(timezone="UTC"))
            app.extensions["placements.scheduler"] = _running
            install_commit_hook(app)
            _running.start()
    return _running


def wake_soon(app: Flask) -> None:
    """Re-arm the in-process wake-up from the database (the commit hook usually does this)."""
    running = app.extensions.get("placements.scheduler")
    if running is not None:
        running.arm()


def run_foreground(app: Flask) -> None:
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        logging.getLogger("apscheduler").setLevel(logging.WARNING)  # one line per job run is noise
    scheduler = TimerScheduler(app, BlockingScheduler(timezone="UTC"))
    app = scheduler.app
    app.extensions["placements.scheduler"] = scheduler
    install_commit_hook(app)
    log.info("scheduler running; Ctrl+C to stop")
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        scheduler._stopping.set()
