"""Profile one persisted completion and one fired timer on the real lifecycle: SQL statements and cProfile.

    .venv/bin/python bench/profile_casework.py [--db sqlite|postgres] [--sql] [--cprofile N]

A case is driven through bpmn/placement as the right users (tests/lifecycle/helpers.FORM_DATA) to
'Placement active'; then the review reminder fires (run_due_timers) and `record_review` is
completed (casework.complete_task). Each is repeated on fresh cases; statements are counted with a
before_cursor_execute listener. Prints figures; it is not a test.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sqlalchemy import create_engine, event, select, text  # noqa: E402

from service import casework, create_app, migrate, processes, timers  # noqa: E402
from service.models import Case, TaskRecord, User  # noqa: E402
from tests.lifecycle.helpers import END, FORM_DATA, START, T0, nine  # noqa: E402
from tests.service.factories import world  # noqa: E402
from workflows import clock  # noqa: E402

PG_URL = os.environ.get("PG_TEST_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
LANE_USER = {"school_ap_lead": "lead", "head_teacher": "head", "dsl": "dsl", "senco": "senco",
             "provider": "provider_staff", "social_worker": "social_worker", "virtual_school": "virtual_school",
             "la_officer": "la_officer"}
TO_ACTIVE = ["check_provider_suitability", "check_safeguarding", "consult_parents", "decide_placement",
             "draft_agreement", "accept_agreement", "inform_family"]


class Statements:
    def __init__(self, engine):
        self.log: list[str] = []
        self.on = False
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, conn, cursor, statement, parameters, context, executemany):
        if self.on:
            self.log.append(" ".join(statement.split())[:160])


def referral_body(w) -> dict:
    return {
        "pupil": {"upn": "B801200005001", "first_name": "Sam", "last_name": "Taylor", "date_of_birth": "2011-05-04",
                  "year_group": 9, "sen_status": "none", "has_social_worker": False, "looked_after": False,
                  "fsm_eligible": False},
        "school_id": w["school"], "provider_id": w["provider"], "reason": "behaviour_intervention",
        "pattern": "part_time", "sessions_per_week": 6, "proposed_start": START.isoformat(),
        "proposed_end": END.isoformat(), "objectives": "Improve attendance.", "transport_required": False,
    }


def do(sessions, w, case_id, element_id, **answers):
    with sessions() as session:
        task = session.scalars(select(TaskRecord).where(
            TaskRecord.case_id == case_id, TaskRecord.state == "open", TaskRecord.element_id == element_id)).one()
        user = session.get(User, w[LANE_USER[task.role]])
        casework.complete_task(session, user, task.id, {**FORM_DATA[element_id], **answers})
        session.commit()


def active_case(app, sessions, w) -> int:
    clock.set(T0)
    with sessions() as session:
        case = casework.start_case(session, session.get(User, w["lead"]), referral_body(w))
        session.commit()
        case_id = case.id
    for element in TO_ACTIVE:
        do(sessions, w, case_id, element)
    return case_id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="sqlite", choices=["sqlite", "postgres"])
    parser.add_argument("--cases", type=int, default=5)
    parser.add_argument("--sql", action="store_true", help="print the statements of the last completion/fire")
    parser.add_argument("--cprofile", type=int, default=0, help="print the top N functions by cumulative time")
    args = parser.parse_args()
    schema = None
    with tempfile.TemporaryDirectory() as folder:
        if args.db == "sqlite":
            url = f"sqlite:///{folder}/prof.sqlite"
        else:
            schema = f"prof_{uuid.uuid4().hex[:8]}"
            admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            url = f"{PG_URL}?options=-csearch_path%3D{schema}"
        try:
            app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
            migrate.upgrade(app.extensions["placements.engine"])
            sessions = app.extensions["placements.sessions"]
            stmts = Statements(app.extensions["placements.engine"])
            clock.set(T0)
            with sessions() as session:
                people = world(session)
                processes.deploy(session, processes.read_bundle_path(REPO / "bpmn" / "placement"), note="bench")
                session.commit()
                w = {k: v.id for k, v in people.items()}
            review = START + timedelta(weeks=6)
            profiles = {"fire": cProfile.Profile(), "complete": cProfile.Profile()}
            counts = {"fire": [], "complete": []}
            times = {"fire": [], "complete": []}
            logs = {}
            with app.app_context():
                ids = [active_case(app, sessions, w) for _ in range(args.cases)]
                clock.set(nine(review - timedelta(days=7), 1))
                for case_id in ids:  # fire each case's review reminder, one tick per case
                    stmts.log, stmts.on = [], True
                    began = time.perf_counter()
                    profiles["fire"].enable()
                    fired = timers.run_due_timers(app, limit=1)
                    profiles["fire"].disable()
                    times["fire"].append(time.perf_counter() - began)
                    stmts.on = False
                    assert fired == 1, fired
                    counts["fire"].append(len(stmts.log))
                    logs["fire"] = stmts.log
                for case_id in ids:
                    with sessions() as session:
                        task_id = session.scalar(select(TaskRecord.id).where(
                            TaskRecord.case_id == case_id, TaskRecord.element_id == "record_review",
                            TaskRecord.state == "open"))
                    stmts.log, stmts.on = [], True
                    began = time.perf_counter()
                    profiles["complete"].enable()
                    with sessions() as session:
                        user = session.get(User, w["lead"])
                        casework.complete_task(session, user, task_id, dict(FORM_DATA["record_review"]))
                        session.commit()
                    profiles["complete"].disable()
                    times["complete"].append(time.perf_counter() - began)
                    stmts.on = False
                    counts["complete"].append(len(stmts.log))
                    logs["complete"] = stmts.log
                with sessions() as session:
                    size = len(str(session.get(Case, ids[0]).state))
            print(f"[{args.db}] state of a case at record_review: ~{size // 1024} KB (repr)")
            for kind in ("complete", "fire"):
                ms = sorted(times[kind])[len(times[kind]) // 2] * 1000
                print(f"[{args.db}] {kind:8}: statements {counts[kind]}  median {ms:.1f} ms")
                if args.sql:
                    for line in logs[kind]:
                        print("    ", line)
                if args.cprofile:
                    out = io.StringIO()
                    pstats.Stats(profiles[kind], stream=out).sort_stats("cumulative").print_stats(args.cprofile)
                    print(out.getvalue())
            app.extensions["placements.engine"].dispose()
        finally:
            if schema:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


if __name__ == "__main__":
    main()
