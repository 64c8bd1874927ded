"""Many writers at once: different cases never block each other's changes; nothing is lost."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from service import casework
from service.models import AuditEvent, Case, TaskRecord, User

from .test_casework import _orgs, w  # noqa: F401  (fixture)
from .factories import referral


@pytest.mark.parametrize("threads", [20])
def test_twenty_threads_complete_twenty_cases(sessions, w, threads):  # noqa: F811
    case_ids = []
    with sessions() as session:
        lead = session.get(User, w["lead"])
        for n in range(threads):
            body = referral(_orgs(session, w), pupil={"first_name": f"Pupil{n}"})
            case_ids.append(casework.start_case(session, lead, body, model_key="mini").id)
        session.commit()
    with sessions() as session:
        task_ids = {t.case_id: t.id for t in session.scalars(select(TaskRecord).where(TaskRecord.state == "open"))}
        versions = {case_id: session.get(Case, case_id).lock_version for case_id in case_ids}
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []

    def work(case_id):
        barrier.wait()
        try:
            with sessions() as session:
                casework.complete_task(session, session.get(User, w["lead"]), task_ids[case_id],
                                       {"parent_views": f"views for {case_id}"})
                session.commit()
        except BaseException as error:  # collected and asserted below
            errors.append(error)

    pool = [threading.Thread(target=work, args=(case_id,)) for case_id in case_ids]
    [t.start() for t in pool]
    [t.join(60) for t in pool]
    assert errors == []
    with sessions() as session:
        for case_id in case_ids:
            case = session.get(Case, case_id)
            assert case.data["parent_views"] == f"views for {case_id}"
            assert case.lock_version == versions[case_id] + 1
            assert session.scalars(select(TaskRecord).where(TaskRecord.case_id == case_id,
                                                            TaskRecord.state == "completed")).one()
        assert len(session.scalars(select(AuditEvent).where(AuditEvent.type == "task_completed")).all()) == threads


def test_stale_version_from_a_form_is_a_conflict(sessions, w):  # noqa: F811
    from service.errors import Conflict
    with sessions() as session:
        case = casework.start_case(session, session.get(User, w["lead"]), referral(_orgs(session, w)), model_key="mini")
        session.commit()
        case_id, version = case.id, case.lock_version
    with sessions() as session:
        task = session.scalars(select(TaskRecord).where(TaskRecord.case_id == case_id)).one()
        with pytest.raises(Conflict, match="changed by someone else"):
            casework.complete_task(session, session.get(User, w["lead"]), task.id, {"parent_views": "x"},
                                   expected_version=version + 1)
