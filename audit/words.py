"""What a person reads about an audit event, instead of its codes: the action in words
("Plan change requested"), who acted by their name (the console itself where no person
did), the actor's roles by name, what it is about by its name ("Ticket #62", "Refund of
800.00 USD on the charge of …", a user by their name), its summary with the Stripe ids in
it named, and its before and after as a table of labelled fields in words
(`event_changes`). The pages only; the CSV export and the API keep the codes, for programs.

The words come from `billing_console.names` and from the apps above the trail, which
register a namer for their objects from their AppConfig.ready (`audit.subjects`): a page
of events is named with one query per kind of object on it.
"""

from dataclasses import dataclass
from urllib.parse import parse_qsl

from django.contrib.auth import get_user_model
from django.db.models import Q

from audit.filters import FILTER_LABELS
from audit.models import POLICY_ROLE, AuditEvent, Source
from audit.subjects import fields_of, names_of
from billing_console.access import Role
from billing_console.money import format_amount
from billing_console.names import (
    CODE,
    CONSOLE_NAME,
    STRIPE_ID,
    action_label,
    audit_actions,
    audit_kinds,
    date_time_name,
    in_words,
    name_from,
    reason_label,
    stripe_ids_in,
    stripe_ids_named,
    stripe_status,
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
NUMBERED = {"inbound_event", "reconciliation_run", "reconciliation_item", "audit_export"}
# Sign-ins and sign-outs name their user by its row id; the other user events by username.
USER_BY_PK = {"auth.login", "auth.logout"}
# The summary of an export is the trail's own filters, as a query.
FILTERS_PREFIX = "Filters: "


# Fields many kinds of object keep before and after, named alike whatever the event is
# about; an app names its own (`audit.subjects.register_fields`).
FIELD_LABELS = {
    "state": "State", "status": "Status", "amount": "Amount", "currency": "Currency",
    "customer": "Stripe customer", "reason": "Reason", "reason_code": "Internal reason",
    "stripe_reason": "Reason given to Stripe", "note": "Note", "roles": "Roles",
    "groups": "Groups at the identity provider", "user": "User", "parent": "Part of",
    "stripe_event": "Stripe event", "period_start": "First day", "period_end": "Last day",
}
# Fields holding a username, whatever the event is about.
PEOPLE_FIELDS = {"user"}


@dataclass(frozen=True)
class EventRow:
    """One event as its row on the trail's pages reads: `who` acted by name ("" when the
    roles say it, as the money policy's), `roles` theirs in words."""

    event: AuditEvent
    what: str
    who: str
    roles: str
    about: str
    summary: str


@dataclass(frozen=True)
class Change:
    """One field of an event's before and after, in words ("—" for none)."""

    label: str
    before: str
    after: str

    @property
    def changed(self):
        return self.before != self.after


def event_rows(events):
    """[EventRow] of `events` (a page of them), in their order."""
    events = list(events)
    names = _Names(events)
    return [EventRow(event=event, what=action_label(event.action, actions=names.actions),
                     who=names.who(event), roles=role_names(event.actor_role),
                     about=names.about(event), summary=names.summary(event))
            for event in events]


def event_changes(event):
    """[Change] of `event`'s before and after, field by field: those its app named first,
    in its order, then the rest; each by its label, amounts in the event's currency (which
    is then no row of its own), people by name, Stripe objects by name or kind, codes in
    words. [] when the event kept neither."""
    before, after = _as_fields(event.before), _as_fields(event.after)
    if not before and not after:
        return []
    words = _ValueWords(event, [before, after])
    named = list(words.fields.labels)
    keys = sorted((key for key in dict.fromkeys([*before, *after])
                   if key not in words.fields.hidden),
                  key=lambda key: named.index(key) if key in named else len(named))
    if words.currency and words.fields.amounts & set(keys):
        keys = [key for key in keys if key != "currency"]
    return [Change(label=words.label(key), before=words.of(key, before.get(key)),
                   after=words.of(key, after.get(key))) for key in keys]


def _as_fields(value):
    """An event's before or after as {field: value}: a value that is no object is one
    field."""
    if value in (None, "", {}, []):
        return {}
    return value if isinstance(value, dict) else {"value": value}


class _ValueWords:
    """The words of one event's fields, with the names they need read at once."""

    def __init__(self, event, sides):
        self.fields = fields_of(event.object_type)
        self.currency = event.currency or next(
            (side["currency"] for side in sides if isinstance(side.get("currency"), str)), "")
        found = [value for side in sides for value in _leaves(side)]
        people = [side.get(key) for side in sides
                  for key in (*self.fields.people, *PEOPLE_FIELDS)]
        self.people = _people(pks={value for value in people if isinstance(value, int)},
                              usernames={value for value in people if isinstance(value, str)})
        self.customers = names_of("customer", {found_id for value in found
                                               if isinstance(value, str)
                                               for found_id in stripe_ids_in(value)
                                               if found_id.startswith("cus_")})

    def label(self, key):
        return self.fields.labels.get(key) or FIELD_LABELS.get(key) or in_words(key)

    def of(self, key, value):
        """`value` of the field `key` in words."""
        if value is None or value in ("", [], {}):
            return "—"
        if isinstance(value, bool):
            return "Yes" if value else "No"
        if isinstance(value, dict):
            return "; ".join(f"{self.label(name)}: {self.of(name, item)}"
                             for name, item in value.items()
                             if item is not None and item not in ("", [], {})
                             and name not in self.fields.hidden) or "—"
        if isinstance(value, list):
            return role_names(",".join(value)) if key == "roles" else \
                ", ".join(self.of(key, item) for item in value)
        if key in self.fields.amounts and isinstance(value, int) and self.currency:
            return format_amount(value, self.currency)
        if key in self.fields.dates and isinstance(value, int):
            return date_time_name(value)
        if key.endswith("ticket_id") and isinstance(value, int):
            return ticket_name(value)
        return self._text(key, str(value))

    def _text(self, key, text):
        choices = self.fields.choices.get(key)
        if choices is not None and text in choices:
            return choices[text]
        if key in self.fields.people or key in PEOPLE_FIELDS:
            return self.people.get(text, text)
        if key in ("reason_code", "stripe_reason"):
            return reason_label(text)
        if key == "status":
            return stripe_status(text)
        if key == "currency":
            return text.upper()
        if CODE.fullmatch(text) and not STRIPE_ID.fullmatch(text):
            return in_words(text)  # a code no app named: "in_progress" → "In progress"
        return stripe_ids_named(text, self.customers)


def _leaves(value):
    """The values in `value` that are neither objects nor lists, however deep."""
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in _leaves(item)]
    if isinstance(value, list):
        return [leaf for item in value for leaf in _leaves(item)]
    return [value]


