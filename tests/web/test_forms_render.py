"""JSON Schema + ui hints to GOV.UK components, and posted forms back to typed data (no database)."""
from __future__ import annotations

from werkzeug.datastructures import MultiDict

from service.web import forms_render as fr

FORM = {"schema": {"type": "object", "required": ["when", "pupil"], "properties": {
    "when": {"type": "string", "format": "date", "title": "When"},
    "level": {"enum": ["a", "b"], "title": "Level"},
    "kind": {"type": "string", "oneOf": [{"const": "x", "title": "Ex"}, {"const": "y", "title": "Why"}]},
    "tags": {"type": "array", "items": {"enum": ["t1", "t2"]}},
    "ok": {"type": "boolean", "title": "OK?"},
    "count": {"type": "integer", "title": "Count"},
    "note": {"type": "string", "readOnly": True},
    "pupil": {"type": "object", "required": ["upn"], "properties": {"upn": {"type": "string", "title": "UPN"}}},
}}, "ui": {"level": {"labels": {"a": "Level A"}}, "order": ["pupil", "when"]}}


def test_fields_kinds_labels_and_order():
    fields = fr.fields_for(FORM)
    kinds = {f.path: f.kind for f in fields}
    assert [f.path for f in fields][:2] == ["pupil.upn", "when"]
    assert kinds == {"pupil.upn": "text", "when": "date", "level": "radios", "kind": "radios",
                     "tags": "checkboxes", "ok": "yes_no", "count": "number", "note": "readonly"}
    by = {f.path: f for f in fields}
    assert [o[1] for o in by["level"].options] == ["Level A", "B"]
    assert [o[1] for o in by["kind"].options] == ["Ex", "Why"]
    assert by["pupil.upn"].id == "pupil-upn" and by["when"].error_href == "#when-day"


def test_parse_types_and_errors():
    fields = fr.fields_for(FORM)
    raw, data, errors = fr.parse(fields, MultiDict([
        ("when-day", "29"), ("when-month", "2"), ("when-year", "2028"), ("level", "b"), ("kind", "y"),
        ("tags", "t1"), ("tags", "t2"), ("ok", "no"), ("count", "7"), ("note", "ignored"), ("pupil.upn", " X ")]))
    assert errors == {}
    assert data == {"when": "2028-02-29", "level": "b", "kind": "y", "tags": ["t1", "t2"], "ok": False,
                    "count": 7, "pupil": {"upn": "X"}}
    _raw, data, errors = fr.parse(fields, MultiDict([("when-day", "30"), ("when-month", "2"), ("when-year", "2027"),
                                                     ("count", "1.5")]))
    assert errors == {"when": "When must be a real date", "count": "Count must be a whole number"}
    assert data["pupil"] == {}
    _raw, _data, errors = fr.parse(fields, MultiDict([("when-day", "3"), ("when-year", "2027")]))
    assert errors == {"when": "When must include a month"}


def test_validation_messages_and_round_trip():
    fields = fr.fields_for(FORM)
    errors = fr.validate(fields, FORM["schema"], {"pupil": {}})
    assert errors["when"] == "Enter when" and errors["pupil.upn"].startswith("Enter")
    raw = fr.raw_from_data(fields, {"when": "2026-11-03", "ok": True, "tags": ["t2"], "note": "From the model"})
    assert raw["when"] == {"day": "3", "month": "11", "year": "2026"} and raw["ok"] == "yes"
    params = {f.path: fr.component(f, raw, {}) for f in fields}
    assert params["note"] == {"macro": "readonly", "params": {"label": "Note", "value": "From the model", "hint": None}}
    assert [i["checked"] for i in params["tags"]["params"]["items"]] == [False, True]
    summary = fr.error_list(fields, {"count": "Count must be a number", "_": "Whole form"})
    assert summary == [{"text": "Count must be a number", "href": "#count"},
                       {"text": "Whole form", "href": "#main-content"}]
