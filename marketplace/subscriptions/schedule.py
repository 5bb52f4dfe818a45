"""When a subscription's deliveries fall due: calendar days in the district's time zone.

Period n is computed from the first due day, never chained from the one before, so a box due on
the 31st comes on the last day of a short month and on the 31st again after it (no drift).
"""
import calendar
from datetime import date, timedelta

FORTNIGHT = timedelta(days=14)


def due_on(first_due_on: date, interval: str, period_no: int) -> date:
    """The day period `period_no` (1 = the first delivery) falls due."""
    if interval == "fortnightly":
        return first_due_on + FORTNIGHT * (period_no - 1)
    months = first_due_on.month - 1 + period_no - 1
    year, month = first_due_on.year + months // 12, months % 12 + 1
    return date(year, month, min(first_due_on.day, calendar.monthrange(year, month)[1]))


def periods_due_by(first_due_on, interval, today):
    """How many periods have fallen due by `today` (inclusive)."""
    count = 0
    while due_on(first_due_on, interval, count + 1) <= today:
        count += 1
    return count
