"""Turn a JSON Schema (+ UI hints) into GOV.UK Design System components, and a posted form back
into typed data.

A form is `{"schema": {...}, "ui": {"field": {"widget": ..., "hint": ..., "labels": ...},
"order": [...]}}` (docs/conventions.md). Nested objects are flattened into dotted paths
(`pupil.upn`), which are also the keys of the error details `casework` raises, so one mapping
serves both the task pages and the referral page.

Widgets: text input, textarea, radios (enums, `oneOf` const/title, booleans as Yes/No),
checkboxes (arrays of enums), date input (day/month/year -> ISO date), number, select.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field as dc_field
from datetime import date

from .. import validation

WIDGETS = {"text", "textarea", "radios", "checkboxes", "date", "number", "select", "yes_no"}
# The most characters a free-text answer may have when its schema gives no maxLength.
DEFAULT_MAX_LENGTH = {"textarea": 10_000, "text": 500}
_MISSING = object()


@dataclass
class Field:
    path: str                 # dotted data path, also the form field name
    kind: str                 # text | textarea | number | radios | yes_no | checkboxes | date | select
    label: str
    schema: dict
    hint: str | None = None
    required: bool = False
    options: list = dc_field(default_factory=list)  # [(value, text, hint)]
    hints: dict = dc_field(default_factory=dict)
    value_type: str = "string"  # string | integer | number | boolean | array

    @property
    def id(self) -> str:
        return field_id(self.path)

    @property
    def error_href(self) -> str:
        return "#" + self.id + ("-day" if self.kind == "date" else "")


def field_id(path: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "-", path)


def humanise(name) -> str:
    text = str(name).replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def _types(prop: dict) -> list[str]:
    value = prop.get("type")
    if isinstance(value, list):
        return [t for t in value if t != "null"]
    return [value] if value else []


def _choices(prop: dict, hints: dict) -> list | None:
    """[(value, text, hint)] for an enum / oneOf const / boolean property, else None."""
    for key in ("oneOf", "anyOf"):
        alternatives = prop.get(key)
        if isinstance(alternatives, list) and alternatives and all(
                isinstance(a, dict) and "const" in a for a in alternatives):
            return [(a["const"], a.get("title") or _label(a["const"], None, hints), a.get("description"))
                    for a in alternatives]
    if isinstance(prop.get("enum"), list):
        names = prop.get("enumNames") or prop.get("x-enumNames")
        values = [v for v in prop["enum"] if v is not None]
        out = []
        for index, value in enumerate(values):
            text = None
            if isinstance(names, list) and index < len(names):
                text = names[index]
            out.append((value, text or _label(value, None, hints), None))
        return out
    if "boolean" in _types(prop):
        labels = hints.get("labels") if isinstance(hints.get("labels"), dict) else {}
        return [(True, labels.get("true") or labels.get("yes") or "Yes", None),
                (False, labels.get("false") or labels.get("no") or "No", None)]
    return None


def _label(value, default, hints: dict) -> str:
    labels = hints.get("labels")
    if isinstance(labels, dict):
        for key in (value, str(value), str(value).lower()):
            if key in labels:
                return labels[key]
    return default or humanise(value)


def _kind(prop: dict, hints: dict, choices) -> tuple[str, str]:
    types = _types(prop)
    value_type = "string"
    if "integer" in types:
        value_type = "integer"
    elif "number" in types:
        value_type = "number"
    elif "boolean" in types:
        value_type = "boolean"
    elif "array" in types:
        value_type = "array"
    elif choices and all(isinstance(c[0], bool) for c in choices):
        value_type = "boolean"
    elif choices and all(isinstance(c[0], int) and not isinstance(c[0], bool) for c in choices):
        value_type = "integer"
    widget = hints.get("widget")
    if widget == "provider":  # a provider from the directory: the caller supplies the options
        return "select", value_type if value_type != "string" else "integer"
    if widget == "number":
        return "number", value_type if value_type in ("integer", "number") else "number"
    if widget in ("radios", "select", "checkboxes", "date", "textarea", "text"):
        if widget == "radios" and value_type == "boolean":
            return "yes_no", value_type
        return widget, value_type
    if value_type == "array":
        return "checkboxes", value_type
    if value_type == "boolean":
        return "yes_no", value_type
    if prop.get("format") == "date":
        return "date", "string"
    if choices:
        return ("select" if len(choices) > 12 else "radios"), value_type
    if value_type in ("integer", "number"):
        return "number", value_type
    if (prop.get("maxLength") or 0) > 500:
        return "textarea", value_type
    return "text", value_type


def fields_for(form: dict | None, prefix: str = "", only: list[str] | None = None,
               options: dict | None = None, widget_options: dict | None = None) -> list[Field]:
    """The fields of a form (or of the object schema `form["schema"]`), in display order.

    `options` gives choices known only at run time (e.g. providers), keyed by path:
    [(value, text)] or [(value, text, hint)].
    """
    form = form or {}
    schema = form.get("schema") if "schema" in form else form
    ui = form.get("ui") or {}
    return _walk(schema or {}, ui, prefix, only, options or {}, widget_options or {})


def _walk(schema: dict, ui: dict, prefix: str, only, options, widget_options) -> list[Field]:
    properties = schema.get("properties") or {}
    required = set(schema.get("required") or [])
    order = ui.get("order") or ui.get("ui:order") or list(properties)
    names = [n for n in order if n in properties] + [n for n in properties if n not in order]
    out: list[Field] = []
    for name in names:
        path = f"{prefix}{name}"
        prop = properties[name] or {}
        hints = ui.get(path) or ui.get(name) or {}
        if not isinstance(hints, dict):
            hints = {}
        if hints.get("widget") == "hidden":
            continue
        if "object" in _types(prop) and prop.get("properties"):
            out.extend(_walk(prop, hints or ui, path + ".", only, options, widget_options))
            continue
        if only is not None and path not in only:
            continue
        choices = _choices(prop, hints)
        given = options.get(path) if path in options else widget_options.get(hints.get("widget"))
        if given is not None:
            choices = [tuple(o) + (None,) * (3 - len(o)) for o in given]
        items = prop.get("items") if isinstance(prop.get("items"), dict) else None
        if items is not None:
            choices = _choices(items, hints)
        kind, value_type = _kind(prop, hints, choices)
        if kind == "select" and choices is None:
            kind = "text"
        if prop.get("readOnly"):
            kind = "readonly"  # shown from the case's data, never taken from a submission
        out.append(Field(
            path=path, kind=kind, label=hints.get("label") or prop.get("title") or humanise(name),
            schema=prop, hint=hints.get("hint") or prop.get("description"), required=name in required,
            options=choices or [], hints=hints, value_type=value_type if items is None else "array",
        ))
    return out


# ------------------------------------------------------------------ data <-> raw form values

def _get(data, path: str):
    value = data
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return _MISSING
        value = value[part]
    return value


def _set(data: dict, path: str, value) -> None:
    parts = path.split(".")
    for part in parts[:-1]:
        data = data.setdefault(part, {})
    data[parts[-1]] = value


def _option_key(value) -> str:
    if value is True:
        return "yes"
    if value is False:
        return "no"
    return str(value)


def raw_from_data(fields: list[Field], data: dict | None) -> dict:
    """What to show in the form for saved (typed) data: strings, lists or date parts."""
    raw: dict = {}
    for f in fields:
        value = _get(data or {}, f.path)
        if value is _MISSING or value is None:
            continue
        if f.kind == "date":
            if isinstance(value, str) and len(value) >= 10:
                try:
                    d = date.fromisoformat(value[:10])
                    raw[f.path] = {"day": str(d.day), "month": str(d.month), "year": str(d.year)}
                except ValueError:
                    pass
            elif isinstance(value, dict):
                raw[f.path] = value
        elif f.kind == "checkboxes":
            raw[f.path] = [_option_key(v) for v in value] if isinstance(value, list) else []
        else:
            raw[f.path] = _option_key(value)
    return raw


def parse(fields: list[Field], formdata) -> tuple[dict, dict, dict]:
    """(raw, data, errors) from a posted form: typed values, and errors for what cannot be typed
    (a date that does not exist, letters in a number). Empty answers are left out, so the JSON
    Schema's `required` reports them."""
    raw: dict = {}
    data: dict = {}
    errors: dict = {}
    for f in fields:  # nested objects exist even when empty, so their own `required` is reported
        parts = f.path.split(".")[:-1]
        node = data
        for part in parts:
            node = node.setdefault(part, {})
    for f in fields:
        if f.kind == "readonly":
            continue
        if f.kind == "date":
            parts = {p: (formdata.get(f"{f.path}-{p}") or "").strip() for p in ("day", "month", "year")}
            raw[f.path] = parts
            if not any(parts.values()):
                continue
            missing = [p for p in ("day", "month", "year") if not parts[p]]
            if missing:
                errors[f.path] = f"{f.label} must include a " + " and ".join(missing)
                continue
            try:
                day, month, year = int(parts["day"]), int(parts["month"]), int(parts["year"])
                if not 1000 <= year <= 9999:
                    raise ValueError
                _set(data, f.path, date(year, month, day).isoformat())
            except (ValueError, OverflowError):
                errors[f.path] = f"{f.label} must be a real date"
            continue
        if f.kind == "checkboxes":
            chosen = formdata.getlist(f.path) if hasattr(formdata, "getlist") else formdata.get(f.path) or []
            raw[f.path] = list(chosen)
            by_key = {_option_key(v): v for v, _t, _h in f.options}
            values = [by_key[c] for c in chosen if c in by_key]
            if values or not f.required:
                _set(data, f.path, values)
            continue
        text = formdata.get(f.path)
        text = "" if text is None else str(text)
        if f.kind != "textarea":
            text = text.strip()
        raw[f.path] = text
        if text.strip() == "":
            continue
        if validation.has_control_characters(text):
            errors[f.path] = f"{f.label} must not contain control characters"
            continue
        if f.options:
            by_key = {_option_key(v): v for v, _t, _h in f.options}
            if text in by_key:
                _set(data, f.path, by_key[text])
            else:
                errors[f.path] = f"Select {f.label[:1].lower() + f.label[1:]}"
            continue
        if f.value_type in ("integer", "number") or f.kind == "number":
            try:
                number = float(text.replace(",", ""))
            except ValueError:
                number = math.nan
            if not math.isfinite(number):
                errors[f.path] = f"{f.label} must be a number"
                continue
            if f.value_type == "integer" or "integer" in _types(f.schema):
                if number != int(number):
                    errors[f.path] = f"{f.label} must be a whole number"
                    continue
                number = int(number)
            _set(data, f.path, number)
            continue
        limit = DEFAULT_MAX_LENGTH.get(f.kind)
        if limit and "maxLength" not in f.schema and len(text) > limit:
            errors[f.path] = f"{f.label} must be {limit:,} characters or fewer"
            continue
        _set(data, f.path, text)
    return raw, data, errors


