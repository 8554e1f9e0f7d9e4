"""What people read instead of codes: the label of every reason code, a case's name, and
the names of Stripe objects.

Reason codes come from two vocabularies:
- Stripe's, fixed by Stripe: a refund's reason, a credit note's reason, a dispute's reason,
  why a refund failed;
- the console's own (`money_actions.ReasonCode`, which admins edit): the app that keeps
  them registers its reader here from its AppConfig.ready, so that every layer, the
  lowest included, labels a code the same way.

Pages use the `reason` template filter (`billing_console.templatetags.console`), Python
code `reason_label`; both show a code nobody named as its words ("a_b" → "A b"), and a
reason already written out (a failure's message) as it is.

A Stripe object is named as people know it (`stripe_name`): an invoice by its number, a
charge by its amount and day, a subscription by its plans. Its id stays in a Stripe-id
column or a link's address.
"""

import re
from datetime import UTC, datetime

from billing_console.integrations.stripe import types
from billing_console.money import format_amount

# Stripe's refund reasons (`refund.reason`), in the order the refund form offers them.
REFUND_REASONS = {
    "requested_by_customer": "Requested by the customer",
    "duplicate": "Duplicate",
    "fraudulent": "Fraudulent",
}
# Stripe's credit note reasons (`credit_note.reason`).
CREDIT_NOTE_REASONS = {
    "duplicate": "Duplicate",
    "fraudulent": "Fraudulent",
    "order_change": "Order change",
    "product_unsatisfactory": "Product unsatisfactory",
}
# Stripe's dispute reasons (`dispute.reason`): what the customer told their bank.
DISPUTE_REASONS = {
    "bank_cannot_process": "Bank cannot process",
    "check_returned": "Check returned",
    "credit_not_processed": "Credit not processed",
    "customer_initiated": "Customer initiated",
    "debit_not_authorized": "Debit not authorized",
    "duplicate": "Duplicate",
    "fraudulent": "Fraudulent",
    "general": "General",
    "incorrect_account_details": "Incorrect account details",
    "insufficient_funds": "Insufficient funds",
    "noncompliant": "Noncompliant",
    "product_not_received": "Product not received",
    "product_unacceptable": "Product unacceptable",
    "subscription_canceled": "Subscription canceled",
    "unrecognized": "Unrecognized",
}
# Stripe's reasons a refund failed (`refund.failure_reason`).
REFUND_FAILURE_REASONS = {
    "charge_for_pending_refund_disputed": "The charge was disputed while the refund waited",
    "declined": "Declined by the card's bank",
    "expired_or_canceled_card": "Expired or canceled card",
    "insufficient_funds": "Insufficient funds",
    "lost_or_stolen_card": "Lost or stolen card",
    "merchant_request": "Canceled at the merchant's request",
    "unknown": "Unknown",
}
STRIPE_REASONS = {**REFUND_REASONS, **CREDIT_NOTE_REASONS, **DISPUTE_REASONS,
                  **REFUND_FAILURE_REASONS}
# What a code looks like, as against a reason written out in words.
CODE = re.compile(r"[a-z0-9]+(?:_[a-z0-9]+)*")

# The reader of the console's own reason codes, once its app has registered it.
_READERS = []


def register_console_reasons(read):
    """`read()` → {code: label} of the console's reason codes, read when a label is asked."""
    _READERS[:] = [read]


def console_reasons():
    """{code: label} of the console's own reason codes ({} before they are registered)."""
    return _READERS[0]() if _READERS else {}


def reason_label(code, *, console=None):
    """"requested_by_customer" → "Requested by the customer"; "courtesy" → its admin-set
    label; a reason written out in words (a failure's message) as it is. `console` spares
    a read when the caller labels many codes, or none ({}); "" for no code."""
    if not code:
        return ""
    labels = console if console is not None else console_reasons()
    named = labels.get(code) or STRIPE_REASONS.get(code)
    return named or (in_words(code) if CODE.fullmatch(code) else code)


def in_words(code):
    """"currency_limit" → "Currency limit": a code with no label of its own, readable."""
    return str(code).replace("_", " ").capitalize()


def ticket_name(ticket_id):
    """A case's name for people, its Zendesk ticket number: "Ticket #6". The case's row id
    stays in its address only (`/cases/<id>/`)."""
    return f"Ticket #{ticket_id}"


def day_name(timestamp):
    """Unix seconds as the day people say: "30 Nov 2026" (UTC)."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%-d %b %Y")


def stripe_name(obj):
    """How people name a gateway object (`integrations.stripe.types`), lower case to go
    inside a sentence: "invoice ACME-0012", "the draft invoice of 30 Nov 2026", "the charge
    of 30.00 USD on 30 Nov 2026", "credit note ACME-0012-CN-01", "the subscription to
    Console Pro monthly × 3", the customer's name or email."""
    if isinstance(obj, types.Charge):
        return f"the charge of {format_amount(obj.amount, obj.currency)} on " \
               f"{day_name(obj.created)}"
    if isinstance(obj, types.Invoice):
        # Stripe numbers an invoice when it is finalized: a draft has none yet.
        return f"invoice {obj.number}" if obj.number else \
            f"the draft invoice of {day_name(obj.created)}"
    if isinstance(obj, types.CreditNote):
        return f"credit note {obj.number}"
    if isinstance(obj, types.Subscription):
        plans = ", ".join(f"{item.plan_name}{f' × {item.quantity}' if item.quantity > 1 else ''}"
                          for item in obj.items)
        return f"the subscription to {plans}" if plans else "the subscription"
    if isinstance(obj, types.Customer):
        return obj.name or obj.email or "the customer"
    raise TypeError(f"No name for a {type(obj).__name__}.")
