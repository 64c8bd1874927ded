"""Benchmark: the cost of completing one user task through the persistence layer.

Compares `casework.complete_task` (lock, load, validate, complete, engine steps, save, rewrite the
projections, audit, commit) with the same step done in memory, on SQLite and PostgreSQL, as the
number of stored instances grows. Prints medians and the ratios.

Two workloads:
  * `lifecycle` (default): the real model (bpmn/placement), a case in 'Placement active' whose
    review reminder has fired, completing `record_review` (answers from tests/lifecycle FORM_DATA)
    as the school's AP lead. This is a realistically sized state (~40 KB of JSON, ~120 tasks in
    the main process and its subprocesses).
  * `loop`: the tiny bench/bundles/loop model, one task, as before.

In-memory figures, per workload:
  bare     run() + do_engine_steps() on a live BpmnWorkflow (no persistence at all);
  floor    SpiffWorkflow's own serializer: deserialize_json + run + steps + serialize_json (spec
           included, as the library does it): what DESIGN.md calls the floor;
  adapter  the project's adapter: json.loads + Instance.load + complete + Instance.dump + json.dumps
           (spec kept out of the state);
then `complete_task` persisted (one transaction, committed, the actor loaded in it as a request
does), with its ratio to bare and to the floor, and the SQL statements it issued (counted with a
before_cursor_execute listener; BEGIN IMMEDIATE on SQLite counts, COMMIT does not).

Stored instances are seeded fast: the case is built once in memory, then cloned as rows (the ready
task gets a fresh id per clone) with bulk inserts of cases, tasks and waiting timers.

    .venv/bin/python bench/engine.py                                   # ~3-4 minutes
    .venv/bin/python bench/engine.py --sizes 100,1000 --samples 50 --db sqlite   # quick
    .venv/bin/python bench/engine.py --workload loop
"""
from __future__ import annotations

import argparse
from abc import ABC, abstractmethod
import copy
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import create_engine, event, select, text

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from service import casework, create_app, migrate, processes  # noqa: E402
from service.models import Case, TaskRecord, User, WaitingTimer  # noqa: E402
from tests.service.factories import world  # noqa: E402
from workflows import Instance, clock, load_bundle  # noqa: E402
from workflows.scripting import ENGINE  # noqa: E402

LOOP = REPO / "bench" / "bundles" / "loop"
PLACEMENT = REPO / "bpmn" / "placement"
WORLD_IDS = {"la": 1, "school": 2, "provider": 4}
PG_URL = os.environ.get("PG_TEST_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


# ------------------------------------------------------------------------------ workloads
class Workload(ABC):
    """A bundle, a template instance waiting at the measured task, and that task's answers."""

    name: str
    path: Path
    element_id: str
    answers: dict
    at: datetime  # the clock while completing

    @abstractmethod
    def template(self, bundle) -> Instance:
        """A started instance waiting at `element_id` (sets `at`, the clock to complete it at)."""


class Loop(Workload):
    name, path, element_id, answers = "loop", LOOP, None, {"note": "x"}

    def template(self, bundle) -> Instance:
        self.at = clock.now()
        instance = Instance.start(bundle, {})
        self.element_id = instance.ready_tasks()[0].element_id
        return instance


class Lifecycle(Workload):
    name, path, element_id = "lifecycle", PLACEMENT, "record_review"

    def template(self, bundle) -> Instance:
        from tests.lifecycle import helpers as h

        self.answers = dict(h.FORM_DATA["record_review"])
        # The ids a fresh database gives `tests.service.factories.world` (checked in `persisted`).
        walk = h.Walk.start(h.referral(school_id=WORLD_IDS["school"], provider_id=WORLD_IDS["provider"],
                                       provider={"id": WORLD_IDS["provider"]}))
        h.to_monitoring(walk)
        first = h.review_due_dates()[0]
        walk.fire_at(h.nine(first - timedelta(days=7), 1))
        assert walk.ready() == ["record_review"], walk.ready()
        self.at = clock.now()
        walk.inst.bundle = bundle  # the bundle the service parsed (same files)
        return walk.inst


WORKLOADS = {"lifecycle": Lifecycle, "loop": Loop}


# ------------------------------------------------------------------------------ in memory
def _ready(wf, element_id):
    from SpiffWorkflow.util.task import TaskState

    return next(t for t in wf.get_tasks(state=TaskState.READY, manual=True)
                if element_id is None or t.task_spec.bpmn_id == element_id)


def library_serializer():
    """SpiffWorkflow's own serializer for the spiff flavour (dates and Decimals registered)."""
    from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
    from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

    registry = BpmnWorkflowSerializer.configure(SPIFF_CONFIG)
    registry.register(date, lambda v: {"value": v.isoformat()}, lambda v: date.fromisoformat(v["value"]))
    registry.register(Decimal, lambda v: {"value": str(v)}, lambda v: Decimal(v["value"]))
    return BpmnWorkflowSerializer(registry)


def in_memory(bundle, workload: Workload, state: dict, samples: int) -> dict[str, float]:
    """Medians (seconds) of bare, floor and adapter, all starting from the template's state."""
    lib = library_serializer()
    clock.set(workload.at)
    wf = Instance.load(bundle, state).wf
    library_json = lib.serialize_json(wf)
    adapter_json = json.dumps(state)
    bare, floor, adapter = [], [], []
    for _ in range(samples):
        wf = Instance.load(bundle, state).wf          # a live workflow, not timed
        task = _ready(wf, workload.element_id)
        began = time.perf_counter()
        task.data.update(copy.deepcopy(workload.answers))
        task.run()
        wf.do_engine_steps()
        bare.append(time.perf_counter() - began)

        began = time.perf_counter()
        wf = lib.deserialize_json(library_json)
        wf.script_engine = ENGINE
        task = _ready(wf, workload.element_id)
        task.data.update(copy.deepcopy(workload.answers))
        task.run()
        wf.do_engine_steps()
        lib.serialize_json(wf)
        floor.append(time.perf_counter() - began)

        began = time.perf_counter()
        instance = Instance.load(bundle, json.loads(adapter_json))
        task = next(t for t in instance.ready_tasks()
                    if workload.element_id is None or t.element_id == workload.element_id)
        instance.complete(task.id, copy.deepcopy(workload.answers), roles=None)
        json.dumps(instance.dump())
        adapter.append(time.perf_counter() - began)
    return {"bare": statistics.median(bare), "floor": statistics.median(floor),
            "adapter": statistics.median(adapter), "library_kb": len(library_json) / 1024,
            "state_kb": len(adapter_json) / 1024}


# ------------------------------------------------------------------------------- persisted
class Statements:
    def __init__(self, engine):
        self.n, self.on = 0, False
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, *_args):
        if self.on:
            self.n += 1