def validate(fields: list[Field], schema: dict, data: dict) -> dict:
    """Schema errors in GOV.UK wording, keyed by dotted path."""
    return friendly_errors(fields, validation.validate(schema, data))


def friendly_errors(fields: list[Field], details: dict) -> dict:
    """Reword the service's plain messages with each field's own label, GOV.UK style."""
    by_path = {f.path: f for f in fields}
    out = {}
    for path, message in (details or {}).items():
        f = by_path.get(path)
        if f is not None and (message == "Enter this information"
                              or message.endswith(": choose one of the options")
                              or message.endswith(": choose yes or no")):
            message = required_message(f)
        elif f is not None and message.startswith("This field"):
            message = f.label + message[len("This field"):]
        out[path] = message
    return out


def required_message(f: Field) -> str:
    if f.hints.get("error"):
        return f.hints["error"]
    label = f.label[:1].lower() + f.label[1:]
    label = label.rstrip("?")
    if f.label.rstrip().endswith("?"):  # a question reads badly after "Enter"
        if f.kind in ("yes_no", "radios", "select", "checkboxes"):
            return f"Select an answer to “{f.label.strip()}”"
        return f"Answer the question “{f.label.strip()}”"
    if f.kind == "yes_no":
        return f"Select yes or no: {f.label.rstrip('?')}"
    if f.kind in ("radios", "select"):
        return f"Select {label}"
    if f.kind == "checkboxes":
        return f"Select at least one option: {label}"
    if f.kind == "date":
        return f"Enter {label}"
    return f"Enter {label}"


