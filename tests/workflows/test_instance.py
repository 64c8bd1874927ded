"""Deploy, start, complete, timers, messages, refusals: the Instance API of conventions.md."""
from datetime import timedelta

import pytest

from tests.workflows.helpers import T0, bundle_for, files_for
from workflows import (
    Bundle, EngineError, Instance, TaskNotFound, TaskNotReady, WrongLane, clock, load_bundle,
    validate_bundle,
)
from workflows.calendar import add_school_days, due_at, is_school_day, school_days_between

START = {"proposed_start": "2025-01-06", "age": 12, "case_id": 1}


def test_basic_deploy_start_complete():
    files = files_for("basic.bpmn", forms=True)
    assert validate_bundle(files) == []
    bundle = load_bundle(files)
    assert bundle.main_process_id == "basic"
    assert set(bundle.forms) == {"consult.json", "decide.json"}
    inst = Instance.start(bundle, data=START)
    [task] = inst.ready_tasks()
    assert (task.element_id, task.lane, task.title) == ("consult", "school_ap_lead",
                                                        "Consult the pupil's parents")
    assert task.form["schema"]["properties"]["parent_views"]["type"] == "string"
    assert task.due == ("school_days", 5) and task.instructions == "Phone the parents."
    assert inst.get_task(task.id) == task
    assert inst.active_element_ids() == ["consult"]
    inst.complete(task.id, {"parent_views": "Supportive"}, roles={"school_ap_lead"})
    [decide] = inst.ready_tasks()
    assert decide.element_id == "decide"
    assert inst.data["review_date"] == "2025-02-17" and inst.data["older"] is True
    assert "compute" in inst.completed_element_ids()
    inst.complete(decide.id, {"decision": "approve"}, roles={"head_teacher", "dsl"})
    assert inst.is_completed and inst.data["decision"] == "approve"
    assert inst.ready_tasks() == [] and inst.stage is None


def test_complete_refusals():
    inst = Instance.start(bundle_for("basic.bpmn", forms=True), data=START)
    [task] = inst.ready_tasks()
    with pytest.raises(TaskNotFound):
        inst.complete("00000000-0000-0000-0000-000000000000", {}, roles={"school_ap_lead"})
    with pytest.raises(TaskNotFound):
        inst.complete("not-a-uuid", {}, roles={"school_ap_lead"})
    with pytest.raises(WrongLane):
        inst.complete(task.id, {}, roles={"parent", "dsl"})
    inst.complete(task.id, {"parent_views": "x"}, roles={"school_ap_lead"})
    with pytest.raises(TaskNotReady):  # twice
        inst.complete(task.id, {"parent_views": "again"}, roles={"school_ap_lead"})
    # a task that exists but is not READY (the end event is predicted, not reached)
    future = [t for t in inst.wf.get_tasks() if t.task_spec.name == "end"][0]
    with pytest.raises(TaskNotReady):
        inst.complete(str(future.id), {}, roles=None)
    assert inst.data["parent_views"] == "x"


def test_dump_load_continue():
    bundle = bundle_for("basic.bpmn", forms=True)
    inst = Instance.start(bundle, data=START)
    state = inst.dump()
    assert "spec" not in state and "subprocess_specs" not in state
    again = Instance.load(bundle, state)
    [task] = again.ready_tasks()
    again.complete(task.id, {"parent_views": "ok"}, roles={"school_ap_lead"})
    assert again.ready_tasks()[0].element_id == "decide"


def test_spec_state_round_trip():
    bundle = bundle_for("basic.bpmn", forms=True)
    import json
    state = json.loads(json.dumps(bundle.spec_state()))
    cheap = Bundle.from_spec_state(state, forms=bundle.forms, files=bundle.files)
    assert cheap.main_process_id == "basic"
    inst = Instance.start(cheap, data=START)
    assert inst.ready_tasks()[0].title == "Consult the pupil's parents"


def test_p6w_timer_time_travel():
    inst = Instance.start(bundle_for("timer_p6w.bpmn"), data={"fired": 0})
    [timer] = inst.waiting_timers()
    assert timer.element_id == "six_weeks" and timer.due_at == T0 + timedelta(weeks=6)
    assert inst.next_timer_due() == T0 + timedelta(weeks=6)
    clock.travel(timedelta(weeks=6) - timedelta(minutes=1))
    assert inst.fire_timers() == 0 and inst.ready_tasks() == []
    inst = Instance.load(inst.bundle, inst.dump())  # a scheduler tick loads from the database
    clock.travel(timedelta(minutes=2))
    assert inst.fire_timers() == 1
    assert inst.data["fired"] == 1 and inst.ready_tasks()[0].element_id == "review"
    clock.travel(timedelta(weeks=10))
    assert inst.fire_timers() == 0 and inst.data["fired"] == 1
    assert inst.waiting_timers() == []


def test_deliver_message_and_outbox():
    inst = Instance.start(bundle_for("message_loop.bpmn"), data={"case_id": 5})
    assert inst.deliver_message("placement_breakdown", {"case_id": 5}) is False
    assert inst.deliver_message("unexplained_absence", {"case_id": 5, "dates": ["2025-03-03"]})
    assert inst.data["count"] == 1 and inst.data["dates"] == ["2025-03-03"]
    out = inst.take_outbox()
    assert out.messages == [("absence_reported", {"case_id": 5, "count": 1})]
    assert inst.take_outbox().messages == []


def test_engine_error_names_element():
    bundle = bundle_for("sandbox.bpmn")
    with pytest.raises(EngineError) as err:
        Instance.start(bundle)
    assert err.value.element_id == "read_file"
    assert "open() is not allowed" in err.value.message
    assert "Traceback" not in str(err.value)


def test_stage_is_active_call_activity():
    inst = Instance.start(bundle_for("call_chain.bpmn"))
    assert inst.stage == "Safeguarding check"


def test_school_calendar():
    from datetime import date, datetime, timezone
    assert not is_school_day(date(2025, 12, 25)) and not is_school_day(date(2025, 3, 8))
    assert is_school_day(date(2025, 3, 3))
    # Friday 18 April 2025 is Good Friday, Monday 21 April Easter Monday
    assert add_school_days(date(2025, 4, 17), 1) == date(2025, 4, 22)
    assert add_school_days(date(2025, 4, 22), -1) == date(2025, 4, 17)
    assert add_school_days(date(2025, 3, 3), 0) == date(2025, 3, 3)
    assert school_days_between(date(2025, 4, 17), date(2025, 4, 22)) == 1
    assert school_days_between(date(2025, 4, 22), date(2025, 4, 17)) == -1
    due = due_at(datetime(2025, 3, 7, 10, tzinfo=timezone.utc), "school_days", 1)
    assert due.isoformat() == "2025-03-10T17:00:00+00:00"
    assert due_at(datetime(2025, 3, 7, 10, tzinfo=timezone.utc), "days", 1).day == 8
    # British Summer Time: 17:00 London is 16:00 UTC
    assert due_at(datetime(2025, 6, 2, 10, tzinfo=timezone.utc), "days", 0).utcoffset() == \
        timedelta(hours=1)


def test_clock_travel_and_reset():
    clock.travel(timedelta(days=1))
    assert clock.now() == T0 + timedelta(days=1)
    clock.travel(T0)
    assert clock.now() == T0 and clock.today_london().isoformat() == "2025-03-03"
    clock.reset()
    assert abs((clock.now() - __import__("datetime").datetime.now(
        __import__("datetime").timezone.utc)).total_seconds()) < 5
