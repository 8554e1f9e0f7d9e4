"""A period of whole UTC days, as finance reads money: the summary's months and the
reconciliation's days are both one `Period`.

Each page keeps its own rules for the periods it accepts (and its own words for a bad
one), in its own constructor: `from_query` for the summary, `to_reconcile` for the
reconciliation.
"""

from dataclasses import dataclass
from datetime import date, timedelta

from django.utils import timezone

from billing_console.dates import parse_day, start_of_day
from billing_console.exceptions import ApplicationError

# Few enough months to chart.
MAX_MONTHS = 60
# Few enough days to read back from Stripe in one run.
LONGEST_RECONCILIATION_DAYS = 92


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
        """A period finance may reconcile, or an ApplicationError saying why not."""
        today = today or timezone.now().date()
        if until < since:
            raise ApplicationError("The last day comes before the first.", "period")
        if until > today:
            raise ApplicationError("The period cannot end after today.", "period")
        if (until - since).days + 1 > LONGEST_RECONCILIATION_DAYS:
            raise ApplicationError(f"A period is at most {LONGEST_RECONCILIATION_DAYS} days; "
                                   "reconcile a longer one in parts.", "period")
        return cls(since, until)

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