# ------------------------------------------------------------------ GOV.UK macro parameters

def component(f: Field, raw: dict, errors: dict) -> dict:
    """The parameters of the GOV.UK macro for this field (`macro` names which one)."""
    error = errors.get(f.path)
    error_message = {"text": error} if error else None
    if f.kind == "readonly":
        return {"macro": "readonly", "params": {"label": f.label, "value": display_value(f, raw.get(f.path)),
                                                "hint": f.hint}}
    hint = {"text": f.hint} if f.hint else None
    value = raw.get(f.path)
    if f.kind in ("radios", "yes_no", "checkboxes"):
        chosen = value if isinstance(value, list) else ([value] if value not in (None, "") else [])
        items = []
        for option_value, text, option_hint in f.options:
            key = _option_key(option_value)
            item = {"value": key, "text": text, "checked": key in chosen}
            if option_hint:
                item["hint"] = {"text": option_hint}
            items.append(item)
        params = {
            "name": f.path, "idPrefix": f.id, "items": items, "hint": hint, "errorMessage": error_message,
            "fieldset": {"legend": {"text": f.label, "classes": "govuk-fieldset__legend--s"}},
        }
        if f.kind == "yes_no" or (f.kind == "radios" and len(items) == 2 and
                                  all(len(i["text"]) < 12 for i in items)):
            params["classes"] = "govuk-radios--inline"
        return {"macro": "checkboxes" if f.kind == "checkboxes" else "radios", "params": params}
    if f.kind == "date":
        parts = value if isinstance(value, dict) else {}
        error_class = " govuk-input--error" if error else ""
        return {"macro": "date", "params": {
            "id": f.id, "namePrefix": f.path,
            "fieldset": {"legend": {"text": f.label, "classes": "govuk-fieldset__legend--s"}},
            "hint": hint or {"text": "For example, 27 3 2026"}, "errorMessage": error_message,
            "items": [
                {"name": "day", "classes": "govuk-input--width-2" + error_class, "value": parts.get("day", "")},
                {"name": "month", "classes": "govuk-input--width-2" + error_class, "value": parts.get("month", "")},
                {"name": "year", "classes": "govuk-input--width-4" + error_class, "value": parts.get("year", "")},
            ]}}
    label = {"text": f.label, "classes": "govuk-label--s"}
    if f.kind == "select":
        items = [{"value": "", "text": "Choose…", "selected": not value}]
        items += [{"value": _option_key(v), "text": t, "selected": _option_key(v) == value}
                  for v, t, _h in f.options]
        return {"macro": "select", "params": {"id": f.id, "name": f.path, "label": label, "items": items,
                                              "hint": hint, "errorMessage": error_message}}
    if f.kind == "textarea":
        return {"macro": "textarea", "params": {"id": f.id, "name": f.path, "label": label, "hint": hint,
                                                "errorMessage": error_message, "value": value or "",
                                                "rows": f.hints.get("rows", 5)}}
    params = {"id": f.id, "name": f.path, "label": label, "hint": hint, "errorMessage": error_message,
              "value": value or ""}
    if f.kind == "number":
        params.update({"inputmode": "numeric" if f.value_type == "integer" else "decimal",
                       "classes": "govuk-input--width-5", "spellcheck": False})
    elif f.hints.get("width"):
        params["classes"] = f"govuk-input--width-{f.hints['width']}"
    if f.hints.get("autocomplete"):
        params["autocomplete"] = f.hints["autocomplete"]
    return {"macro": "input", "params": params}


def display_value(f: Field, raw_value) -> str:
    """A stored answer in words: the option's label, or the date, or the text."""
    if raw_value in (None, "", [], {}):
        return "Not given"
    labels = {_option_key(v): t for v, t, _h in f.options}
    if isinstance(raw_value, list):
        return ", ".join(labels.get(v, str(v)) for v in raw_value)
    if isinstance(raw_value, dict):
        try:
            d = date(int(raw_value["year"]), int(raw_value["month"]), int(raw_value["day"]))
            return f"{d.day} {d:%B %Y}"
        except (KeyError, TypeError, ValueError, OverflowError):
            return ""
    return labels.get(raw_value, str(raw_value))


def error_list(fields: list[Field], errors: dict) -> list[dict]:
    """The error summary's list, in the order the fields appear on the page."""
    by_path = {f.path: f for f in fields}
    listed = []
    for f in fields:
        if f.path in errors:
            listed.append({"text": errors[f.path], "href": f.error_href})
    for path, message in errors.items():
        if path not in by_path:
            listed.append({"text": message, "href": "#main-content"} if path == "_" else
                          {"text": f"{humanise(path.split('.')[-1])}: {message}", "href": "#main-content"})
    return listed
