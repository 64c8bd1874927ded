"""The blueprints the app serves, in one list so the factory stays short."""
ALL = []
from ..api import bp as api; ALL.append(api)  # noqa: E402 - the JSON API at /api/v1
