"""Days as people type them (YYYY-MM-DD), and where a day starts in the console's time
(UTC). Shared by every page and API that takes a period."""

import re
from datetime import UTC, date, datetime, time

from billing_console.exceptions import ApplicationError
from billing_console.text import quoted

# The console's records start well after the first, and the last keeps a day's end (the
# next midnight) a valid date.
EARLIEST_DAY = date(2000, 1, 1)
LATEST_DAY = date(2099, 12, 31)
DAY_FORMAT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def parse_day(value, name):
    """The day `value` names, None when it is blank; raises `ApplicationError` naming the
    parameter `name` when it is not a day, or not one the console can hold."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        # fromisoformat alone also reads "20260501" and "2026-W18-1".
        if not DAY_FORMAT.fullmatch(value):
            raise ValueError(value)
        day = date.fromisoformat(value)
    except ValueError:
        raise ApplicationError(f"{quoted(value)} is not a date; write it as YYYY-MM-DD.",
                               name) from None
    if not EARLIEST_DAY <= day <= LATEST_DAY:
        raise ApplicationError(f"{value} is out of range. Choose a date between "
                               f"{EARLIEST_DAY} and {LATEST_DAY}.", name)
    return day


def start_of_day(day):
    """Midnight at the start of `day`, in UTC."""
    return datetime.combine(day, time.min, tzinfo=UTC)
