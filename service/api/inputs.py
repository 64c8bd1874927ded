"""Reading requests: JSON bodies, integer ids in query strings, and paging."""
from __future__ import annotations

import json
from dataclasses import dataclass

from flask import request

from ..errors import InvalidInput

DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 200


def json_body() -> dict:
    """The request's JSON object; 422 with a plain message when it is missing or not JSON."""
    raw = request.get_data(cache=True)
    if not raw or not raw.strip():
        raise InvalidInput("Send a JSON object as the request body", {"_": "The request body is empty"})
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidInput("The request body is not valid JSON",
                           {"_": f"Not valid JSON: {error}"}) from None
    if not isinstance(body, dict):
        raise InvalidInput("The request body must be a JSON object", {"_": "Send a JSON object ({...})"})
    return body


def int_arg(name: str) -> int | None:
    value = request.args.get(name)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise InvalidInput(f"'{name}' must be a whole number", {name: "Must be a whole number"}) from None


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
