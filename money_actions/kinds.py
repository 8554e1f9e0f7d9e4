"""The registry of money-action kinds: one object per kind, everything about it in one place.

A kind is declared once, by the app that owns it (`refunds/kinds.py`,
`credit_memos/kinds.py`), as an `ActionKind` passed to `register`. The mechanism (pages,
API, submission, reconciler, reconciliation, summaries, webhooks) looks kinds up here and
never names one. A `MoneyAction` stores its kind's `slug`; adding a kind is one module in
its app, with no migration here.

Words used across the console for a kind come from here only:
- `slug`: the stored value, the API's `kind`, and the prefix of its audit actions;
- `label`: what people read;
- `audit_action(Event.X)`: the audit trail's action name, e.g. `refund.requested`, and
  `audit_vocabulary()` its words, "Refund requested";
- `idempotency_key(action_id)`: the key sent to Stripe, `console-<slug>-<uuid>`;
- `METADATA_KEY`: the Stripe metadata key naming the money action behind an object.
"""

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from billing_console.parsing import uuid_or_none
from cases.models import ResolutionCode

# One metadata key for every kind: the money action's id on every object the console makes.
METADATA_KEY = "console_money_action_id"
KEY_PREFIX = "console-"
# A derived key (a draft change's steps: `…-add-0`) still names its action.
_KEY = re.compile(r"console-(?P<slug>[a-z_]+)-(?P<id>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-"
                  r"[0-9a-f]{4}-[0-9a-f]{12})(?:-.*)?")


class Family(StrEnum):
    """What the policy asks of a kind."""

    GIVES_BACK = "gives_back"  # refunds, credits, voids, write-offs: limits and totals apply
    TAKES = "takes"  # debits, items added to a draft, a credit taken back: a cap applies
    CHANGES_PLAN = "changes_plan"  # by what it moves (`Moves`): a credit gives back, a charge takes


class Moves(StrEnum):
    """What a plan change moves, and when, kept in its `params["moves"]` (`MOVES_PARAM`):
    its name says it (`selectors.name_of`) and the customer's total counts what it gives
    back (`ledger.customer_given_back`). A change invoiced at once (`always_invoice`, or a
    new billing interval) moves that invoice's total now; one prorated on the next invoice
    moves its proration then. `MoneyAction.amount` is what it moves, unsigned."""

    TAKES_NOW = "takes_now"
    GIVES_BACK_NOW = "gives_back_now"
    TAKES_NEXT_INVOICE = "takes_next_invoice"
    GIVES_BACK_NEXT_INVOICE = "gives_back_next_invoice"
    NOTHING = "nothing"

    @property
    def gives_back(self):
        return self in (Moves.GIVES_BACK_NOW, Moves.GIVES_BACK_NEXT_INVOICE)


MOVES_PARAM = "moves"


class Event(StrEnum):
    """The audit event types of a money action; the trail's action is `<slug>.<event>`."""

    REQUESTED = "requested"
    APPROVED = "approved"  # by a person, someone other than the requester
    AUTO_APPROVED = "auto_approved"  # by the policy: within its limits, no person decided
    REJECTED = "rejected"
    CANCELED = "canceled"
    AMENDED = "amended"
    SUBMITTED = "submitted"
    RESENT = "resent"  # lost on its way: sent again by the reconciler, with the same key
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REQUIRES_ACTION = "requires_action"
    APPROVAL_VOIDED = "approval_voided"
    SENT_BACK = "sent_back"  # Stripe's state changed; a person must decide again
    REFRESHED = "refreshed"  # recomputed for Stripe's state now, equal in money
    FLAGGED = "flagged"
    FLAG_CLEARED = "flag_cleared"
    EXTERNAL = "external"  # the same kind of change, made outside the console


# Each event as it reads after the kind's label: "Refund" + "approved by the policy".
EVENT_WORDS = {
    Event.REQUESTED: "requested",
    Event.APPROVED: "approved",
    Event.AUTO_APPROVED: "approved by the policy",
    Event.REJECTED: "rejected",
    Event.CANCELED: "withdrawn",
    Event.AMENDED: "amount changed",
    Event.SUBMITTED: "sent to Stripe",
    Event.RESENT: "sent to Stripe again",
    Event.SUCCEEDED: "succeeded",
    Event.FAILED: "failed",
    Event.REQUIRES_ACTION: "needs action",
    Event.APPROVAL_VOIDED: "approval voided",
    Event.SENT_BACK: "sent back for a new decision",
    Event.REFRESHED: "recomputed for Stripe's state",
    Event.FLAGGED: "flagged to finance",
    Event.FLAG_CLEARED: "flag cleared by finance",
    Event.EXTERNAL: "made outside the console",
}


# How a case that money was given back on is resolved, by the Stripe money given.
GIVEN_BACK_RESOLUTIONS = {"refund": ResolutionCode.REFUNDED,
                          "credit_note": ResolutionCode.CREDITED,
                          "balance_transaction": ResolutionCode.CREDITED}


