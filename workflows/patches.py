"""Deliberate fixes to SpiffWorkflow 3.2.0 behaviour, applied once on import.

Each one has a regression test in tests/workflows/test_engine_bugs.py.

1. ``TaskIterator(max_depth=1000)``: a loop of ~500 iterations silently stalls (nothing READY,
   no error).  The iterator keeps an explicit list (no recursion), so the limit is lifted.
2. Event-based gateway: all its timers share one ``event_value`` slot on the gateway task (the
   second timer reuses the first one's due time), every seen event's branch is run, and the
   branch is found by ``==`` (two unnamed duration timers are "equal", so the wrong branch can
   run).  Here each timer gets its own due time, only the earliest due event fires, and the
   branch is remembered by index.
"""
from __future__ import annotations

from datetime import timezone

from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import EventBasedGateway
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.bpmn.util import task as _bpmn_task_util
from SpiffWorkflow.util import task as _task_util
from SpiffWorkflow.util.task import TaskState

from . import clock

# --------------------------------------------------------------------- 1. iterator depth
MAX_DEPTH = 10_000_000
for _cls in (_task_util.TaskIterator, _bpmn_task_util.BpmnTaskIterator):
    # defaults: (end_at_spec, max_depth, ...) in both classes
    _defaults = list(_cls.__init__.__defaults__)
    _defaults[1] = MAX_DEPTH
    _cls.__init__.__defaults__ = tuple(_defaults)


# ----------------------------------------------------------------- 2. event-based gateway
GATEWAY_DUES = "placements_timer_dues"    # internal data: {index: iso due time}
GATEWAY_FIRED = "placements_fired_index"  # internal data: index of the branch that fired


def timer_due(task, definition: TimerEventDefinition):
    """The due time (aware UTC) of a timer definition evaluated in ``task``'s context."""
    expr = task.workflow.script_engine.evaluate(task, definition.expression)
    if isinstance(definition, DurationTimerEventDefinition):
        parsed = TimerEventDefinition.parse_iso_duration(expr)
        return clock.now() + TimerEventDefinition.get_timedelta_from_start(parsed)
    if isinstance(definition, CycleTimerEventDefinition):
        return TimerEventDefinition.parse_iso_recurring_interval(expr)[1].astimezone(timezone.utc)
    return TimerEventDefinition.parse_time_or_duration(expr).astimezone(timezone.utc)


def gateway_dues(task, definition) -> dict:
    """{index: iso due} for the timers of a (non-parallel) multiple event, evaluated once."""
    dues = task.internal_data.get(GATEWAY_DUES)
    if dues is None:
        dues = {str(i): timer_due(task, d).isoformat()
                for i, d in enumerate(definition.event_definitions)
                if isinstance(d, TimerEventDefinition)}
        task.internal_data[GATEWAY_DUES] = dues
    return dues


_original_has_fired = MultipleEventDefinition.has_fired


def _multiple_has_fired(self, my_task):
    if self.parallel:
        return _original_has_fired(self, my_task)
    if my_task.internal_data.get("seen_events"):
        return True
    dues = gateway_dues(my_task, self)
    now = clock.now()
    due = sorted((TimerEventDefinition.get_datetime(v), int(i)) for i, v in dues.items())
    due = [(when, i) for when, i in due if when <= now]
    if not due:
        return False
    index = due[0][1]
    my_task.internal_data["seen_events"] = [BpmnEvent(self.event_definitions[index])]
    my_task.internal_data[GATEWAY_FIRED] = index
    return True


def _multiple_catch(self, my_task, event=None):
    if self.parallel:
        return _original_catch(self, my_task, event)
    if my_task.internal_data.get("seen_events"):
        return  # the gateway already chose a branch: later events lose the race
    for index, item in enumerate(self.event_definitions):
        if item.catches(my_task, event):
            my_task._set_internal_data(seen_events=[event])
            my_task.internal_data[GATEWAY_FIRED] = index
            return


_original_catch = MultipleEventDefinition.catch


def _gateway_run_hook(self, my_task):
    seen = my_task.internal_data.get("seen_events", [])
    index = my_task.internal_data.get(GATEWAY_FIRED)
    if index is None and seen:
        index = self.event_definition.event_definitions.index(seen[0].event_definition)
    matches = []
    if index is not None:
        definition = self.event_definition.event_definitions[index]
        event = seen[0] if seen else BpmnEvent(definition)
        definition.catch(my_task, event)
        definition.update_task_data(my_task)
        matches.append(my_task.children[index].task_spec)
    my_task._sync_children(matches, TaskState.FUTURE)
    for child in my_task.children:
        child.task_spec._predict(child, mask=TaskState.FUTURE | TaskState.PREDICTED_MASK)
    return True


MultipleEventDefinition.has_fired = _multiple_has_fired
MultipleEventDefinition.catch = _multiple_catch
EventBasedGateway._run_hook = _gateway_run_hook
