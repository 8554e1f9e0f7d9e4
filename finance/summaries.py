"""Summaries of the money given back: totals by action type, reason, month and requester,
each per currency, and apart from them what was given back outside the console, for
finance's summary page.

Source: the ledger of Stripe money (`money_actions.ledger`), not the audit table. Each
Stripe object that gave money back is counted once, for what it gave (`given_back`, minor
units): a credit memo's refund is part of the memo, a refund that failed gives nothing.
Of each total, the tax Stripe states on the objects (credit notes') is shown apart.
The console's own are grouped by their money action's columns (kind, reason, requester,
the day it settled); those made outside the console are grouped by the kind of change.
Each table is one aggregate query.

Every figure comes with the audit filters that find the events behind it: the
`<kind>.succeeded` events (or `<kind>.external` for outside changes), in the same currency
and days (and reason, or requester). The audit filter `action` takes a single exact name,
so every row is also grouped by kind. The event is written in the transaction that sets
`settled_at`, so both fall on the same UTC day unless the action settled in the last
instant before midnight.
"""

from dataclasses import dataclass

from django.db.models import Count, DateField, F, Sum
from django.db.models.functions import TruncMonth, Upper

from audit.filters import AuditFilters
from billing_console.names import name_from
from finance.periods import Period, last_day_of_month
from money_actions.kinds import Event, kind_leaving, kind_of
from money_actions.ledger import variant_of
from money_actions.models import LedgerEntry, State

# --- Totals ------------------------------------------------------------------------------

# What each table groups by, besides kind and currency.
DIMENSIONS = {
    "kind": F("money_action__kind"),
    "reason": F("money_action__reason_code"),
    "month": TruncMonth("money_action__settled_at", output_field=DateField()),
    "actor": F("money_action__requested_by__username"),
}
# What a table shows for its group where that is not the group itself: the requester by
# their name (the username stays the group, which the audit trail's filter takes).
GROUP_NAMES = {"actor": ("money_action__requested_by__first_name",
                         "money_action__requested_by__last_name")}


@dataclass(frozen=True)
class Total:
    """One row of a table: `count` actions of `kind` (a slug) giving back `amount` (minor
    units) of `currency`, for one value (`group`) of the table's `dimension`; `outside`
    rows are changes made outside the console."""

    period: Period
    dimension: str
    group: object
    kind: str
    currency: str
    count: int
    amount: int
    outside: bool = False
    tax: int = 0  # of `amount`, as Stripe states it on the objects (credit notes)
    name: str = ""  # the group in words where it is not shown as it is (a requester's name)

    @property
    def kind_label(self):
        return kind_of(self.kind).label

    @property
    def audit_filters(self):
        """The audit filters that find the events behind this row."""
        since, until = self.period.since, self.period.until
        if self.dimension == "month":
            since, until = max(since, self.group), min(until, last_day_of_month(self.group))
        narrower = {"reason": {"reason": self.group}, "actor": {"actor": self.group}}
        event = Event.EXTERNAL if self.outside else Event.SUCCEEDED
        return AuditFilters(since=since, until=until,
                            action=kind_of(self.kind).audit_action(event),
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
    outside: list

    @property
    def currencies(self):
        return sorted({total.currency for total in self.by_kind})


def given_back(period):
    """Ledger entries that gave money back, caused by money actions that succeeded within
    the period."""
    return LedgerEntry.objects.filter(given_back__gt=0, money_action__state=State.SUCCEEDED,
                                      money_action__settled_at__gte=period.starts_at,
                                      money_action__settled_at__lt=period.ends_at)


def totals(period, dimension):
    """One table: a single GROUP BY over the period's ledger entries."""
    name_parts = GROUP_NAMES.get(dimension, ())
    rows = (given_back(period)
            .annotate(group=DIMENSIONS[dimension], code=Upper("currency"),
                      slug=F("money_action__kind"))
            .values("group", "slug", "code", *name_parts)
            .annotate(count=Count("money_action", distinct=True), amount=Sum("given_back"),
                      tax=Sum("tax"))
            .order_by("group", "code", "slug"))
    return [Total(period=period, dimension=dimension, group=row["group"], kind=row["slug"],
                  currency=row["code"], count=row["count"], amount=row["amount"],
                  tax=row["tax"],
                  name=name_from(*(row[part] for part in name_parts), row["group"])
                  if name_parts else "")
            for row in rows]


def given_back_outside(period):
    """What Stripe gave back in the period that no money action caused, by kind of change
    and currency (the Stripe Dashboard, another integration)."""
    entries = LedgerEntry.objects.filter(given_back__gt=0, money_action__isnull=True,
                                         settles="", stripe_created_at__gte=period.starts_at,
                                         stripe_created_at__lt=period.ends_at)
    totals_by_kind = {}
    for entry in entries.only("entry_type", "invoice_status", "status", "amount", "currency",
                              "given_back", "tax").iterator():
        key = (kind_leaving(entry.entry_type, variant_of(entry)).slug, entry.currency.upper())
        count, amount, tax = totals_by_kind.get(key, (0, 0, 0))
        totals_by_kind[key] = (count + 1, amount + entry.given_back, tax + entry.tax)
    return [Total(period=period, dimension="kind", group=None, kind=slug, currency=currency,
                  count=count, amount=amount, outside=True, tax=tax)
            for (slug, currency), (count, amount, tax) in sorted(totals_by_kind.items())]


def money_given_back(period):
    return Summary(period=period, outside=given_back_outside(period),
                   **{f"by_{dimension}": totals(period, dimension) for dimension in DIMENSIONS})
