"""Benchmark: the cost of completing one user task through the persistence layer.

Compares `casework.complete_task` (lock, load, validate, complete, engine steps, save, rewrite the
projections, audit, commit) with the same step done in memory on bare SpiffWorkflow, on SQLite and
PostgreSQL, as the number of stored instances grows. Prints medians and the ratio to bare.

    .venv/bin/python bench/engine.py [--sizes 100,1000,10000] [--samples 200] [--db sqlite,postgres]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

from sqlalchemy import create_engine, insert, text

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from service import casework, create_app, migrate, processes  # noqa: E402
from service.models import Case, Organisation, Provider, Pupil, TaskRecord  # noqa: E402
from workflows import Instance, clock, load_bundle  # noqa: E402

BUNDLE = REPO / "bench" / "bundles" / "loop"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def bare_figures(bundle, samples: int) -> list[float]:
    """Complete one user task on a live in-memory workflow: run() + do_engine_steps()."""
    from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
    from SpiffWorkflow.util.task import TaskState

    timings = []
    for _ in range(samples):
        workflow = BpmnWorkflow(bundle.spec, bundle.subprocess_specs)  # the library's own script engine
        workflow.do_engine_steps()
        task = workflow.get_tasks(state=TaskState.READY, manual=True)[0]
        started = time.perf_counter()
        task.data.update({"note": "x"})
        task.run()
        workflow.do_engine_steps()
        timings.append(time.perf_counter() - started)
    return timings


def seed(session, version_id: int, bundle, count: int, ids: dict) -> list[str]:
    """Store `count` more instances waiting at their first task; returns their task ids."""
    now = clock.now()
    task_ids, case_rows = [], []
    for _ in range(count):
        instance = Instance.start(bundle, {})
        task = instance.ready_tasks()[0]
        case_rows.append({"pupil_id": ids["pupil"], "school_id": ids["school"], "provider_id": ids["provider"],
                          "model_version_id": version_id, "status": "open", "pattern": "full_time",
                          "stage": None, "data": instance.data, "state": instance.dump(), "lock_version": 1,
                          "created_at": now, "updated_at": now})
        task_ids.append(task)
    result = session.execute(insert(Case).returning(Case.id), case_rows)
    case_ids = [row[0] for row in result]
    session.execute(insert(TaskRecord), [
        {"id": task.id, "case_id": case_id, "element_id": task.element_id, "name": task.name,
         "title": task.title, "role": task.lane, "created_at": now, "state": "open"}
        for case_id, task in zip(case_ids, task_ids)])
    session.commit()
    return [t.id for t in task_ids]


def run(url: str, label: str, sizes: list[int], samples: int, bare_median: float) -> None:
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
    migrate.upgrade(app.extensions["placements.engine"])
    sessions = app.extensions["placements.sessions"]
    with sessions() as session:
        version = processes.deploy(session, processes.read_bundle_path(BUNDLE))
        school = Organisation(name="School", type="school", created_at=clock.now())
        provider_org = Organisation(name="Provider", type="provider", created_at=clock.now())
        session.add_all([school, provider_org])
        session.flush()
        session.add(Provider(id=provider_org.id, registration_status="registered_school", services=[]))
        pupil = Pupil(upn="B801200005001", first_name="A", last_name="B", date_of_birth=date(2012, 1, 1),
                      school_id=school.id)
        session.add(pupil)
        session.commit()
        ids = {"school": school.id, "provider": provider_org.id, "pupil": pupil.id}
        version_id = version.id
    bundle = processes.bundle_for(sessions(), version_id)
    stored = 0
    with app.app_context():
        for size in sizes:
            with sessions() as session:
                waiting = seed(session, version_id, bundle, size - stored, ids)
            stored = size
            timings = []
            for task_id in waiting[-samples:]:
                started = time.perf_counter()
                with sessions() as session:
                    casework.complete_task(session, None, task_id, {"note": "x"})
                    session.commit()
                timings.append(time.perf_counter() - started)
            median = statistics.median(timings)
            print(f"{label:9} {size:>7} stored  complete_task median {median * 1000:7.2f} ms  "
                  f"p95 {sorted(timings)[int(len(timings) * 0.95) - 1] * 1000:7.2f} ms  "
                  f"ratio to bare {median / bare_median:5.2f}x", flush=True)
    app.extensions["placements.engine"].dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--db", default="sqlite,postgres")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    bundle = load_bundle(processes.read_bundle_path(BUNDLE))
    bare = bare_figures(bundle, args.samples)
    bare_median = statistics.median(bare)
    print(f"bare SpiffWorkflow in memory: run + do_engine_steps median {bare_median * 1000:.2f} ms")
    # The same step with a serialize/deserialize round trip (what any persistence must pay at least).
    roundtrip = []
    for _ in range(args.samples):
        instance = Instance.start(bundle, {})
        state = instance.dump()
        started = time.perf_counter()
        loaded = Instance.load(bundle, state)
        task = loaded.ready_tasks()[0]
        loaded.complete(task.id, {"note": "x"}, roles=None)
        loaded.dump()
        roundtrip.append(time.perf_counter() - started)
    print(f"in memory with load + dump:   median {statistics.median(roundtrip) * 1000:.2f} ms "
          f"({statistics.median(roundtrip) / bare_median:.2f}x bare)")
    for db in args.db.split(","):
        if db == "sqlite":
            with tempfile.TemporaryDirectory() as folder:
                run(f"sqlite:///{folder}/bench.sqlite", "sqlite", sizes, args.samples, bare_median)
        elif db == "postgres":
            schema = f"bench_{uuid.uuid4().hex[:8]}"
            admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            try:
                run(f"{PG_URL}?options=-csearch_path%3D{schema}", "postgres", sizes, args.samples, bare_median)
            finally:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


if __name__ == "__main__":
    main()
