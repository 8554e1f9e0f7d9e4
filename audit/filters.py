"""The audit trail's filters, shared by the page, the API and the CSV export.

Each filter is a query parameter; a bad value is an error message, never a 500. Money
actions carry their requester, customer and reason in each event's `after` snapshot, so
`actor`, `customer` and `reason` find them whoever (or whatever) wrote the event.
"""

from dataclasses import asdict, dataclass, fields
from datetime import date, timedelta
from urllib.parse import urlencode

from django.db.models import Q

from audit.models import Source
from billing_console.dates import parse_day, start_of_day
from billing_console.exceptions import ApplicationError
from billing_console.money import normalise_currency, to_minor_units
from billing_console.parsing import whole_number


@dataclass(frozen=True)
class AuditFilters:
    since: date | None = None
    until: date | None = None
    actor: str = ""
    role: str = ""
    action: str = ""
    kind: str = ""
    reason: str = ""
    customer: str = ""
    case: int | None = None
    amount_min: str = ""
    amount_max: str = ""
    currency: str = ""
    source: str = ""

    @classmethod
    def from_query(cls, query):
        """Filters from a query dict; raises `ApplicationError` naming the bad one."""
        values = {field.name: query.get(field.name, "").strip() for field in fields(cls)}
        filters = cls(**{**values, "since": parse_day(values["since"], "since"),
                         "until": parse_day(values["until"], "until"),
                         "case": _int(values["case"], "case"),
                         "currency": normalise_currency(values["currency"])
                         if values["currency"] else ""})
        if values["source"] and values["source"] not in Source.values:
            raise ApplicationError(f"The source is one of {', '.join(Source.values)}.",
                                   "source")
        if filters.since and filters.until and filters.until < filters.since:
            raise ApplicationError("The period ends before it starts.", "until")
        filters.amount_range()  # checked now, so a bad amount is named before any query
        return filters

    def as_query(self, **changes):
        """The query string of these filters (with `changes`), for links and the export."""
        values = {**dict(self.as_pairs), **changes}
        return urlencode({name: value for name, value in values.items()
                          if value not in ("", None)})

    @property
    def as_pairs(self):
        """(name, value as text) of the filters set, for hidden fields: dates as
        YYYY-MM-DD, as they are read back, never in a template's display format."""
        return [(name, str(value)) for name, value in asdict(self).items()
                if value not in ("", None)]

    @property
    def active(self):
        return any(value not in ("", None) for value in asdict(self).values())

    def amount_range(self):
        """(min, max) in minor units. Without a currency, amounts read as two-decimal."""
        currency = self.currency or "USD"
        return tuple(to_minor_units(value, currency) if value else None
                     for value in (self.amount_min, self.amount_max))

    def apply(self, events):
        return events.filter(self._conditions())

    def _conditions(self):
        condition = Q()
        if self.since:
            condition &= Q(created_at__gte=start_of_day(self.since))
        if self.until:
            condition &= Q(created_at__lt=start_of_day(self.until + timedelta(days=1)))
        if self.actor:
            condition &= Q(actor_username=self.actor) | Q(after__requested_by=self.actor)
        if self.customer:
            condition &= Q(stripe_object_id=self.customer) | Q(after__customer=self.customer)
        exact = {"role": "actor_role__contains", "action": "action",
                 "reason": "after__reason_code", "case": "case_id", "currency": "currency",
                 "source": "source"}
        condition &= Q(**{lookup: getattr(self, name) for name, lookup in exact.items()
                          if getattr(self, name) not in ("", None)})
        if self.kind:
            condition &= Q(action__startswith=f"{self.kind}.")
        low, high = self.amount_range()
        if low is not None:
            condition &= Q(amount__gte=low)
        if high is not None:
            condition &= Q(amount__lte=high)
        return condition


def _int(value, name):
    if not value:
        return None
    number = whole_number(value)
    if number is None:
        raise ApplicationError(f"“{value}” is not a {name} number.", name)
    return number