def _people(*, pks=(), usernames=()):
    """{str(pk) and username: the person's name} of the users among `pks` and `usernames`,
    in one query."""
    if not pks and not usernames:
        return {}
    rows = get_user_model().objects.filter(Q(pk__in=pks) | Q(username__in=usernames)) \
        .values_list("pk", "username", "first_name", "last_name")
    people = {}
    for pk, username, first_name, last_name in rows:
        people[str(pk)] = people[username] = name_from(first_name, last_name, username)
    return people


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
    names = FILTER_LABELS
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
            for object_type in ("money_action", "case", "playbook")}
        self.people = _people(
            pks={event.actor_id for event in events if event.actor_id is not None} | {
                int(event.object_id) for event in events
                if event.action in USER_BY_PK and event.object_id.isdigit()},
            usernames={event.object_id for event in events
                       if event.object_type == "user" and event.action not in USER_BY_PK})
        self.customers = names_of("customer", {
            found for event in events for found in stripe_ids_in(event.reason)
            if found.startswith("cus_")})

    def who(self, event):
        """Who acted, by name: the person, or the console itself for what the system did
        on its own; "" where the roles say it (the money policy) or no one is known (a
        change made outside the console)."""
        if event.actor_id is not None:
            return self.people.get(str(event.actor_id)) or event.actor_username
        if event.source == Source.SYSTEM and event.actor_role != POLICY_ROLE:
            return CONSOLE_NAME
        return ""

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
        """The user by name; a username typed at a failed sign-in that names no one, as
        typed."""
        if event.action in USER_BY_PK:
            return self.people.get(event.object_id, "")
        return self.people.get(event.object_id, event.object_id)

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
        "playbook": lambda self, event: self.objects["playbook"].get(
            event.object_id, "A playbook no longer kept"),
        "role_limit": _role_limit,
        "currency_limit": lambda self, event: f"{event.object_id.upper()} limits",
        "reason_code": lambda self, event: reason_label(event.object_id),
        "zendesk_ticket": lambda self, event: f"Zendesk ticket #{event.object_id}",
    }
