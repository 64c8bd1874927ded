"""One running case: start, load, dump, complete tasks, fire timers, deliver messages.

The host (service) owns transactions and persistence; an ``Instance`` is an in-memory view of
one workflow.  Library behaviours worked around here (see tests/workflows/test_engine_bugs.py):

* ``Task.run()`` does not check the task's state: ``complete`` refuses anything but a READY
  manual task, so a double submit never runs a task twice.
* ``do_engine_steps()`` refreshes timers only at its end, so a timer that became due while the
  engine ran waits one more tick: ``fire_timers`` repeats refresh + steps until nothing fires.
* Message correlation: the library only compares correlation values when the instance already
  has correlations (a catch with a process-variable correlation, or an earlier message); with
  none it accepts any message of that name.  ``deliver_message`` compares the message's
  correlation properties (e.g. ``case_id``) with the instance's own data first.
* Further library fixes (iterator depth, event-based gateway) live in ``patches``.
"""
from __future__ import annotations

from datetime import datetime, timezone
from uuid import UUID

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition as _BaseMessage
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import CallActivity
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.util.task import TaskState

from . import clock, patches
from .errors import EngineError, TaskNotFound, TaskNotReady, WrongLane
from .scripting import ENGINE, OUTBOX_ATTR
from .serializer import dump_instance, load_instance
from .views import Outbox, TaskView, TimerView

_FIRE_ROUNDS = 100  # refresh+steps rounds in one fire_timers call (catch-up after downtime)


def _engine_error(err: Exception) -> EngineError:
    """Any failure inside the engine as an EngineError naming the element (no traceback)."""
    if isinstance(err, EngineError):
        return err
    element = None
    task = getattr(err, "task", None)
    spec = getattr(task, "task_spec", None) or getattr(err, "task_spec", None)
    if spec is not None:
        element = getattr(spec, "bpmn_id", None) or getattr(spec, "name", None)
    message = str(err).split("\n")[0] if str(err) else type(err).__name__
    if not isinstance(err, SpiffWorkflowException):
        message = f"{type(err).__name__}: {message}"
    return EngineError(element, message)


