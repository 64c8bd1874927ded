"""Timer benchmark: many waiting timers, a few due. Prints figures; it is not a test.

    .venv/bin/python bench/timers.py                       # 100,000 timers, 1% due, SQLite + PostgreSQL
    .venv/bin/python bench/timers.py --timers 10000 --db sqlite

For each database:
  * N waiting timers: the due 1% are real cases (started through casework, timer "PT1H"); the
    rest are bulk-inserted rows (cases + waiting_timers, due 1-90 days ahead) that must never be
    touched;
  * an idle tick (nothing due) and `next_due` with all N waiting: their cost must not grow with N;
  * one tick firing the due 1%: its time, the number of instances loaded (Instance.load calls,
    must equal the number due) and the cost per fired case;
  * the delay between a timer's due time and its firing while the scheduler runs (APScheduler
    date job + commit hook), over timers spread across a 20 s window: median and p95.
PostgreSQL runs in a schema of its own (PG_TEST_URL or postgres@127.0.0.1/test), dropped after.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from apscheduler.schedulers.background import BackgroundScheduler  # noqa: E402
from sqlalchemy import create_engine, insert, select, text  # noqa: E402

from service import casework, create_app, migrate, processes, timers  # noqa: E402
from service.models import AuditEvent, Case, Organisation, ProcessVersion, Pupil, User, WaitingTimer  # noqa: E402
from service.scheduler import TimerScheduler  # noqa: E402
from tests.service.factories import referral, world  # noqa: E402
from workflows import Instance, clock  # noqa: E402

PG_URL = os.environ.get("PG_TEST_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BUNDLE = REPO / "tests" / "timers" / "bundles" / "wait"
LOADS = {"n": 0}


def _count_loads() -> None:
    original = Instance.load.__func__

    def counted(cls, bundle, state):
        LOADS["n"] += 1
        return original(cls, bundle, state)

    Instance.load = classmethod(counted)


def _start_cases(sessions, ids, n: int, at, batch: int = 50) -> list[int]:
    """n real cases started at clock time `at` (a callable i -> datetime)."""
    started = []
    with sessions() as session:
        lead = session.get(User, ids["lead"])
        orgs = {k: session.get(Organisation, ids[k]) for k in ("school", "provider", "la", "other_provider")}
        body = referral(orgs)
        for i in range(n):
            clock.set(at(i))
            started.append(casework.start_case(session, lead, body, model_key="timer_wait").id)
            if i % batch == batch - 1:
                session.commit()
        session.commit()
    return started


def _bulk_waiting(sessions, n: int, t0, chunk: int = 5000) -> None:
    """n cases that wait 1-90 days ahead, inserted as rows: they must never be loaded."""
    rng = random.Random(1)
    with sessions() as session:
        version_id = session.scalar(select(ProcessVersion.id))
        school_id = session.scalar(select(Organisation.id).where(Organisation.type == "school"))
        pupil = Pupil(upn="B801200005001", first_name="Bench", last_name="Pupil", date_of_birth=date(2012, 5, 4),
                      sen_status="none", school_id=school_id)
        session.add(pupil)
        session.flush()
        next_id = (session.scalar(select(Case.id).order_by(Case.id.desc()).limit(1)) or 0) + 1
        for start in range(0, n, chunk):
            size = min(chunk, n - start)
            dues = [t0 + timedelta(days=1 + rng.random() * 89) for _ in range(size)]
            ids = list(range(next_id + start, next_id + start + size))
            session.execute(insert(Case), [
                {"id": cid, "pupil_id": pupil.id, "school_id": school_id, "model_version_id": version_id,
                 "status": "open", "pattern": "part_time", "data": {}, "state": {}, "lock_version": 1,
                 "next_timer_at": due, "created_at": t0, "updated_at": t0} for cid, due in zip(ids, dues)])
            session.execute(insert(WaitingTimer), [
                {"case_id": cid, "task_id": str(uuid.UUID(int=cid)), "element_id": "wait_an_hour",
                 "due_at": due, "attempts": 0} for cid, due in zip(ids, dues)])
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text(f"SELECT setval(pg_get_serial_sequence('cases', 'id'), {next_id + n})"))
        session.commit()
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("ANALYZE cases; ANALYZE waiting_timers"))
            session.commit()


def _percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def run(name: str, url: str, n_timers: int, delay_cases: int, window: float) -> dict:
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
    migrate.upgrade(app.extensions["placements.engine"])
    sessions = app.extensions["placements.sessions"]
    processes._cache.clear()
    clock.reset()
    t0 = clock.now().replace(microsecond=0)
    with sessions() as session:
        people = world(session)
        processes.deploy(session, processes.read_bundle_path(BUNDLE), note="bench")
        session.commit()
        ids = {k: v.id for k, v in people.items()}
    n_due = max(1, n_timers // 100)
    began = time.perf_counter()
    _start_cases(sessions, ids, n_due, lambda i: t0 - timedelta(hours=2) + timedelta(seconds=i))
    made_due = time.perf_counter() - began
    began = time.perf_counter()
    _bulk_waiting(sessions, n_timers - n_due, t0)
    made_rest = time.perf_counter() - began
    print(f"[{name}] set-up: {n_due} real due cases in {made_due:.1f} s, "
          f"{n_timers - n_due} bulk waiting timers in {made_rest:.1f} s")

    # Idle: nothing due yet (the real ones fall due at t0 - 1h + i s).
    clock.set(t0 - timedelta(hours=1, minutes=30))
    LOADS["n"] = 0
    began = time.perf_counter()
    for _ in range(20):
        timers.run_due_timers(app)
    idle_tick = (time.perf_counter() - began) / 20
    began = time.perf_counter()
    for _ in range(20):
        timers.next_due(app)
    next_due_ms = (time.perf_counter() - began) / 20 * 1000
    assert LOADS["n"] == 0

    # One tick with the 1% due.
    clock.set(t0)
    LOADS["n"] = 0
    began = time.perf_counter()
    fired = timers.run_due_timers(app)
    tick = time.perf_counter() - began
    loaded = LOADS["n"]
    with sessions() as session:
        waiting = session.scalar(select(WaitingTimer.id).order_by(WaitingTimer.id.desc()).limit(1))
        left_due = session.scalar(select(Case.id).where(Case.next_timer_at < clock.now()).limit(1))
    assert left_due is None, "something due was not fired"

    # Delay while the scheduler runs: timers due across a window, the clock running (travelled).
    rng = random.Random(2)
    base = t0 + timedelta(hours=3)
    offsets = sorted(rng.random() * window for _ in range(delay_cases))
    delay_ids = _start_cases(sessions, ids, delay_cases,
                             lambda i: base + timedelta(seconds=offsets[i]) - timedelta(hours=1))
    with sessions() as session:
        dues = dict(session.execute(select(WaitingTimer.case_id, WaitingTimer.due_at)
                                    .where(WaitingTimer.case_id.in_(delay_ids))).all())
    clock.reset()
    clock.travel(base - timedelta(seconds=2))
    scheduler = TimerScheduler(app, BackgroundScheduler(timezone="UTC"), poll_seconds=60, mail_seconds=3600)
    app.extensions["placements.scheduler"] = scheduler
    scheduler.start()
    deadline = time.monotonic() + window + 60
    try:
        while time.monotonic() < deadline:
            with sessions() as session:
                done = dict(session.execute(select(AuditEvent.case_id, AuditEvent.at).where(
                    AuditEvent.type == "timers_fired", AuditEvent.case_id.in_(delay_ids))).all())
            if len(done) == len(delay_ids):
                break
            time.sleep(0.25)
    finally:
        scheduler.stop()
        app.extensions.pop("placements.scheduler", None)
        clock.reset()
    delays = [(done[c] - dues[c]).total_seconds() for c in delay_ids if c in done]
    result = {
        "db": name, "waiting": n_timers, "due": n_due, "fired": fired, "loaded": loaded,
        "tick_s": tick, "per_case_ms": tick / max(fired, 1) * 1000, "idle_tick_ms": idle_tick * 1000,
        "next_due_ms": next_due_ms, "delay_n": len(delays), "delay_missing": len(delay_ids) - len(delays),
        "delay_median_ms": statistics.median(delays) * 1000 if delays else float("nan"),
        "delay_p95_ms": _percentile(delays, 95) * 1000 if delays else float("nan"),
        "delay_max_ms": max(delays) * 1000 if delays else float("nan"),
        "scheduler_ticks": scheduler.ticks,
    }
    app.extensions["placements.engine"].dispose()
    del waiting
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--timers", type=int, default=100_000, help="waiting timers in all (1%% due)")
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--delay-cases", type=int, default=100, help="timers measured for due→fire delay")
    parser.add_argument("--window", type=float, default=20.0, help="seconds those timers are spread over")
    args = parser.parse_args()
    _count_loads()
    results = []
    if args.db in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            results.append(run("sqlite", f"sqlite:///{tmp}/bench.sqlite", args.timers, args.delay_cases, args.window))
    if args.db in ("postgres", "both"):
        schema = f"bench_{uuid.uuid4().hex[:10]}"
        admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            results.append(run("postgres", f"{PG_URL}?options=-csearch_path%3D{schema}", args.timers,
                               args.delay_cases, args.window))
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
    print()
    print(f"{'db':10}{'waiting':>9}{'due':>6}{'loaded':>8}{'tick s':>8}{'ms/case':>9}{'idle ms':>9}"
          f"{'next_due ms':>12}{'delay med ms':>13}{'p95 ms':>8}{'max ms':>8}")
    for r in results:
        print(f"{r['db']:10}{r['waiting']:>9}{r['due']:>6}{r['loaded']:>8}{r['tick_s']:>8.2f}"
              f"{r['per_case_ms']:>9.1f}{r['idle_tick_ms']:>9.2f}{r['next_due_ms']:>12.2f}"
              f"{r['delay_median_ms']:>13.0f}{r['delay_p95_ms']:>8.0f}{r['delay_max_ms']:>8.0f}")
        if r["loaded"] != r["due"] or r["fired"] != r["due"] or r["delay_missing"]:
            print(f"  !! {r['db']}: loaded {r['loaded']}, fired {r['fired']}, due {r['due']}, "
                  f"delay timers not fired {r['delay_missing']}")


if __name__ == "__main__":
    main()
