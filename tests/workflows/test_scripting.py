"""The script sandbox: escapes are refused with a clear reason, ordinary Python still works."""
from datetime import date

import pytest

from tests.workflows.helpers import files_for
from workflows import validate_bundle
from workflows.errors import ScriptNotAllowed
from workflows.scripting import RestrictedEnvironment, at_nine, check_script

ENV = RestrictedEnvironment()

ESCAPES = [
    "import os",
    "from os import path",
    "open('/etc/passwd')",
    "().__class__.__base__.__subclasses__()",
    "getattr(int, '__subclasses__')",
    "x = __builtins__",
    "eval('1')",
    "exec('x = 1')",
    "__import__('os')",
    "type(1)",
    "(lambda: 0).__globals__",
    "date.today.__self__",
]


@pytest.mark.parametrize("source", ESCAPES)
def test_escapes_are_blocked(source):
    with pytest.raises(ScriptNotAllowed):
        ENV.execute(source, {})


def test_dunder_via_format_is_blocked():
    with pytest.raises(Exception):
        ENV.execute("s = '{0.__class__}'.format(1)", {})


@pytest.mark.parametrize("expr,data,expected", [
    ("age >= 11", {"age": 12}, True),
    ("len(items) > 0", {"items": []}, False),
    ("date.fromisoformat(x) + timedelta(days=3)", {"x": "2025-03-03"}, date(2025, 3, 6)),
    ("{'a': [1, 2], 'b': (3,)}['a'][1]", {}, 2),
    ("pupil.get('looked_after', False)", {"pupil": {"looked_after": True}}, True),
    ("reason.upper().startswith('SUS')", {"reason": "suspension"}, True),
    ("sorted([3, 1, 2])[0] + sum([1, 2]) + max(1, 2)", {}, 6),
    ("add_school_days(date(2025, 4, 17), 1)", {}, date(2025, 4, 22)),
    ("at_nine('2025-03-10')", {}, "2025-03-10T09:00:00+00:00"),
    ("Decimal('1.10') + Decimal('2')", {}, __import__("decimal").Decimal("3.10")),
    ("[x * 2 for x in range(3)]", {}, [0, 2, 4]),
])
def test_ordinary_expressions(expr, data, expected):
    assert ENV.evaluate(expr, data) == expected


def test_script_assigns_and_deletes():
    ctx = {"a": 1, "tmp": 2}
    ENV.execute("b = a + 1\ndel tmp\nfor i, v in enumerate([5]):\n    c = v\nd = {}\nd['k'] = 1", ctx)
    assert ctx == {"a": 1, "b": 2, "i": 0, "v": 5, "c": 5, "d": {"k": 1}}


def test_today_now_follow_clock():
    assert ENV.evaluate("today()", {}) == date(2025, 3, 3)
    assert ENV.evaluate("iso(now())", {}) == "2025-03-03T09:00:00+00:00"
    assert at_nine(date(2025, 6, 2)) == "2025-06-02T09:00:00+01:00"


def test_compiled_code_is_cached():
    from workflows.scripting import compile_script
    assert compile_script("a + 1", "eval") is compile_script("a + 1", "eval")


def test_refused_script_names_element_at_deploy():
    problems = validate_bundle(files_for("sandbox_import.bpmn"))
    assert [p.element_id for p in problems] == ["do_import"]
    assert "import is not allowed" in problems[0].message


def test_check_script():
    assert check_script("x = 1") is None
    assert "starts with" in check_script("x = ().__class__")


@pytest.mark.parametrize("status,pupils,allowed", [
    ("registered_school", 9, True), ("unregistered", 5, False), ("unregistered", 4, True)])
def test_dmn_cells_run_in_the_sandbox(status, pupils, allowed):
    from tests.workflows.helpers import BPMN
    from workflows import Instance, load_bundle
    bundle = load_bundle({"dmn_rule.bpmn": (BPMN / "dmn_rule.bpmn").read_bytes(),
                          "dmn_rule.dmn": (BPMN / "dmn_rule.dmn").read_bytes()})
    inst = Instance.start(bundle, {"provider": {"registration_status": status}, "pupils": pupils})
    assert inst.is_completed and inst.data["allowed"] is allowed


def test_refused_dmn_cell_is_named():
    from tests.workflows.helpers import BPMN
    dmn = (BPMN / "dmn_rule.dmn").read_bytes().replace(b"&gt;= 5", b"&gt;= ().__class__")
    problems = validate_bundle({"dmn_rule.bpmn": (BPMN / "dmn_rule.bpmn").read_bytes(),
                                "dmn_rule.dmn": dmn})
    assert [p.element_id for p in problems] == ["rule_big"]
