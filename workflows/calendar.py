"""School days in England: weekends and England and Wales bank holidays are not school days.

Term dates differ per school and are not modelled: a "school day" here is a working day in
England. Due dates are the end of the working day, 17:00 Europe/London, on the due date: a task
"due in 5 school days" can still be done on the fifth day's afternoon.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import lru_cache

import holidays

from .clock import LONDON

DUE_TIME = time(17, 0)


@lru_cache(maxsize=64)
def _bank_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("GB", subdiv="ENG", years=year).keys())


def _as_date(d) -> date:
    if isinstance(d, datetime):
        return d.astimezone(LONDON).date() if d.tzinfo else d.date()
    if isinstance(d, date):
        return d
    if isinstance(d, str):
        return date.fromisoformat(d[:10])
    raise TypeError(f"expected a date, got {type(d).__name__}")


def is_school_day(d) -> bool:
    d = _as_date(d)
    return d.weekday() < 5 and d not in _bank_holidays(d.year)


def add_school_days(d, n: int) -> date:
    """The date ``n`` school days after ``d`` (before, if ``n`` is negative); n=0 gives ``d``."""
    d = _as_date(d)
    step = 1 if n >= 0 else -1
    remaining = abs(int(n))
    while remaining:
        d += timedelta(days=step)
        if is_school_day(d):
            remaining -= 1
    return d


def school_days_between(a, b) -> int:
    """School days after ``a`` up to and including ``b`` (negative when ``b`` is before ``a``)."""
    a, b = _as_date(a), _as_date(b)
    if b < a:
        return -school_days_between(b, a)
    count, d = 0, a
    while d < b:
        d += timedelta(days=1)
        if is_school_day(d):
            count += 1
    return count


def due_at(start: datetime, kind: str, n) -> datetime:
    """When a task that became ready at ``start`` is due: 17:00 London on the n-th (school) day,
    or on the date ``n`` itself for kind ``on`` (an ISO date the model computed)."""
    start_day = _as_date(start)
    if kind == "on":
        day = date.fromisoformat(str(n)[:10])
    elif kind == "days":
        day = start_day + timedelta(days=int(n))
    elif kind == "school_days":
        day = add_school_days(start_day, int(n))
    else:
        raise ValueError(f"unknown due kind {kind!r} (use 'days', 'school_days' or 'on')")
    return datetime.combine(day, DUE_TIME, tzinfo=LONDON)
