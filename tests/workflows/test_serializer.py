"""Instance state round trips: dates, Decimals, nested data, parent-first restore, no spec."""
import json
import random
import time
from datetime import date, datetime, timezone
from decimal import Decimal

from tests.workflows.helpers import bundle_for
from workflows import Instance, dump_instance

DATA = {
    "proposed_start": date(2025, 3, 10),
    "cost": Decimal("1234.50"),
    "seen_at": datetime(2025, 3, 3, 9, 30, tzinfo=timezone.utc),
    "tags": {"a", "b"},
    "pupil": {"year_group": 9, "needs": {"ehcp": {"section_f": ["speech", date(2025, 1, 1)]}}},
    "age": 12,
}


def _round_trip(inst):
    return Instance.load(inst.bundle, json.loads(json.dumps(inst.dump())))


def test_round_trip_keeps_typed_data_and_no_spec():
    inst = Instance.start(bundle_for("basic.bpmn", forms=True),
                          data={**DATA, "proposed_start": "2025-01-06"})
    [task] = inst.ready_tasks()
    inst.complete(task.id, {"parent_views": "ok", "when": date(2025, 3, 4),
                            "fee": Decimal("0.10")}, roles={"school_ap_lead"})
    state = inst.dump()
    assert "spec" not in state and "subprocess_specs" not in state
    text = json.dumps(state)  # JSON-able as it is
    again = Instance.load(inst.bundle, json.loads(text))
    d = again.data
    assert d["when"] == date(2025, 3, 4) and type(d["when"]) is date
    assert d["fee"] == Decimal("0.10") and isinstance(d["fee"], Decimal)
    assert d["cost"] == Decimal("1234.50") and d["seen_at"] == DATA["seen_at"]
    assert d["tags"] == {"a", "b"}
    assert d["pupil"]["needs"]["ehcp"]["section_f"] == ["speech", date(2025, 1, 1)]


def test_three_level_nested_data_restored_parent_first_whatever_the_key_order():
    # Task data is a delta against the parent: a database that reorders keys (PostgreSQL JSONB)
    # would silently lose data unless tasks are restored parent-first.
    bundle = bundle_for("call_chain.bpmn")
    inst = Instance.start(bundle, data={"a": {"b": {"c": 1}}, "keep": "me"})
    state = json.loads(json.dumps(inst.dump()))
    items = list(state["tasks"].items())
    random.Random(3).shuffle(items)
    state["tasks"] = dict(reversed(items))
    for sp in state["subprocesses"].values():
        sp["tasks"] = dict(reversed(list(sp["tasks"].items())))
    again = Instance.load(bundle, state)
    [task] = again.ready_tasks()
    real = again.wf.get_task_from_id(__import__("uuid").UUID(task.id))
    assert real.data["a"] == {"b": {"c": 1}} and real.data["keep"] == "me"
    again.complete(task.id, {"a": {"b": {"c": 2, "d": [1, 2, 3]}}})
    assert again.is_completed and again.data["a"]["b"] == {"c": 2, "d": [1, 2, 3]}
    assert again.data["keep"] == "me"


def test_dump_load_speed_is_near_the_floor():
    bundle = bundle_for("basic.bpmn", forms=True)
    inst = Instance.start(bundle, data={"proposed_start": "2025-01-06", "age": 12})
    n = 50
    t = time.perf_counter()
    for _ in range(n):
        state = dump_instance(inst.wf)
    dump_ms = (time.perf_counter() - t) * 1000 / n
    t = time.perf_counter()
    for _ in range(n):
        Instance.load(bundle, state)
    load_ms = (time.perf_counter() - t) * 1000 / n
    assert dump_ms < 10 and load_ms < 15, (dump_ms, load_ms)
