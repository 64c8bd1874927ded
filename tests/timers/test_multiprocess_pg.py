"""Several scheduler processes on one PostgreSQL database: every due timer fires exactly once,
and a scheduler killed mid-run (SIGKILL) loses nothing.

PostgreSQL only (FOR UPDATE SKIP LOCKED between real OS processes): these tests build their own
PostgreSQL schema instead of using the sqlite/postgres `db_url` parameter, so they always run.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text

from service.models import AuditEvent, Notification, OutboxEmail, TaskRecord, WaitingTimer
from workflows import clock

from ..conftest import PG_URL
from .helpers import count, setup_world, start_case

pytestmark = pytest.mark.postgres_only
CASES = 200
PLACEMENTS = str(Path(sys.executable).with_name("placements"))


@pytest.fixture
def pg(tmp_path):
    """A migrated app on a fresh PostgreSQL schema, and the URL other processes use."""
    from service import create_app, migrate, processes
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "test-secret"})
    migrate.upgrade(app.extensions["placements.engine"])
    processes._cache.clear()
    try:
        yield app, url
    finally:
        app.extensions["placements.engine"].dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _due_cases(app) -> list[int]:
    """CASES cases, each with one timer that fell due an hour ago (in real time)."""
    sessions = app.extensions["placements.sessions"]
    w = setup_world(sessions, "wait")
    clock.travel(timedelta(hours=-2))
    started = time.monotonic()
    ids = [start_case(sessions, w, "timer_wait") for _ in range(CASES)]
    clock.reset()
    print(f"\n{CASES} cases started in {time.monotonic() - started:.1f} s")
    return ids


def _env(url: str) -> dict:
    return {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "test-secret", "SMTP_HOST": "",
            "SCHEDULER_SAFETY_POLL_SECONDS": "2", "PYTHONUNBUFFERED": "1"}


def _fired(app) -> int:
    return count(app.extensions["placements.sessions"], AuditEvent, AuditEvent.type == "timers_fired")


def _assert_each_fired_exactly_once(app, ids: list[int]) -> None:
    sessions = app.extensions["placements.sessions"]
    with sessions() as session:
        per_case = dict(session.execute(
            select(AuditEvent.case_id, func.count()).where(AuditEvent.type == "timers_fired")
            .group_by(AuditEvent.case_id)).all())
    assert sorted(per_case) == sorted(ids)
    assert set(per_case.values()) == {1}
    # The effects, counted: one reminder, one email, one new task per case; nothing still waiting.
    assert count(sessions, Notification) == CASES
    assert count(sessions, OutboxEmail) == CASES
    assert count(sessions, TaskRecord, TaskRecord.element_id == "check", TaskRecord.state == "open") == CASES
    assert count(sessions, WaitingTimer) == 0


def test_two_run_timers_processes_fire_200_due_timers_exactly_once(pg):
    app, url = pg
    ids = _due_cases(app)
    procs = [subprocess.Popen([PLACEMENTS, "run-timers"], env=_env(url), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=240) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1][-2000:] for o in outputs]
    fired = [int(re.search(r"(\d+) timer\(s\) fired", out).group(1)) for out, _ in outputs]
    print(f"\nrun-timers processes fired {fired} (sum {sum(fired)})")
    assert sum(fired) == CASES
    _assert_each_fired_exactly_once(app, ids)


def test_killing_one_scheduler_mid_run_loses_nothing_and_doubles_nothing(pg):
    app, url = pg
    ids = _due_cases(app)
    victim = subprocess.Popen([PLACEMENTS, "scheduler"], env=_env(url), stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    survivor = None
    try:
        deadline = time.monotonic() + 120
        while _fired(app) < 20 and time.monotonic() < deadline:
            time.sleep(0.01)
        # The second scheduler starts while the first is working: they share the due rows.
        survivor = subprocess.Popen([PLACEMENTS, "scheduler"], env=_env(url), stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE, text=True)
        while _fired(app) < 60 and time.monotonic() < deadline:
            time.sleep(0.01)
        victim.send_signal(signal.SIGKILL)  # mid-transaction, most likely: nothing to clean up
        victim.wait(10)
        at_kill = _fired(app)
        killed_at = time.monotonic()
        assert at_kill < CASES, "the first scheduler finished before it could be killed"
        while _fired(app) < CASES and time.monotonic() < deadline:
            time.sleep(0.05)
        finished = time.monotonic() - killed_at
        time.sleep(2.5)  # one more safety poll: nothing fires twice
        print(f"killed one scheduler at {at_kill}/{CASES} fired; the other fired the rest in {finished:.1f} s")
    finally:
        for proc in (victim, survivor):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()
    _assert_each_fired_exactly_once(app, ids)
