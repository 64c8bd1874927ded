"""JSON Schema validation that reports errors per field, in words a school officer understands."""
from __future__ import annotations

import re
from datetime import date

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError

FORMAT_CHECKER = FormatChecker()

# Ids are PostgreSQL INTEGER columns (32-bit): a larger number can never name a row.
MAX_ID = 2**31 - 1
# C0 control characters other than tab, newline and carriage return: PostgreSQL refuses NUL, and
# none of them belongs in a school record.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def has_control_characters(text: str) -> bool:
    return bool(CONTROL_CHARACTERS.search(text))


@FORMAT_CHECKER.checks("date", raises=ValueError)
def _is_iso_date(value) -> bool:
    if not isinstance(value, str):
        return True
    date.fromisoformat(value)
    return len(value) == 10


def field_path(error: ValidationError) -> str:
    path = [str(p) for p in error.absolute_path]
    if error.validator == "required":
        missing = error.message.split("'")[1]
        path.append(missing)
    elif error.validator == "additionalProperties":
        extra = error.message.split("'")[1] if "'" in error.message else ""
        path.append(extra)
    return ".".join(path) or "_"


def _root_property(schema_root: dict | None, error: ValidationError) -> dict:
    """The field's own definition in the form (if/then branches carry no title of their own)."""
    node = schema_root or {}
    for part in error.absolute_path:
        node = (node.get("properties") or {}).get(str(part)) if isinstance(node, dict) else None
        if not isinstance(node, dict):
            return {}
    return node


def plain_message(error: ValidationError, schema_root: dict | None = None) -> str:
    subschema = error.schema if isinstance(error.schema, dict) else {}
    own = _root_property(schema_root, error)
    label = subschema.get("title") or own.get("title") or "This field"
    match error.validator:
        case "required":
            return "Enter this information"
        case "enum":
            return f"{label}: choose one of the options"
        case "const":
            return f"{label}: that answer is not allowed here" + (f". {own['description']}" if own.get("description") else "")
        case "oneOf":
            return f"{label}: choose one of the options"
        case "format" if error.validator_value == "date":
            return f"{label} must be a real date"
        case "format":
            return f"{label} is not in the right format"
        case "type":
            expected = error.validator_value
            if "integer" in expected or "number" in expected:
                return f"{label} must be a number"
            if "boolean" in expected:
                return f"{label}: choose yes or no"
            return f"{label} is not valid"
        case "minLength":
            return f"Enter {label.lower()}" if error.validator_value == 1 else \
                f"{label} must be at least {error.validator_value} characters"
        case "maxLength":
            return f"{label} must be {error.validator_value} characters or fewer"
        case "minimum":
            return f"{label} must be {error.validator_value} or more"
        case "maximum":
            return f"{label} must be {error.validator_value} or less"
        case "additionalProperties":
            return "This field is not expected here"
        case "pattern":
            return f"{label} is not in the right format"
    return error.message


def validate(schema: dict, data) -> dict[str, str]:
    """Map each invalid field (dotted path) to one plain message; empty when valid."""
    validator = Draft202012Validator(schema, format_checker=FORMAT_CHECKER)
    errors: dict[str, str] = {}
    for error in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path))):
        errors.setdefault(field_path(error), plain_message(error, schema))
    return errors
