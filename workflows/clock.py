"""The one injectable clock.

Everything that needs "now" (timers, due dates, script helpers) reads :func:`now`, so tests can
travel in time.  Importing this module also patches SpiffWorkflow's timer module so BPMN timers
read this clock instead of the wall clock.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")

_lock = threading.Lock()
_fixed: datetime | None = None      # a frozen instant, or None for the wall clock
_offset = timedelta(0)              # added to the wall clock when not frozen

_real_datetime = datetime


def _aware_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("clock needs an aware datetime (with an offset)")
    return value.astimezone(timezone.utc)


def now() -> datetime:
    """The current instant, aware, in UTC."""
    with _lock:
        if _fixed is not None:
            return _fixed
        return _real_datetime.now(timezone.utc) + _offset


def set(fixed: datetime) -> None:  # noqa: A001 - the name is the documented API
    """Freeze the clock at ``fixed`` (aware)."""
    global _fixed, _offset
    with _lock:
        _fixed = _aware_utc(fixed)
        _offset = timedelta(0)


def travel(to: timedelta | datetime) -> datetime:
    """Move the clock forward by a timedelta, or to an aware datetime. Frozen stays frozen."""
    global _fixed, _offset
    with _lock:
        if isinstance(to, timedelta):
            if _fixed is not None:
                _fixed = _fixed + to
            else:
                _offset = _offset + to
        else:
            target = _aware_utc(to)
            if _fixed is not None:
                _fixed = target
            else:
                _offset = target - _real_datetime.now(timezone.utc)
    return now()


def reset() -> None:
    """Back to the wall clock."""
    global _fixed, _offset
    with _lock:
        _fixed = None
        _offset = timedelta(0)


@contextmanager
def kept():
    """Run a block that moves the clock (sets it, travels), then put it back as it was: frozen
    or running, with the same offset."""
    global _fixed, _offset
    with _lock:
        saved = (_fixed, _offset)
    try:
        yield
    finally:
        with _lock:
            _fixed, _offset = saved


def today_london() -> date:
    """Today's date in England (school days and due dates are English dates)."""
    return now().astimezone(LONDON).date()


class _ClockDatetime(datetime):
    """A datetime whose ``now()`` reads our clock; everything else is the real datetime."""

    @classmethod
    def now(cls, tz=None):
        current = now()
        if tz is None:
            return current.astimezone().replace(tzinfo=None)
        return current.astimezone(tz)

    @classmethod
    def utcnow(cls):
        return now().replace(tzinfo=None)


def _patch_spiff_timers() -> None:
    """SpiffWorkflow's timer module calls ``datetime.now(timezone.utc)``: point its name at ours.

    Results of fromisoformat/arithmetic in that module are plain datetimes either way; only
    ``now()`` changes.
    """
    from SpiffWorkflow.bpmn.specs.event_definitions import timer as spiff_timer

    spiff_timer.datetime = _ClockDatetime


_patch_spiff_timers()
