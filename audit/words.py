"""What a person reads about an audit event, instead of its codes: the action in words
("Plan change requested"), the actor's roles by name, what it is about by its name ("Ticket
#62", "Refund of 800.00 USD on the charge of …", a user's username) and its summary with
the Stripe ids in it named. The page's rows only; the CSV export and the API keep the codes,
for programs.

The words come from `billing_console.names` and from the apps above the trail, which
register a namer for their objects from their AppConfig.ready (`audit.subjects`): a page
of events is named with one query per kind of object on it.
"""

from dataclasses import dataclass
from urllib.parse import parse_qsl

from django.contrib.auth import get_user_model

from audit.filters import AuditFilters
from audit.models import POLICY_ROLE, AuditEvent, Source
from audit.subjects import names_of
from billing_console.access import Role
from billing_console.money import format_amount
from billing_console.names import (
    STRIPE_ID,
    action_label,
    audit_actions,
    audit_kinds,
    in_words,
    reason_label,
    stripe_ids_in,
    stripe_ids_named,
    ticket_name,
)

# Objects of the console named by their kind and number, or by their kind alone.
OBJECT_WORDS = {
    "inbound_event": "Webhook event", "handover_note": "Handover note",
    "reconciliation_run": "Reconciliation run", "reconciliation_item": "Reconciliation item",
    "audit_export": "Audit export", "money_policy": "Money policy",
    "intake_rule": "Intake rule", "sla_targets": "SLA targets", "url": "Page",
    # A Stripe object whose id is in the Stripe-id column.
    "invoice_status": "Invoice",
}
NUMBERED = {"inbound_event", "handover_note", "reconciliation_run", "reconciliation_item",
            "audit_export"}
# Sign-ins and sign-outs name their user by its row id; the other user events by username.
USER_BY_PK = {"auth.login", "auth.logout"}
# The summary of an export is the trail's own filters, as a query.
FILTERS_PREFIX = "Filters: "


@dataclass(frozen=True)
class EventRow:
    """One event as its row on the trail's pages reads."""

    event: AuditEvent
    what: str
    roles: str
    about: str
    summary: str


def event_rows(events):
    """[EventRow] of `events` (a page of them), in their order."""
    events = list(events)
    names = _Names(events)
    return [EventRow(event=event, what=action_label(event.action, actions=names.actions),
                     roles=role_names(event.actor_role), about=names.about(event),
                     summary=names.summary(event)) for event in events]


def role_names(stored):
    """"admin,finance" (how an event stores its actor's roles) → "Admin, Finance"; the
    money policy deciding by itself → "Money policy"; "" for none."""
    if stored == POLICY_ROLE:
        return "Money policy"
    return ", ".join(Role(value).label if value in set(Role) else in_words(value)
                     for value in stored.split(",") if value)


def action_choices():
    """[(kind label, [(action, label)])] for the action filter, grouped by kind."""
    kinds, grouped = audit_kinds(), {}
    for action, label in sorted(audit_actions().items(), key=lambda item: item[1]):
        grouped.setdefault(action.partition(".")[0], []).append((action, label))
    return sorted(((kinds.get(kind, in_words(kind)), actions)
                   for kind, actions in grouped.items()), key=lambda group: group[0])


def kind_choices():
    """[(kind, label)] for the kind filter, by label."""
    return sorted(audit_kinds().items(), key=lambda item: item[1])


def filters_in_words(filters):
    """"role=finance&action=refund.requested" (a query of the trail's filters) → "Role:
    Finance; Action: Refund requested"; text that is not such a query, as it is."""
    pairs = parse_qsl(filters, keep_blank_values=False)
    names = {field: field.replace("_", " ").capitalize()
             for field in AuditFilters.__dataclass_fields__}
    if not pairs or any(name not in names for name, _ in pairs):
        return filters
    values = {"role": role_names, "action": action_label, "reason": reason_label,
              "case": lambda case: names_of("case", {case}).get(case, "a case no longer kept"),
              "ticket": lambda ticket: f"#{ticket}",
              "kind": lambda kind: audit_kinds().get(kind, in_words(kind)),
              "source": lambda source: Source(source).label if source in Source.values
              else source}
    return "; ".join(f"{names[name]}: {values.get(name, str)(value)}" for name, value in pairs)


class _Names:
    """The names a page of events needs, each kind read once."""

    def __init__(self, events):
        self.actions, self.kinds = audit_actions(), audit_kinds()
        self.objects = {
            object_type: names_of(object_type, {event.object_id for event in events
                                                if event.object_type == object_type})
            for object_type in ("money_action", "case")}
        user_ids = {int(event.object_id) for event in events
                    if event.action in USER_BY_PK and event.object_id.isdigit()}
        self.usernames = {str(pk): username for pk, username in get_user_model().objects
                          .filter(pk__in=user_ids).values_list("pk", "username")}
        self.customers = names_of("customer", {
            found for event in events for found in stripe_ids_in(event.reason)
            if found.startswith("cus_")})

    def about(self, event):
        """What the event is about, by its name; a Stripe object by its kind only, its id
        being in the Stripe-id column."""
        kind, object_id = event.object_type, event.object_id
        if kind in self.NAMED:
            return self.NAMED[kind](self, event)
        words = OBJECT_WORDS.get(kind) or in_words(kind)
        if STRIPE_ID.fullmatch(object_id) or (kind in OBJECT_WORDS and kind not in NUMBERED):
            return words
        return f"{words} {object_id}".strip()

    def _case(self, event):
        if event.zendesk_ticket_id:
            return ticket_name(event.zendesk_ticket_id)
        return self.objects["case"].get(event.object_id, "A case no longer kept")

    def _user(self, event):
        if event.action in USER_BY_PK:
            return self.usernames.get(event.object_id, "")
        return event.object_id

    def _role_limit(self, event):
        role, _, currency = event.object_id.partition(" ")
        return f"{role_names(role)}, {currency.upper()}"

    def _money_action(self, event):
        named = self.objects["money_action"].get(event.object_id)
        if named:
            return named
        kind = event.action.partition(".")[0]
        label = self.kinds.get(kind, in_words(kind))
        return f"{label} of {format_amount(event.amount, event.currency)}" \
            if event.amount is not None and event.currency else label

    def summary(self, event):
        """The event's reason with the Stripe ids in it named; an export's filters in
        words."""
        text = event.reason
        if event.action == "audit.exported" and text.startswith(FILTERS_PREFIX):
            query, _, rest = text.removeprefix(FILTERS_PREFIX).partition(" ")
            text = f"{FILTERS_PREFIX}{filters_in_words(query)}{' ' + rest if rest else ''}"
        return stripe_ids_named(text, self.customers)

    # Objects named from more than their kind and id, by kind.
    NAMED = {
        "money_action": _money_action, "case": _case, "user": _user,
        "role_limit": _role_limit,
        "currency_limit": lambda self, event: f"{event.object_id.upper()} limits",
        "reason_code": lambda self, event: reason_label(event.object_id),
        "zendesk_ticket": lambda self, event: f"Zendesk ticket #{event.object_id}",
    }
