"""What an executor hands back to the mechanism, and helpers executors share.

Each kind's executor (declared with its kind, see `money_actions.kinds`) is called outside
any transaction:
- `refresh(action)` just before submitting: re-reads the target and returns a `Refreshed`
  saying whether what would be sent still holds, what to send instead (equal in money),
  or why it goes back to a person;
- `submit(action)` makes the Stripe call with `action.idempotency_key` and the row's own
  parameters, the same on every retry, and returns an `Outcome`;
- `find(action)` looks the action up in Stripe, for the reconciler, and returns an
  `Outcome` or None when Stripe never saw it;
- `success_note(action)` and `success_tags` say what the Zendesk ticket hears.
"""

from dataclasses import dataclass, field

from django.utils.text import capfirst

from billing_console.integrations.stripe import gateway
from billing_console.names import in_sentence, reason_label
from money_actions.kinds import METADATA_KEY
from money_actions.ledger import refund_fact
from money_actions.models import State


@dataclass(frozen=True)
class Outcome:
    """What Stripe says about an action: the state it maps to, the object it made, and the
    ledger facts (`money_actions.ledger.Fact`) of the Stripe money it moved."""

    state: State
    stripe_object_id: str = ""
    stripe_request_id: str = ""
    failure_reason: str = ""
    ledger: tuple = field(default=(), compare=False)


@dataclass(frozen=True)
class Refreshed:
    """What `refresh` found. `params`: what to send instead of the stored parameters (the
    same money, recomputed for the target as it is now), or None to send them unchanged.
    `send_back`: why the action cannot be sent as approved, in words a person can act on;
    the action then goes back for a decision instead of failing at Stripe."""

    params: dict | None = None
    send_back: str = ""


UNCHANGED = Refreshed()


# A Stripe refund's status, as the state of the money action that made it.
REFUND_STATES = {
    "succeeded": State.SUCCEEDED,
    "pending": State.SUBMITTING,
    "requires_action": State.REQUIRES_ACTION,
    "failed": State.FAILED,
    "canceled": State.CANCELED,
}


def refund_outcome(refund, *, customer, failure_reason=""):
    """The state a refund in Stripe (`types.Refund`) puts the action that made it in, with
    its ledger fact; `failure_reason`, when given, says why in the action's own words
    instead of Stripe's code. Shared by every kind that refunds a charge."""
    return Outcome(state=REFUND_STATES[refund.status], stripe_object_id=refund.id,
                   stripe_request_id=refund.request_id or "",
                   failure_reason=failure_reason or refund.failure_reason or "",
                   ledger=(refund_fact(refund, customer=customer),))


# Enough to find an action's object among its target's; a charge or an invoice rarely has
# more than a few refunds or credit notes.
MAX_PAGES_SEARCHED = 10


def find_in_pages(list_page, matches):
    """The first item that `matches` in a paged Stripe list, for the reconciler.
    `list_page(cursor)` returns one page (items, next_cursor); None when not found."""
    cursor = None
    for _ in range(MAX_PAGES_SEARCHED):
        page = list_page(cursor)
        found = next((item for item in page.items if matches(item)), None)
        if found is not None or page.next_cursor is None:
            return found
        cursor = page.next_cursor
    return None


def refund_made_by(action, charge_id):
    """The refund of `charge_id` that `action` made, found by its metadata; None when
    Stripe has none. Network: a page of the charge's refunds, or a few."""
    return find_in_pages(
        lambda cursor: gateway.list_refunds(charge_id=charge_id, limit=100,
                                            starting_after=cursor),
        lambda refund: refund.metadata.get(METADATA_KEY) == str(action.pk))


# Words the ticket's notes share ----------------------------------------------------------


def named_target(action, *, sentence_start=False):
    """What the action acts on, as people call it ("invoice ACME-0012"); rows requested
    before names were kept say "the invoice"."""
    name = action.target_name or f"the {action.kind_def.target_noun}"
    return capfirst(name) if sentence_start else name


def reason_words(action):
    """The action's reason inside a sentence: "duplicate charge", "SLA breach credit" (its
    proper names and abbreviations kept)."""
    return in_sentence(reason_label(action.reason_code))