def seed(session, template: Instance, workload: Workload, count: int, ids: dict, version_id: int) -> list[str]:
    """Store `count` clones of the template (each with a fresh ready-task id); their task ids."""
    now = clock.now()
    state_json = json.dumps(template.dump())
    data = json.dumps(template.data, default=str)
    ready = next(t for t in template.ready_tasks()
                 if workload.element_id is None or t.element_id == workload.element_id)
    timers = template.waiting_timers()
    next_timer = min((t.due_at for t in timers), default=None)
    postgres = session.get_bind().dialect.name == "postgresql"
    cast = (lambda p: f"CAST(:{p} AS jsonb)") if postgres else (lambda p: f":{p}")
    first_id = (session.scalar(select(Case.id).order_by(Case.id.desc()).limit(1)) or 0) + 1
    task_ids = []
    chunk = 500
    for start in range(0, count, chunk):
        case_rows, task_rows, timer_rows = [], [], []
        for case_id in range(first_id + start, first_id + min(count, start + chunk)):
            task_id = str(uuid.uuid4())
            task_ids.append(task_id)
            case_rows.append({"id": case_id, "pupil_id": ids["pupil"], "school_id": ids["school"],
                              "provider_id": ids["provider"], "la_id": ids["la"], "version": version_id,
                              "stage": template.stage, "data": data,
                              "state": state_json.replace(ready.id, task_id),
                              "next_timer_at": _db_time(next_timer, postgres), "now": _db_time(now, postgres)})
            task_rows.append({"id": task_id, "case_id": case_id, "element_id": ready.element_id,
                              "name": ready.name or "", "title": ready.title or ready.element_id,
                              "role": ready.lane or "", "stage": template.stage, "created_at": now,
                              "state": "open"})
            timer_rows.extend({"case_id": case_id, "task_id": t.task_id, "element_id": t.element_id,
                               "due_at": t.due_at, "attempts": 0} for t in timers)
        session.execute(text(
            "INSERT INTO cases (id, pupil_id, school_id, provider_id, la_id, model_version_id, status, pattern, "
            "stage, data, state, lock_version, next_timer_at, created_at, updated_at) VALUES (:id, :pupil_id, "
            f":school_id, :provider_id, :la_id, :version, 'open', 'part_time', :stage, {cast('data')}, "
            f"{cast('state')}, 1, :next_timer_at, :now, :now)"), case_rows)
        session.execute(TaskRecord.__table__.insert(), task_rows)
        if timer_rows:
            session.execute(WaitingTimer.__table__.insert(), timer_rows)
    if postgres:
        session.execute(text(f"SELECT setval(pg_get_serial_sequence('cases', 'id'), {first_id + count})"))
    session.commit()
    if postgres:
        session.execute(text("ANALYZE cases; ANALYZE tasks; ANALYZE waiting_timers"))
        session.commit()
    return task_ids


def _db_time(value, postgres):
    """A UtcDateTime value for a text() insert (SQLite stores naive UTC)."""
    if value is None or postgres:
        return value
    from datetime import timezone
    return value.astimezone(timezone.utc).replace(tzinfo=None)


