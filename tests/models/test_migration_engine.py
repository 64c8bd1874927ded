"""workflows.migration without a database: compare, preview, refuse, migrate, keep timers."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from workflows import Instance, clock, load_bundle
from workflows.migration import MigrationRefused, compare_files, migrate, preview

from .helpers import EXTRA_STEP, EXTRA_STEP_END, LONGER_WAIT, NEW_FIRST_STEP, NEW_FIRST_STEP_REFS, mini, variant

T0 = datetime(2027, 1, 11, 9, 0, tzinfo=timezone.utc)


def _at_timer(bundle):
    clock.set(T0)
    inst = Instance.start(bundle, data={"case_id": 1})
    [task] = inst.ready_tasks()
    inst.complete(task.id, {"parent_views": "fine"})
    assert [t.element_id for t in inst.waiting_timers()] == ["wait_a_day"]
    return inst


def test_compare_lists_added_removed_changed_by_element_id():
    changes = compare_files(mini(), variant(LONGER_WAIT, EXTRA_STEP, EXTRA_STEP_END))
    got = {(c.element_id, c.kind) for c in changes}
    assert ("wait_a_day", "changed") in got
    assert ("log_outcome", "added") in got and ("f7", "added") in got
    assert ("f6", "changed") in got and ("end", "changed") not in got  # incoming is redundant with f7
    assert not any(c.kind == "removed" for c in changes)
    assert compare_files(mini(), mini()) == []


def test_waiting_timer_keeps_its_due_time_through_migration():
    old, new = load_bundle(mini()), load_bundle(variant(LONGER_WAIT, EXTRA_STEP, EXTRA_STEP_END))
    inst = _at_timer(old)
    due = inst.next_timer_due()
    assert due == T0 + timedelta(days=1)
    clock.set(T0 + timedelta(hours=5))
    p = preview(old, new, inst.dump())
    assert p.safe, p.reasons
    assert "wait_a_day" in p.active
    assert any("log_outcome" in c for c in p.changes)
    state, report = migrate(old, new, inst.dump())
    moved = Instance.load(new, state)
    assert moved.next_timer_due() == due  # not restarted at 14:00, not the new P2D
    clock.set(due + timedelta(minutes=1))
    assert moved.fire_timers() == 1
    [decide] = moved.ready_tasks()
    moved.complete(decide.id, {"decision": "approve"})
    assert moved.is_completed and moved.data.get("logged") is True  # the new step ran


def test_ready_task_keeps_its_id():
    old, new = load_bundle(mini()), load_bundle(variant(EXTRA_STEP, EXTRA_STEP_END))
    clock.set(T0)
    inst = Instance.start(old, data={"case_id": 1})
    [task] = inst.ready_tasks()
    state, _ = migrate(old, new, inst.dump())
    moved = Instance.load(new, state)
    assert [t.id for t in moved.ready_tasks()] == [task.id]


def test_changed_completed_path_is_refused_with_the_reason():
    old = load_bundle(mini())
    new = load_bundle(variant(NEW_FIRST_STEP, *NEW_FIRST_STEP_REFS))
    inst = _at_timer(old)
    p = preview(old, new, inst.dump())
    assert not p.safe and "consult" in p.reason
    with pytest.raises(MigrationRefused):
        migrate(old, new, inst.dump())
    # A case still at the first step has no completed path to lose: its step is matched by
    # structure and moves (same task, new element id).
    fresh = Instance.start(old, data={"case_id": 2})
    [task] = fresh.ready_tasks()
    p = preview(old, new, fresh.dump())
    assert p.safe and any("consult" in c for c in p.changes)
    state, _ = migrate(old, new, fresh.dump())
    assert [(t.id, t.element_id) for t in Instance.load(new, state).ready_tasks()] == [(task.id, "consult_family")]


def test_removed_current_step_is_refused():
    old = load_bundle(mini())
    text = mini()["mini.bpmn"].decode()
    # The timer is gone: consult leads straight to the reminder.
    files = variant(('<bpmn:intermediateCatchEvent id="wait_a_day" name="Wait a day">\n'
                     '      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>\n'
                     '      <bpmn:timerEventDefinition id="wait_timer"><bpmn:timeDuration>"P1D"</bpmn:timeDuration></bpmn:timerEventDefinition>\n'
                     '    </bpmn:intermediateCatchEvent>', ''),
                    ('<bpmn:sequenceFlow id="f2" sourceRef="consult" targetRef="wait_a_day" />',
                     '<bpmn:sequenceFlow id="f2" sourceRef="consult" targetRef="remind" />'),
                    ('<bpmn:sequenceFlow id="f3" sourceRef="wait_a_day" targetRef="remind" />', ''),
                    ('<bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>',
                     '<bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>'))
    assert text
    new = load_bundle(files)
    inst = _at_timer(old)
    p = preview(old, new, inst.dump())
    assert not p.safe and "wait_a_day" in p.reason
