"""The district's calendar: timestamps are stored naive UTC; every day, month and period a
person reads or closes is a calendar day in `DISPLAY_TIMEZONE` (default Asia/Shanghai).

A China day D runs from D 00:00 in Shanghai, which is D−1 16:00 UTC, so comparing a stored UTC
timestamp with a bare date moves eight hours of sales into the wrong day (or month). Convert
with `day_bounds_utc` instead.
"""
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context

from marketplace.database import utcnow

DEFAULT_TIMEZONE = "Asia/Shanghai"


def display_zone():
    """The district's time zone (the app's DISPLAY_TIMEZONE; Asia/Shanghai outside an app)."""
    name = current_app.config.get("DISPLAY_TIMEZONE", DEFAULT_TIMEZONE) if has_app_context() else DEFAULT_TIMEZONE
    return ZoneInfo(name)


def local_today():
    """The date in the district now."""
    return local_day(utcnow())


def local_time(moment):
    """A stored (naive UTC) timestamp as the district's wall-clock time (naive, for display)."""
    return moment.replace(tzinfo=UTC).astimezone(display_zone()).replace(tzinfo=None)


def format_local(moment, pattern="%Y-%m-%d %H:%M"):
    """A stored timestamp as people read it, in the district's time; "—" for none."""
    return local_time(moment).strftime(pattern) if moment else "—"


def local_day(moment):
    """The district's calendar day of a stored (naive UTC) timestamp."""
    return moment.replace(tzinfo=UTC).astimezone(display_zone()).date()


def day_bounds_utc(first_day, last_day=None):
    """[start, end) in naive UTC of the district's days `first_day` … `last_day` (inclusive)."""
    zone = display_zone()
    last_day = first_day if last_day is None else last_day

    def utc_midnight(day):
        return datetime.combine(day, time.min, zone).astimezone(UTC).replace(tzinfo=None)
    return utc_midnight(first_day), utc_midnight(last_day + timedelta(days=1))