def persisted(url: str, label: str, workload: Workload, sizes: list[int], samples: int,
              figures: dict) -> list[dict]:
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
    migrate.upgrade(app.extensions["placements.engine"])
    sessions = app.extensions["placements.sessions"]
    statements = Statements(app.extensions["placements.engine"])
    processes._cache.clear()
    clock.set(workload.at)
    with sessions() as session:
        people = world(session)
        version = processes.deploy(session, processes.read_bundle_path(workload.path), note="bench")
        from service.models import Pupil
        pupil = Pupil(upn="B801200005001", first_name="Sam", last_name="Taylor", date_of_birth=date(2011, 5, 4),
                      sen_status="none", school_id=people["school"].id)
        session.add(pupil)
        session.commit()
        ids = {"school": people["school"].id, "provider": people["provider"].id, "la": people["la"].id,
               "pupil": pupil.id, "lead": people["lead"].id}
        version_id = version.id
        assert all(ids[k] == v for k, v in WORLD_IDS.items()), ids
    bundle = processes.bundle_for(sessions(), version_id)
    template = workload.template_instance
    results, stored = [], 0
    with app.app_context():
        for size in sizes:
            began = time.perf_counter()
            with sessions() as session:
                waiting = seed(session, template, workload, size - stored, ids, version_id)
            seeded = time.perf_counter() - began
            stored = size
            timings, counts = [], []
            for task_id in waiting[-samples:]:
                clock.set(workload.at)
                statements.n, statements.on = 0, True
                began = time.perf_counter()
                with sessions() as session:
                    actor = session.get(User, ids["lead"])
                    casework.complete_task(session, actor, task_id, copy.deepcopy(workload.answers))
                    session.commit()
                timings.append(time.perf_counter() - began)
                statements.on = False
                counts.append(statements.n)
            median = statistics.median(timings)
            row = {"db": label, "stored": size, "median": median,
                   "p95": sorted(timings)[max(0, int(len(timings) * 0.95) - 1)],
                   "statements": statistics.median(counts), "n": len(timings), "seed_s": seeded}
            results.append(row)
            print(f"  {label:9} {size:>6} stored (seeded in {seeded:5.1f} s): complete_task median "
                  f"{median * 1000:7.2f} ms  p95 {row['p95'] * 1000:7.2f} ms  "
                  f"{row['statements']:.0f} statements  {median / figures['bare']:5.2f}x bare  "
                  f"{median / figures['floor']:5.2f}x floor  (n={len(timings)})", flush=True)
    del bundle
    app.extensions["placements.engine"].dispose()
    return results


# ------------------------------------------------------------------------------------ main
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", default="lifecycle", choices=sorted(WORKLOADS))
    parser.add_argument("--sizes", default="100,1000,10000", help="stored instances, ascending")
    parser.add_argument("--samples", type=int, default=100, help="completions measured per size")
    parser.add_argument("--memory-samples", type=int, default=100, help="in-memory repetitions")
    parser.add_argument("--db", default="sqlite,postgres")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    workload = WORKLOADS[args.workload]()
    bundle = load_bundle(processes.read_bundle_path(workload.path))
    template = workload.template(bundle)
    workload.template_instance = template
    state = template.dump()
    figures = in_memory(bundle, workload, state, args.memory_samples)
    print(f"workload {workload.name}: completing {workload.element_id}; state {figures['state_kb']:.0f} KB "
          f"(the library's JSON with spec {figures['library_kb']:.0f} KB)")
    print(f"  bare     run + do_engine_steps                           {figures['bare'] * 1000:7.2f} ms")
    print(f"  floor    library deserialize_json + run + steps + serialize_json "
          f"{figures['floor'] * 1000:7.2f} ms  ({figures['floor'] / figures['bare']:.2f}x bare)")
    print(f"  adapter  json.loads + Instance.load + complete + dump + json.dumps "
          f"{figures['adapter'] * 1000:7.2f} ms  ({figures['adapter'] / figures['bare']:.2f}x bare, "
          f"{figures['adapter'] / figures['floor']:.2f}x floor)", flush=True)
    results = []
    for db in args.db.split(","):
        if db == "sqlite":
            with tempfile.TemporaryDirectory() as folder:
                results += persisted(f"sqlite:///{folder}/bench.sqlite", "sqlite", workload, sizes,
                                     args.samples, figures)
        elif db == "postgres":
            schema = f"bench_{uuid.uuid4().hex[:8]}"
            admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            try:
                results += persisted(f"{PG_URL}?options=-csearch_path%3D{schema}", "postgres", workload,
                                     sizes, args.samples, figures)
            finally:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                admin.dispose()
    print()
    print(f"{'db':10}{'stored':>8}{'median ms':>11}{'p95 ms':>9}{'stmts':>7}{'x bare':>8}{'x floor':>9}"
          f"{'x adapter':>10}")
    for r in results:
        print(f"{r['db']:10}{r['stored']:>8}{r['median'] * 1000:>11.2f}{r['p95'] * 1000:>9.2f}"
              f"{r['statements']:>7.0f}{r['median'] / figures['bare']:>8.2f}{r['median'] / figures['floor']:>9.2f}"
              f"{r['median'] / figures['adapter']:>10.2f}")


if __name__ == "__main__":
    main()
