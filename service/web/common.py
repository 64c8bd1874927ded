"""Helpers shared by the HTML pages: navigation, role checks, wording and date formats."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import wraps
from zoneinfo import ZoneInfo

from flask import Flask, abort, request, url_for
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import func, select

from workflows import clock

from .. import access, database
from ..errors import NotAllowed
from ..models import Notification

LONDON = ZoneInfo("Europe/London")
DUE_SOON_DAYS = 3
PAGE_SIZE = 25
MAX_PAGE = 100_000  # far past any real list; keeps the offset a small number

ROLE_NAMES = access.ROLE_NAMES  # the roles as people say them
STATUS_TAGS = {"open": ("Open", "govuk-tag--blue"), "closed": ("Closed", "govuk-tag--grey"),
               "declined": ("Declined", "govuk-tag--red"), "withdrawn": ("Withdrawn", "govuk-tag--grey")}
REGISTRATION_NAMES = {"registered_school": "Registered school", "registered_fe": "Registered further education",
                      "unregistered": "Unregistered"}
REASON_NAMES = {"suspension": "Suspension", "permanent_exclusion": "Permanent exclusion",
                "health_needs": "Health needs", "behaviour_intervention": "Behaviour intervention",
                "off_site_direction": "Off-site direction", "other": "Other"}
SEN_NAMES = {"none": "No special educational needs", "sen_support": "SEN support",
             "ehcp": "Education, health and care plan (EHCP)"}
PATTERN_NAMES = {"full_time": "Full time", "part_time": "Part time"}


def roles_required(*roles):
    """Signed in with at least one of these roles, else a 403 page."""
    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                from ..extensions import login_manager
                return login_manager.unauthorized()
            if not current_user.roles & set(roles):
                raise NotAllowed("You do not have access to this page")
            return view(*args, **kwargs)
        return wrapped
    return decorator


def page_number() -> int:
    """The `page` query parameter: 1 when missing or not a number, at most MAX_PAGE."""
    try:
        return min(MAX_PAGE, max(1, int(request.args.get("page", "1"))))
    except ValueError:
        return 1


def pagination(page: int, total: int, endpoint: str, **args) -> dict | None:
    """Parameters for govukPagination, or None when one page is enough."""
    pages = max(1, -(-total // PAGE_SIZE))
    if pages <= 1:
        return None
    params = {"items": [{"number": n, "href": url_for(endpoint, page=n, **args), "current": n == page}
                        for n in range(1, pages + 1)]}
    if page > 1:
        params["previous"] = {"href": url_for(endpoint, page=page - 1, **args)}
    if page < pages:
        params["next"] = {"href": url_for(endpoint, page=page + 1, **args)}
    return params


def local(value: datetime | None) -> datetime | None:
    return value.astimezone(LONDON) if value else None


def format_date(value) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value[:10])
        except ValueError:
            return value
    if isinstance(value, datetime):
        value = local(value).date()
    return f"{value.day} {value:%B %Y}"


def format_datetime(value: datetime | None) -> str:
    if value is None:
        return ""
    value = local(value)
    hour = int(value.strftime("%I"))
    return f"{value.day} {value:%B %Y} at {hour}:{value:%M}{value.strftime('%p').lower()}"


def due_tag(due_at: datetime | None) -> dict | None:
    """GOV.UK tag parameters for a task's due date: overdue (red) or due soon (yellow)."""
    if due_at is None:
        return None
    now = clock.now()
    if due_at < now:
        return {"text": "Overdue", "classes": "govuk-tag--red"}
    if due_at < now + timedelta(days=DUE_SOON_DAYS):
        return {"text": "Due soon", "classes": "govuk-tag--yellow"}
    return None


def person(user) -> str:
    if user is None:
        return ""
    return user.name or user.email


def yes_no(value) -> str:
    return "Yes" if value else "No"


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(
        date=format_date, datetime=format_datetime, role=lambda r: ROLE_NAMES.get(r, r),
        person=person, yes_no=yes_no, registration=lambda r: REGISTRATION_NAMES.get(r, r or ""),
        reason=lambda r: REASON_NAMES.get(r, r or ""), sen=lambda r: SEN_NAMES.get(r, r or ""),
        pattern=lambda r: PATTERN_NAMES.get(r, r or ""),
    )
    app.jinja_env.globals.update(due_tag=due_tag, STATUS_TAGS=STATUS_TAGS)

    @app.context_processor
    def _navigation():
        return {"nav_items": nav_items()}


def unread_count(user) -> int:
    return database.session().scalar(
        select(func.count(Notification.id)).where(Notification.user_id == user.id,
                                                   Notification.read_at.is_(None))) or 0


def nav_items() -> list[dict]:
    endpoint = request.endpoint or ""
    section = endpoint.split(".")[0]
    if section == "records":  # two menu entries live in one blueprint
        section = "records_dashboard" if endpoint == "records.dashboard" else "records_register"
    items = []

    def add(text, target, sections, html=None):
        items.append({"text": text, "href": url_for(target), "active": section in sections, "html": html})

    try:
        user = current_user
        signed_in = user.is_authenticated
    except Exception:  # pragma: no cover - e.g. an error page after the database failed
        signed_in = False
    if signed_in:
        add("Inbox", "inbox.index", {"inbox", "tasks"})
        add("Cases", "cases.index", {"cases"})
        if access.can_refer(user):
            add("Start a referral", "referrals.new", {"referrals"})
    add("Directory", "directory.index", {"directory"})
    if signed_in:
        try:
            unread = unread_count(user)
        except Exception:  # pragma: no cover
            unread = 0
        label = "Notifications"
        html = None
        if unread:
            html = Markup('Notifications <span class="app-count" aria-hidden="true">{n}</span>'
                          '<span class="govuk-visually-hidden"> ({n} unread)</span>').format(n=unread)
        add(label, "notifications.index", {"notifications"}, html)
        staff = user.roles - {"parent", "admin", "process_owner"}
        if staff & {"school_ap_lead", "head_teacher", "dsl", "senco", "la_officer"}:
            add("Dashboard", "records.dashboard", {"records_dashboard"})
        if staff:
            add("Register", "records.register", {"records_register"})
        if user.roles & {"la_officer", "admin"}:
            add("Manage providers", "directory_admin.index", {"directory_admin"})
        if "process_owner" in user.roles:
            add("Process models", "process_models.index", {"process_models"})
        if "admin" in user.roles:
            add("Timer incidents", "incidents.index", {"incidents"})
        if user.roles & {"admin", "la_officer"}:
            add("Emails", "emails.index", {"emails"})
        add("Sign out", "auth.sign_out", {"auth_out"})
    else:
        add("Sign in", "auth.sign_in", {"auth"})
    return items


def not_found():
    abort(404)
