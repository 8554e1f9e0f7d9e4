"""The audit trail's filters, shared by the page, the API and the CSV export.

Each filter is a query parameter; a bad value is an error message, never a 500. Money
actions carry their requester, customer and reason in each event's `after` snapshot, so
`actor`, `customer` and `reason` find them whoever (or whatever) wrote the event; they read
the columns derived from it when the event was recorded (`models.filter_columns`).

Every condition is one an index ending in `id` answers in id order, so the newest page
under a filter is a short walk down that index at any size of trail, however old or rare
the matches (chosen by reading EXPLAIN ANALYZE at a million events; `bench/audit_export.py`
times them). The period is also turned into a range of ids: `record` takes an event's id
and time under the chain's lock, so ids and times rise together, and the first id at or
after each bound is one lookup in the (created_at, id) index. With it, "a period and any
other filter" walks the other filter's index between two ids.
"""

from dataclasses import asdict, dataclass, fields
from datetime import date, timedelta
from urllib.parse import urlencode

from django.db.models import Q

from audit.models import AuditEvent, Source, role_labels_with
from billing_console.access import Role
from billing_console.dates import parse_day, start_of_day
from billing_console.exceptions import ApplicationError
from billing_console.money import normalise_currency, to_minor_units
from billing_console.parsing import WHOLE_NUMBER_MAX_DIGITS, too_many_digits, whole_number
from billing_console.text import quoted


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
    ticket: int | None = None
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
                         "ticket": _int(values["ticket"], "ticket"),
                         "currency": normalise_currency(values["currency"])
                         if values["currency"] else ""})
        # A value the page's lists do not offer (a hand-made link, an API call) is named
        # back as it was typed (its start, if long).
        if values["source"] and values["source"] not in Source.values:
            raise ApplicationError(f"There is no source {quoted(values['source'])}.", "source")
        if values["role"] and values["role"] not in set(Role):
            raise ApplicationError(f"There is no role {quoted(values['role'])}.", "role")
        if filters.since and filters.until and filters.until < filters.since:
            raise ApplicationError("The period ends before it starts.", "until")
        low, high = filters.amount_range()  # now, so a bad amount is named before any query
        if low is not None and high is not None and high < low:
            raise ApplicationError("The amount range ends below where it starts.",
                                   "amount_max")
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
        condition = self._period()
        if self.actor:
            condition &= Q(actor_username=self.actor) | Q(requested_by=self.actor)
        if self.customer:
            condition &= Q(stripe_object_id=self.customer) | Q(customer=self.customer)
        if self.role:
            condition &= Q(actor_role__in=role_labels_with(Role(self.role)))
        exact = {"action": "action", "kind": "kind", "reason": "reason_code", "case": "case_id",
                 "ticket": "zendesk_ticket_id", "currency": "currency", "source": "source"}
        condition &= Q(**{lookup: getattr(self, name) for name, lookup in exact.items()
                          if getattr(self, name) not in ("", None)})
        low, high = self.amount_range()
        if low is not None:
            condition &= Q(amount__gte=low)
        if high is not None:
            condition &= Q(amount__lte=high)
        return condition

    def _period(self):
        """The period's times, and the ids they span (see the module's docstring)."""
        condition = Q()
        if self.since:
            start = start_of_day(self.since)
            condition &= Q(created_at__gte=start) & _ids("id__gte", start)
        if self.until:
            end = start_of_day(self.until + timedelta(days=1))
            condition &= Q(created_at__lt=end) & _ids("id__lt", end)
        return condition


# Each filter as the trail's page labels it, for a refusal or a filter read back in words.
FILTER_LABELS = {
    "since": "From", "until": "To", "actor": "Actor", "role": "Role", "action": "What",
    "kind": "About", "reason": "Reason", "customer": "Customer's Stripe id", "case": "Case",
    "ticket": "Ticket", "amount_min": "Amount from", "amount_max": "Amount to",
    "currency": "Currency", "source": "Source",
}


def _ids(lookup, moment):
    """`lookup` against the first event recorded at `moment` or later; with none yet, no
    condition on ids (the time alone says it)."""
    first = first_id_at(moment)
    return Q() if first is None else Q(**{lookup: first})


def first_id_at(moment):
    """The id of the first event recorded at `moment` (an aware datetime) or later, None
    when there is none yet: one lookup in the (created_at, id) index."""
    return (AuditEvent.objects.filter(created_at__gte=moment).order_by("created_at", "id")
            .values_list("id", flat=True).first())


def before_id(query):
    """The keyset cursor `before` of a query: the id of the last event of the page shown,
    None when absent; raises `ApplicationError` when it is not one."""
    value = query.get("before", "").strip()
    number = _int(value, "event", parameter="before")
    if value and not number:
        raise ApplicationError(f"{quoted(value)} is not an event number.", "before")
    return number


def _int(value, noun, parameter=None):
    """The number `value` gives for the parameter named `parameter` (`noun` unless said),
    None when blank; raises `ApplicationError` when it is no number, or too long for one
    (`noun`: "case", "ticket", "event")."""
    parameter = parameter or noun
    if not value:
        return None
    if too_many_digits(value):
        raise ApplicationError(f"No {noun} number is that long: {noun} numbers have at most "
                               f"{WHOLE_NUMBER_MAX_DIGITS} digits.", parameter)
    number = whole_number(value)
    if number is None:
        article = "an" if noun[0] in "aeiou" else "a"
        raise ApplicationError(f"{quoted(value)} is not {article} {noun} number.", parameter)
    return number
