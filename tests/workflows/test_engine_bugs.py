"""One regression test per engine bug shape of DESIGN.md, each on its own tiny model."""
from datetime import timedelta

from tests.workflows.helpers import T0, bundle_for
from workflows import Instance, clock


def test_parallel_join_keeps_both_branches_data():
    inst = Instance.start(bundle_for("parallel_join.bpmn"))
    [task] = inst.ready_tasks()
    assert task.element_id == "check"
    data = inst.wf.get_task_from_id(__import__("uuid").UUID(task.id)).data
    assert data["a"] == 1 and data["b"] == 2 and data["shared"] == {"from": "a"}


def _gateway_case(model):
    inst = Instance.start(bundle_for(model), data={"ran": []})
    # both timers have their own due time; the gateway waits for the earliest
    assert inst.next_timer_due() == T0 + timedelta(hours=1)
    clock.travel(timedelta(hours=6))  # both timers are overdue by now
    assert inst.fire_timers() == 1
    assert inst.data["ran"] == ["short"] and inst.is_completed
    assert "after_long" not in inst.completed_element_ids()
    return inst


def test_event_based_gateway_runs_only_the_fired_timer_branch():
    _gateway_case("event_gateway.bpmn")


def test_event_based_gateway_timer_order_does_not_matter():
    # Library bug: timers shared one due-time slot and branches were matched by ==, so with the
    # long timer listed first the short branch waited 5 hours / the wrong branch ran.
    _gateway_case("event_gateway_long_first.bpmn")


def test_event_based_gateway_message_wins_before_timers():
    inst = Instance.start(bundle_for("event_gateway.bpmn"), data={"ran": []})
    assert inst.deliver_message("placement_breakdown", {"why": "x"})
    clock.travel(timedelta(hours=6))
    inst.fire_timers()
    assert inst.data["ran"] == ["message"] and inst.is_completed


def test_event_based_gateway_survives_save_and_load():
    inst = Instance.start(bundle_for("event_gateway_long_first.bpmn"), data={"ran": []})
    inst = Instance.load(inst.bundle, inst.dump())
    clock.travel(timedelta(minutes=61))
    assert inst.fire_timers() == 1 and inst.data["ran"] == ["short"]


def test_cycle_timer_fires_exactly_three_times_and_not_at_once():
    inst = Instance.start(bundle_for("cycle_timer.bpmn"), data={"case_id": 7})
    assert inst.fire_timers() == 0
    counts = []
    for _ in range(6):
        clock.travel(timedelta(hours=1, minutes=1))
        inst = Instance.load(inst.bundle, inst.dump())
        counts.append(inst.fire_timers())
        counts[-1] = (counts[-1], len(inst.take_outbox().notifications))
    assert counts == [(1, 1), (1, 1), (1, 1), (0, 0), (0, 0), (0, 0)]
    assert inst.waiting_timers() == [] and len(inst.ready_tasks()) == 1


def test_cycle_timer_notification_content():
    inst = Instance.start(bundle_for("cycle_timer.bpmn"), data={"case_id": 7})
    clock.travel(timedelta(hours=2))
    inst.fire_timers()
    [note] = inst.take_outbox().notifications
    assert (note.role, note.subject, note.body, note.element_id) == (
        "head_teacher", "Review due", "A review is due for case 7", "remind")


def test_boundary_timer_sees_variable_from_its_tasks_prescript():
    # Library bug: the boundary timer was evaluated before the task's pre-script ran
    # (NameError, instance stuck). Worked around in scripting.RestrictedScriptEngine.evaluate.
    inst = Instance.start(bundle_for("boundary_prescript.bpmn"))
    [timer] = inst.waiting_timers()
    assert timer.due_at == T0 + timedelta(hours=2)
    clock.travel(timedelta(hours=1))
    assert inst.fire_timers() == 0
    clock.travel(timedelta(hours=2))
    assert inst.fire_timers() == 1 and inst.data["escalated"] is True and inst.is_completed


