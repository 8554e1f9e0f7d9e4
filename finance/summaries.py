"""Summaries of the money given back: totals by action type, reason, month and requester,
each per currency, for finance's summary page.

Source: `MoneyAction` rows (state succeeded, a kind in `GIVING_BACK_KINDS`, `settled_at` in
the period), not the audit table. The audit table holds every sign-in, refusal and step of
every action, so it is several times larger (think 1M rows against a fraction of that), and
its reason and requester live inside the `after` JSON, which neither database can group by
cheaply. A money action's row has them as columns, and its state is the current truth: a
refund that failed after it had succeeded is no longer counted, although its
`refund.succeeded` event stays in the trail. Each table is one aggregate query.

Every figure comes with the audit filters that find the events behind it: the
`<kind>.succeeded` events, in the same currency and days (and reason, or requester). The
audit filter `action` takes a single exact name and the trail has no "outcome" filter, so
every row is also grouped by kind: a row across kinds could not be drilled into exactly.
The event is written in the transaction that sets `settled_at`, a moment after it, so both
fall on the same UTC day unless the action settled in the last instant before midnight.

Refunds and changes made outside the console (`refund.external`, ...) have no money action,
reason or requester, and are not counted here.
"""

from dataclasses import dataclass

from django.db.models import Count, DateField, F, Sum
from django.db.models.functions import TruncMonth, Upper

from audit.filters import AuditFilters
from finance.periods import Period, last_day_of_month
from money_actions.models import GIVING_BACK_KINDS, Kind, MoneyAction, State

# --- Totals ------------------------------------------------------------------------------

# What each table groups by, besides kind and currency.
DIMENSIONS = {
    "kind": F("kind"),
    "reason": F("reason_code"),
    "month": TruncMonth("settled_at", output_field=DateField()),
    "actor": F("requested_by__username"),
}


@dataclass(frozen=True)
class Total:
    """One row of a table: `count` actions of `kind` giving back `amount` (minor units) of
    `currency`, for one value (`group`) of the table's `dimension`."""

    period: Period
    dimension: str
    group: object
    kind: str
    currency: str
    count: int
    amount: int

    @property
    def kind_label(self):
        return Kind(self.kind).label

    @property
    def audit_filters(self):
        """The audit filters that find the events behind this row."""
        since, until = self.period.since, self.period.until
        if self.dimension == "month":
            since, until = max(since, self.group), min(until, last_day_of_month(self.group))
        narrower = {"reason": {"reason": self.group}, "actor": {"actor": self.group}}
        return AuditFilters(since=since, until=until, action=f"{self.kind}.succeeded",
                            currency=self.currency, **narrower.get(self.dimension, {}))

    @property
    def audit_query(self):
        return self.audit_filters.as_query()


@dataclass(frozen=True)
class Summary:
    period: Period
    by_kind: list
    by_reason: list
    by_month: list
    by_actor: list

    @property
    def currencies(self):
        return sorted({total.currency for total in self.by_kind})


def given_back(period):
    """Money actions that gave money back and succeeded within the period."""
    return MoneyAction.objects.filter(state=State.SUCCEEDED, kind__in=GIVING_BACK_KINDS,
                                      settled_at__gte=period.starts_at,
                                      settled_at__lt=period.ends_at)


def totals(period, dimension):
    """One table: a single GROUP BY over the period's money actions."""
    rows = (given_back(period)
            .annotate(group=DIMENSIONS[dimension], code=Upper("currency"))
            .values("group", "kind", "code")
            .annotate(count=Count("pk"), amount=Sum("amount"))
            .order_by("group", "code", "kind"))
    return [Total(period=period, dimension=dimension, group=row["group"], kind=row["kind"],
                  currency=row["code"], count=row["count"], amount=row["amount"])
            for row in rows]


def money_given_back(period):
    return Summary(period=period, **{f"by_{dimension}": totals(period, dimension)
                                     for dimension in DIMENSIONS})