class Instance:
    """An instance of a bundle's main process."""

    def __init__(self, bundle, workflow: BpmnWorkflow):
        self.bundle = bundle
        self.wf = workflow

    # ------------------------------------------------------------------- life cycle
    @classmethod
    def start(cls, bundle, data: dict | None = None) -> "Instance":
        """Create the workflow, put ``data`` in it and run to the first waits."""
        try:
            wf = BpmnWorkflow(bundle.spec, bundle.subprocess_specs, script_engine=ENGINE)
            for task in wf.get_tasks(state=TaskState.READY):
                task.data.update(dict(data or {}))
        except Exception as err:
            raise _engine_error(err) from err
        inst = cls(bundle, wf)
        inst._run()
        return inst

    @classmethod
    def load(cls, bundle, state: dict) -> "Instance":
        return cls(bundle, load_instance(state, bundle.spec, bundle.subprocess_specs))

    def dump(self) -> dict:
        return dump_instance(self.wf)

    def _run(self) -> None:
        try:
            self.wf.do_engine_steps()
        except (WorkflowTaskException, SpiffWorkflowException) as err:
            raise _engine_error(err) from err
        except Exception as err:
            raise _engine_error(err) from err

    # ------------------------------------------------------------------------- tasks
    def _all_tasks(self, **filters):
        return self.wf.get_tasks(**filters)  # spans subprocesses

    def ready_tasks(self) -> list[TaskView]:
        """READY user/manual tasks, in the main process and its subprocesses."""
        return [self._view(t) for t in self._all_tasks(state=TaskState.READY, manual=True)]

    def _find(self, task_id):
        try:
            uid = task_id if isinstance(task_id, UUID) else UUID(str(task_id))
            return self.wf.get_task_from_id(uid)
        except Exception:
            raise TaskNotFound(f"no task {task_id} in this case") from None

    def get_task(self, task_id) -> TaskView:
        return self._view(self._find(task_id))

    def complete(self, task_id, data: dict | None = None, roles=None) -> None:
        """Complete a READY manual task for a caller holding one of ``roles`` (None: system)."""
        task = self._find(task_id)
        if task.state != TaskState.READY or not task.task_spec.manual:
            raise TaskNotReady(f"task {task_id} is {TaskState.get_name(task.state)}, not a ready "
                               "user task")
        lane = getattr(task.task_spec, "lane", None)
        if roles is not None and lane is not None and lane not in set(roles):
            raise WrongLane(f"task {task_id} belongs to the {lane} lane")
        try:
            task.data.update(dict(data or {}))
            task.run()
        except Exception as err:
            raise _engine_error(err) from err
        self._run()

    def _view(self, task) -> TaskView:
        spec = task.task_spec
        ext = getattr(spec, "extensions", None) or {}
        props = ext.get("properties") or {}
        form = self.bundle.forms.get(props.get("form")) if props.get("form") else None
        due = None
        if props.get("due_school_days"):
            due = ("school_days", int(props["due_school_days"]))
        elif props.get("due_days"):
            due = ("days", int(props["due_days"]))
        elif props.get("due_on") and task.data.get(props["due_on"]):
            due = ("on", str(task.data[props["due_on"]]))  # a date the model computed
        fields = ((form or {}).get("schema") or {}).get("properties") or {}
        prefill = {k: task.data[k] for k in fields if k in task.data}
        return TaskView(
            id=str(task.id),
            element_id=getattr(spec, "bpmn_id", None) or spec.name,
            name=getattr(spec, "bpmn_name", None) or getattr(spec, "bpmn_id", None) or spec.name,
            title=props.get("title"),
            lane=getattr(spec, "lane", None),
            form=form,
            instructions=ext.get("instructionsForEndUser"),
            due=due,
            data=prefill,
            process_id=task.workflow.spec.name,
            state=TaskState.get_name(task.state),
        )

    # ------------------------------------------------------------------------ timers
    def _timer_tasks(self):
        for task in list(self.wf.event_manager.tasks.values()):
            definition = task.task_spec.event_definition
            if task.state != TaskState.WAITING:
                continue
            if isinstance(definition, TimerEventDefinition) or (
                    isinstance(definition, MultipleEventDefinition) and not definition.parallel
                    and any(isinstance(d, TimerEventDefinition)
                            for d in definition.event_definitions)):
                yield task

    @staticmethod
    def _timer_mark(task):
        value = task._get_internal_data("event_value")
        cycles = value.get("cycles") if isinstance(value, dict) else None
        return cycles

    def fire_timers(self) -> int:
        """Fire every timer due by ``clock.now()``, run the engine; the number that fired."""
        fired = 0
        for _ in range(_FIRE_ROUNDS):
            before = {t.id: (t, self._timer_mark(t)) for t in self._timer_tasks()}
            try:
                self.wf.refresh_timers()
            except Exception as err:
                raise _engine_error(err) from err
            self._run()  # engine steps update waiting cycle timers too (further missed cycles)
            round_fired = 0
            for task, cycles in before.values():
                if cycles is not None:
                    # A cycle timer fires once per cycle it counts down, several at once after
                    # downtime; when its last cycle is spent the library drops the count (None).
                    now_cycles = self._timer_mark(task)
                    round_fired += max(cycles - (now_cycles if now_cycles is not None else 0), 0)
                elif task.state != TaskState.WAITING:
                    round_fired += 1
            fired += round_fired
            if not round_fired:
                break
        return fired

    def waiting_timers(self) -> list[TimerView]:
        """Every waiting timer with its due time (aware UTC), computed without running anything."""
        views = []
        for task in self._timer_tasks():
            due = self._timer_due(task)
            if due is not None:
                views.append(TimerView(str(task.id), task.task_spec.bpmn_id or task.task_spec.name,
                                       due))
        return sorted(views, key=lambda v: v.due_at)

    def _timer_due(self, task) -> datetime | None:
        definition = task.task_spec.event_definition
        try:
            if isinstance(definition, MultipleEventDefinition):
                dues = patches.gateway_dues(task, definition)
                due = min(TimerEventDefinition.get_datetime(v) for v in dues.values())
                return datetime.fromtimestamp(due.timestamp(), tz=timezone.utc)
            value = definition.details(task).value
            if value is None:
                expr = task.workflow.script_engine.evaluate(task, definition.expression)
                if isinstance(definition, DurationTimerEventDefinition):
                    delta = TimerEventDefinition.get_timedelta_from_start(
                        TimerEventDefinition.parse_iso_duration(expr))
                    return clock.now() + delta
                if isinstance(definition, CycleTimerEventDefinition):
                    _, start, _ = TimerEventDefinition.parse_iso_recurring_interval(expr)
                    return start.astimezone(timezone.utc)
                value = expr
            if isinstance(value, dict):
                if not value.get("cycles"):
                    return None
                value = value["next"]
            if isinstance(definition, TimeDateEventDefinition):
                due = TimerEventDefinition.parse_time_or_duration(value)
            else:
                due = TimerEventDefinition.get_datetime(value)
            return datetime.fromtimestamp(due.timestamp(), tz=timezone.utc)
        except Exception as err:
            raise _engine_error(err) from err

    def next_timer_due(self) -> datetime | None:
        timers = self.waiting_timers()
        return timers[0].due_at if timers else None

    # ---------------------------------------------------------------------- messages
    def _correlates(self, task, definition, payload) -> bool:
        """Does the message's correlation value (e.g. case_id) equal the instance's own?"""
        env = ENGINE.environment
        for prop in definition.correlation_properties:
            try:
                theirs = env.evaluate(prop.retrieval_expression, dict(payload or {}))
                ours = env.evaluate(prop.retrieval_expression, dict(task.data))
            except Exception:
                continue  # the instance has no value to compare: leave it to the library
            if theirs != ours:
                return False
        return True

    def deliver_message(self, name: str, payload: dict | None = None) -> bool:
        """Give the case a message; False (no exception) when nothing waits for it."""
        payload = dict(payload or {})
        waiting = []  # (task, the message definition it waits with)
        for task in self.wf.event_manager.tasks.values():
            if task.state != TaskState.WAITING:
                continue
            definition = task.task_spec.event_definition
            inner = definition.event_definitions if isinstance(
                definition, MultipleEventDefinition) else [definition]
            for d in inner:
                if isinstance(d, _BaseMessage) and d.name == name and \
                        self._correlates(task, d, payload):
                    waiting.append((task, d))
        if not waiting:
            return False
        props = waiting[0][1].correlation_properties
        definition = MessageEventDefinition(name, correlation_properties=props)
        try:
            correlations = definition.calculate_correlations(ENGINE, props, payload)
        except Exception:
            correlations = {}
        try:
            caught = self.wf.event_manager.catch(
                BpmnEvent(definition, payload=payload, correlations=correlations), internal=False)
        except Exception as err:
            raise _engine_error(err) from err
        if not caught:
            return False
        self._run()
        return True

    def take_outbox(self) -> Outbox:
        """Messages thrown to the outside and notifications recorded; both are drained."""
        messages = []
        for event in self.wf.get_events():
            definition = event.event_definition
            messages.append((getattr(definition, "name", None), event.payload))
        notes = getattr(self.wf, OUTBOX_ATTR, None) or []
        setattr(self.wf, OUTBOX_ATTR, [])
        return Outbox(messages=messages, notifications=list(notes))

    # ------------------------------------------------------------------------- state
    @property
    def is_completed(self) -> bool:
        return self.wf.is_completed()

    @property
    def data(self) -> dict:
        """The case's data: the process data when finished, else the latest completed task's."""
        if self.wf.is_completed():
            return dict(self.wf.data)
        latest = None
        for task in self._all_tasks(state=TaskState.COMPLETED):
            if latest is None or task.last_state_change >= latest.last_state_change:
                latest = task
        for task in self._all_tasks(state=TaskState.READY | TaskState.WAITING | TaskState.STARTED):
            # A join waiting for its other branches holds no data until it fires: skip it.
            if task.data and (latest is None or task.last_state_change >= latest.last_state_change):
                latest = task
        return dict(latest.data) if latest is not None else {}

    @property
    def stage(self) -> str | None:
        """The name of the main process's active call activity (None when there is none)."""
        for task in self._top_tasks():
            if isinstance(task.task_spec, CallActivity) and \
                    task.state in (TaskState.STARTED, TaskState.READY, TaskState.WAITING):
                return getattr(task.task_spec, "bpmn_name", None) or task.task_spec.bpmn_id
        return None

    def _top_tasks(self):
        return list(self.wf.tasks.values())

    def _element_ids(self, mask) -> list[str]:
        seen = []
        workflows = [self.wf] + list(self.wf.subprocesses.values())
        for wf in workflows:
            for task in wf.tasks.values():
                bpmn_id = getattr(task.task_spec, "bpmn_id", None)
                if bpmn_id and task.state & mask and bpmn_id not in seen:
                    seen.append(bpmn_id)
        return seen

    def completed_element_ids(self) -> list[str]:
        return self._element_ids(TaskState.COMPLETED)

    def active_element_ids(self) -> list[str]:
        return self._element_ids(TaskState.READY | TaskState.WAITING | TaskState.STARTED)