def test_boundary_timer_variable_from_script_task_before():
    inst = Instance.start(bundle_for("boundary_script_before.bpmn"))
    assert inst.next_timer_due() == T0 + timedelta(hours=2)
    [task] = inst.ready_tasks()
    inst.complete(task.id, {"answer": "done"})
    assert inst.is_completed and "escalated" not in inst.data and inst.waiting_timers() == []


def test_call_activity_starting_with_call_activity():
    inst = Instance.start(bundle_for("call_chain.bpmn"), data={"x": 1})
    [task] = inst.ready_tasks()
    assert task.element_id == "inner_task" and task.process_id == "call_inner"
    assert inst.stage == "Safeguarding check"
    inst = Instance.load(inst.bundle, inst.dump())
    inst.complete(task.id, {"y": 2})
    assert inst.is_completed and inst.data["y"] == 2 and inst.data["x"] == 1
    assert {"stage_outer", "call_inner_first", "inner_task"} <= set(inst.completed_element_ids())


def test_message_correlation_is_honoured():
    # Library behaviour: with no correlations recorded yet the catch takes any message of that
    # name. Instance.deliver_message compares the correlation property (case_id) first.
    inst = Instance.start(bundle_for("message_correlation.bpmn"), data={"case_id": 1})
    assert inst.deliver_message("unexplained_absence", {"case_id": 2}) is False
    assert not inst.is_completed and inst.active_element_ids() == ["absence"]
    assert inst.deliver_message("unexplained_absence", {"case_id": 1, "date": "2025-03-03"})
    assert inst.is_completed and inst.data["absence"]["date"] == "2025-03-03"


def test_looping_back_to_a_message_catch():
    inst = Instance.start(bundle_for("message_loop.bpmn"), data={"case_id": 9})
    for n in (1, 2, 3):
        assert not inst.is_completed
        inst = Instance.load(inst.bundle, inst.dump())
        assert inst.deliver_message("unexplained_absence", {"case_id": 9, "dates": [n]})
        assert inst.data["count"] == n
    assert inst.is_completed
    assert inst.deliver_message("unexplained_absence", {"case_id": 9}) is False


def test_long_loop_does_not_stall():
    # Library limit: TaskIterator(max_depth=1000) stalled this 3-task loop at 333 iterations.
    # Lifted in workflows.patches.
    inst = Instance.start(bundle_for("long_loop.bpmn"), data={"limit": 400})
    [task] = inst.ready_tasks()
    assert task.element_id == "done" and inst.data["i"] == 400
    inst = Instance.load(inst.bundle, inst.dump())
    inst.complete(task.id, {})
    assert inst.is_completed


def test_typename_key_in_task_data_survives():
    data = {"school": {"typename": "academy", "name": "Oak"}, "typename": "top",
            "items": [{"typename": "date", "value": "not a date"}]}
    inst = Instance.start(bundle_for("timer_p6w.bpmn"), data={**data, "fired": 0})
    import json
    again = Instance.load(inst.bundle, json.loads(json.dumps(inst.dump())))
    for key, value in data.items():
        assert again.data[key] == value


def test_cycle_timer_catching_up_after_downtime_counts_every_cycle_it_fires():
    inst = Instance.start(bundle_for("cycle_timer.bpmn"), data={"case_id": 7})
    clock.travel(timedelta(hours=5))  # all three hourly reminders were missed
    assert inst.fire_timers() == 3
    assert len(inst.take_outbox().notifications) == 3
    assert inst.waiting_timers() == []
    clock.travel(timedelta(hours=1))
    assert inst.fire_timers() == 0


def test_cycle_timer_two_cycles_missed_then_the_last_on_time():
    inst = Instance.start(bundle_for("cycle_timer.bpmn"), data={"case_id": 7})
    clock.travel(timedelta(hours=2, minutes=30))
    assert inst.fire_timers() == 2
    clock.travel(timedelta(hours=1))
    assert inst.fire_timers() == 1
    assert len(inst.take_outbox().notifications) == 3
