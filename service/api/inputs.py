"""Reading requests: JSON bodies, integer ids in query strings, and paging."""
from __future__ import annotations

import json
from dataclasses import dataclass

from flask import request

from ..errors import InvalidInput
from ..validation import MAX_ID, has_control_characters

DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 200


def json_body() -> dict:
    """The request's JSON object; 422 with a plain message when it is missing or not JSON, or
    when a string in it holds control characters (naming the top-level key)."""
    raw = request.get_data(cache=True)
    if not raw or not raw.strip():
        raise InvalidInput("Send a JSON object as the request body", {"_": "The request body is empty"})
    try:
        body = json.loads(raw, parse_constant=_no_constant)
    except (ValueError, UnicodeDecodeError, RecursionError) as error:
        raise InvalidInput("The request body is not valid JSON",
                           {"_": f"Not valid JSON: {error}"}) from None
    if not isinstance(body, dict):
        raise InvalidInput("The request body must be a JSON object", {"_": "Send a JSON object ({...})"})
    bad = [("_" if _has_control(key) else key) for key, value in body.items()
           if _has_control(key) or _has_control(value)]
    if bad:
        raise InvalidInput("The request body contains control characters",
                           {key: "Must not contain control characters (such as NUL)" for key in bad})
    return body


def _no_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")


def _has_control(value) -> bool:
    """True when any string in `value` (keys included, at any depth) holds a control character."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if has_control_characters(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def int_arg(name: str) -> int | None:
    """A whole number from the query string (ids and paging), 422 naming it when not one or too big."""
    value = request.args.get(name)
    if value is None or value == "":
        return None
    try:
        number = int(value)
    except ValueError:
        raise InvalidInput(f"'{name}' must be a whole number", {name: "Must be a whole number"}) from None
    if abs(number) > MAX_ID:
        raise InvalidInput(f"'{name}' is too large", {name: f"Must be a whole number no larger than {MAX_ID}"})
    return number


def choice_arg(name: str, choices, default=None):
    value = request.args.get(name)
    if value is None or value == "":
        return default
    if value not in choices:
        raise InvalidInput(f"'{name}' must be one of: {', '.join(choices)}",
                           {name: f"Choose one of: {', '.join(choices)}"})
    return value


@dataclass
class Page:
    page: int
    per_page: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


def paging(default: int = DEFAULT_PER_PAGE, maximum: int = MAX_PER_PAGE) -> Page:
    page = int_arg("page")
    per_page = int_arg("per_page")
    page = 1 if page is None else page
    per_page = default if per_page is None else per_page
    errors = {}
    if page < 1:
        errors["page"] = "Must be 1 or more"
    if not 1 <= per_page <= maximum:
        errors["per_page"] = f"Must be between 1 and {maximum}"
    if errors:
        raise InvalidInput("The paging parameters are not valid", errors)
    return Page(page, per_page)


def paged_response(items: list, page: Page, total: int):
    """A JSON list, with the paging in headers (X-Total-Count, Link) so the body stays a plain list."""
    from flask import jsonify
    response = jsonify(items)
    response.headers["X-Total-Count"] = str(total)
    response.headers["X-Page"] = str(page.page)
    response.headers["X-Per-Page"] = str(page.per_page)
    links = []
    args = request.args.to_dict()
    if page.offset + page.per_page < total:
        links.append(_link(args, page.page + 1, page.per_page, "next"))
    if page.page > 1:
        links.append(_link(args, page.page - 1, page.per_page, "prev"))
    if links:
        response.headers["Link"] = ", ".join(links)
    return response


def _link(args: dict, number: int, per_page: int, rel: str) -> str:
    from urllib.parse import urlencode
    query = urlencode({**args, "page": number, "per_page": per_page})
    return f'<{request.base_url}?{query}>; rel="{rel}"'
