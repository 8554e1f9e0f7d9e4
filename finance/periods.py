"""A period of whole UTC days, as finance reads money: the summary's months and the
reconciliation's days are both one `Period`.

Each page keeps its own rules for the periods it accepts (and its own words for a bad
one), in its own constructor: `from_query` for the summary, `to_reconcile` for the
reconciliation.
"""

from dataclasses import dataclass
from datetime import date, timedelta

from django.utils import timezone

from billing_console.dates import EARLIEST_DAY, LATEST_DAY, parse_day, start_of_day
from billing_console.exceptions import ApplicationError

# Few enough months to chart.
MAX_MONTHS = 60
# A year, leap day included: a run reads Stripe a day at a time in a task, so its length is
# bounded by what finance reconciles at once (a year's close), not by a web request.
LONGEST_RECONCILIATION_DAYS = 366


@dataclass(frozen=True)
class Period:
    """Whole UTC days, `since` to `until`, both included."""

    since: date
    until: date

    # --- The summary's periods ----------------------------------------------------------

    @classmethod
    def last_twelve_months(cls, today):
        """This month so far and the eleven before it."""
        return cls(since=add_months(today.replace(day=1), -11), until=today)

    @classmethod
    def from_query(cls, query, *, today):
        """The period a query asks for, the last twelve months where it names no end.
        Raises `ApplicationError` naming the bad parameter."""
        default = cls.last_twelve_months(today)
        period = cls(since=parse_day(query.get("since", ""), "since") or default.since,
                     until=parse_day(query.get("until", ""), "until") or default.until)
        if period.until < period.since:
            raise ApplicationError("The period ends before it starts.", "until")
        if len(period.months()) > MAX_MONTHS:
            raise ApplicationError(f"A period spans {MAX_MONTHS} months at most; choose a "
                                   "shorter one.", "since")
        return period

    # --- The reconciliation's periods ---------------------------------------------------

    @classmethod
    def to_reconcile(cls, since, until, *, today=None):
        """A period finance may reconcile, or an ApplicationError (code "period") saying
        why not. `since` and `until` are dates, both included, or both None for the
        current month so far (the 1st of this month to today, UTC); one without the other
        is refused. Both days are days the console can hold (`billing_console.dates`:
        EARLIEST_DAY to LATEST_DAY, the bounds every page that takes a period keeps), at
        most LONGEST_RECONCILIATION_DAYS days, ending today at the latest."""
        today = today or timezone.now().date()
        if since is None and until is None:
            return cls.this_month_so_far(today=today)
        if since is None or until is None:
            raise ApplicationError("Give both the first and the last day, or leave both "
                                   "blank for this month so far.", "period")
        if until < since:
            raise ApplicationError("The last day comes before the first.", "period")
        if until > today:
            raise ApplicationError("The period cannot end after today.", "period")
        for day in (since, until):
            if not EARLIEST_DAY <= day <= LATEST_DAY:
                raise ApplicationError(f"{day.isoformat()} is out of range. Choose days "
                                       f"between {EARLIEST_DAY} and {LATEST_DAY}.",
                                       "period")
        if (until - since).days + 1 > LONGEST_RECONCILIATION_DAYS:
            raise ApplicationError(f"A period is at most {LONGEST_RECONCILIATION_DAYS} days "
                                   "(a year); reconcile a longer one in parts.", "period")
        return cls(since, until)

    @classmethod
    def this_month_so_far(cls, *, today=None):
        """The 1st of this month (UTC) to today."""
        today = today or timezone.now().date()
        return cls(today.replace(day=1), today)

    @classmethod
    def yesterday(cls, *, today=None):
        day = (today or timezone.now().date()) - timedelta(days=1)
        return cls(day, day)

    # --- Reading it ---------------------------------------------------------------------

    @property
    def starts_at(self):
        return start_of_day(self.since)

    @property
    def ends_at(self):
        """The first instant after the period."""
        return start_of_day(self.until + timedelta(days=1))

    @property
    def days(self):
        """How many days the period holds."""
        return (self.until - self.since).days + 1

    def day(self, index):
        """The period's `index`th day (0 is `since`), as a one-day period."""
        day = self.since + timedelta(days=index)
        return Period(day, day)

    def months(self):
        """The first day of each month the period touches, oldest first."""
        first, months = self.since.replace(day=1), []
        while first <= self.until:
            months.append(first)
            first = add_months(first, 1)
        return months

    def stripe_bounds(self):
        """`created_gte` and `created_lt` in Unix seconds, as Stripe's lists take them."""
        return {"created_gte": int(self.starts_at.timestamp()),
                "created_lt": int(self.ends_at.timestamp())}


def add_months(first_of_month, count):
    months = first_of_month.year * 12 + first_of_month.month - 1 + count
    return date(months // 12, months % 12 + 1, 1)


def last_day_of_month(first_of_month):
    return add_months(first_of_month, 1) - timedelta(days=1)