@dataclass(frozen=True)
class ActionKind:
    """One kind of money action.

    - `executor`: `submit(action) -> Outcome` (one Stripe write with the action's key),
      `find(action) -> Outcome | None` (the action in Stripe after a lost worker),
      `refresh(action) -> Refreshed` (just before submitting: re-read the target and say
      whether what would be sent still holds), `success_note(action) -> str`,
      `success_tags`; all network, called outside transactions.
    - `read_target(stripe_id)`: the object acted on, as Stripe has it now.
    - `ledger_type`: the Stripe money the kind leaves behind ("refund", "credit_note",
      "balance_transaction", "invoice_status") or "" for none, and `ledger_variant`: which
      of it (an invoice's new status; a credit note "issued" or "void"; a balance
      transaction's "credit" or "debit"). The ledger names changes made outside the
      console after the kind that makes the same one; reconciliation matches by them.
    - `settling_events`: the Stripe webhook events that settle or revise it.
    - `stripe_rules`: what Stripe imposes on it, in words; each is checked up front.
    - `names_change`: its `MoneyAction.target_name` names the change itself, both sides
      ("Console Team monthly × 5 → Console Pro annual × 3"), not the object acted on.
    - `resolution`: the `cases.models.ResolutionCode` value a case is resolved with after
      it, where its family and ledger type would say another (`resolution_code`); "" for
      theirs.
    - `deletes_target`: its Stripe write deletes the object acted on (a subscription
      canceled now). Stripe keeps no idempotency key on a DELETE, so the webhook of that
      deletion names none of the console's, and is told the console's by the action's
      state (`webhooks.on_subscription_changed`).
    """

    slug: str
    label: str
    family: Family
    executor: object
    read_target: Callable
    target_noun: str
    ledger_type: str = ""
    ledger_variant: str = ""
    settling_events: tuple[str, ...] = ()
    stripe_rules: tuple[str, ...] = ()
    chart: bool = False  # shown on finance's summary chart
    names_change: bool = False
    resolution: str = ""
    deletes_target: bool = False

    def audit_action(self, event):
        return f"{self.slug}.{Event(event)}"

    def idempotency_key(self, action_id):
        """Sent unchanged on every attempt, so Stripe acts on the action at most once."""
        return f"{KEY_PREFIX}{self.slug}-{action_id}"

    def metadata(self, action):
        """Stripe metadata on every object the action makes."""
        return {METADATA_KEY: str(action.pk), "case_id": str(action.case_id),
                "reason_code": action.reason_code}

    def success_note(self, action):
        return self.executor.success_note(action)

    @property
    def success_tags(self):
        return tuple(self.executor.success_tags)

    @property
    def resolution_code(self):
        """The `cases.models.ResolutionCode` value a case is resolved with after this
        kind's work, which the resolution form starts from ("" for none): a plan change
        "subscription_changed"; money given back, by what it leaves in Stripe (a refund
        "refunded", a credit note or balance credit "credited", an invoice's status or
        lines "invoice_adjusted"); money taken, none; unless the kind says (`resolution`)."""
        if self.resolution:
            return self.resolution
        if self.family == Family.CHANGES_PLAN:
            return ResolutionCode.SUBSCRIPTION_CHANGED.value
        if self.family == Family.TAKES:
            return ""
        return GIVEN_BACK_RESOLUTIONS.get(self.ledger_type,
                                          ResolutionCode.INVOICE_ADJUSTED).value


_kinds: dict[str, ActionKind] = {}


def register(kind):
    """Declare a kind; returns it, so the app keeps a name for it. Twice is an error."""
    if kind.slug in _kinds and _kinds[kind.slug] is not kind:
        raise ValueError(f"A money-action kind {kind.slug!r} is already registered.")
    _kinds[kind.slug] = kind
    return kind


def unregister(slug):
    """For tests that declare a kind of their own."""
    _kinds.pop(slug, None)


def kind_of(slug):
    """The kind stored as `slug`; KeyError for one no app declares."""
    return _kinds[slug]


def all_kinds():
    return list(_kinds.values())


def audit_vocabulary():
    """({slug: label}, {audit action: words}) of every registered kind, for the trail's
    pages (`billing_console.names.register_audit_actions`): "refund.auto_approved" →
    "Refund approved by the policy"."""
    return ({kind.slug: kind.label for kind in _kinds.values()},
            {kind.audit_action(event): f"{kind.label} {words}"
             for kind in _kinds.values() for event, words in EVENT_WORDS.items()})


def kind_leaving(ledger_type, variant):
    """The kind that leaves this ledger type and variant behind; LookupError for none."""
    for kind in _kinds.values():
        if (kind.ledger_type, kind.ledger_variant) == (ledger_type, variant):
            return kind
    raise LookupError(f"No money-action kind leaves a {ledger_type} ({variant}).")


def slugs(*, family=None, ledger_type=None):
    """Slugs of the registered kinds, optionally of one family or leaving one ledger type."""
    return [kind.slug for kind in _kinds.values()
            if (family is None or kind.family == family)
            and (ledger_type is None or kind.ledger_type == ledger_type)]


def action_id_from_key(key):
    """The money action an idempotency key names (a Stripe request's), or None."""
    match = _KEY.fullmatch(key or "")
    return uuid.UUID(match.group("id")) if match else None


def action_id_from_metadata(metadata):
    """The money action a Stripe object's metadata names, or None."""
    return uuid_or_none((metadata or {}).get(METADATA_KEY))
