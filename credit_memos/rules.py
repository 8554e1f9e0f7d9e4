"""What Stripe imposes on credit notes, invoice adjustments, balance moves and subscription
changes, in words, and the checks that refuse a request Stripe would refuse. Each check
runs twice: when the request is made, and just before it is sent (the object may have
changed meanwhile). Callers read Stripe first (`paid_by`); the checks read only the
console's own rows."""

from dataclasses import dataclass

from django.utils.text import capfirst

from billing_console.exceptions import ApplicationError
from billing_console.integrations.stripe import gateway
from billing_console.integrations.stripe.types import Charge
from billing_console.money import format_amount
from billing_console.names import in_sentence, stripe_name, stripe_status
from credit_memos.selectors import (
    CREDITABLE_STATUSES,
    creditable_remainder,
    last_payment,
    refunded_outside_notes,
    split,
)
from money_actions.selectors import (
    PAID_OTHERWISE,
    PAYING_CHARGE,
    REFUND_PART,
    refund_left_on,
)

CREDIT_NOTE_RULES = (
    "Stripe issues credit notes only on finalized invoices; the console credits open or "
    "paid ones.",
    "A credit is at most the invoice's total less what earlier credit notes credited.",
    "A credit first lowers what an open invoice still owes; the rest goes to the "
    "customer balance, a refund or out of band, and these add up to it.",
    "A refund part is paid back on the charge that paid the invoice, and is at most what "
    "that charge can still refund: the part paid from the customer's balance cannot go "
    "back to the card.",
    "An invoice is given back at most once: its credit notes and the refunds of its charge "
    "together come to at most its total.",
)
VOID_RULES = (
    "Only an issued credit note can be voided.",
    "A credit note whose money has gone out as a refund cannot be voided: voiding does "
    "not take a refund back.",
)
BALANCE_RULES = (
    "Stripe keeps a customer's balance in one currency.",
)
# By kind slug: the statuses Stripe allows, and the rule in words.
INVOICE_RULES = {
    "invoice_void": (("open", "uncollectible"),
                     "Stripe voids only open or uncollectible invoices"),
    "invoice_uncollectible": (("open",), "Stripe writes off (marks uncollectible) only "
                                         "open invoices"),
    "invoice_paid_out_of_band": (("open", "uncollectible"),
                                 "Stripe marks paid only open or uncollectible invoices"),
    "invoice_edit": (("draft",), "Stripe adds and removes items, and finalizes, only on "
                                 "draft invoices"),
}
# What is left to do after a refusal, by the invoice's status.
INSTEAD = {
    "paid": "A paid invoice is credited with a credit memo instead.",
    "void": "A void invoice is owed nothing.",
    "draft": "A draft invoice owes nothing yet: change its items.",
}
LIVE_STATUSES = ("active", "trialing", "past_due", "unpaid")
_LIVE = "Stripe changes only live subscriptions (active, on trial, past due or unpaid)."
SUBSCRIPTION_RULES = {
    "subscription_change": (_LIVE, "The item changed must be one of the subscription's."),
    "subscription_cancel": (_LIVE,),
    "subscription_cancel_at_end": (_LIVE, "A cancellation at period end is scheduled once."),
    "subscription_resume": (_LIVE, "Only a scheduled cancellation can be undone."),
    "subscription_cancel_refund": (
        _LIVE,
        "The refund goes back on the card charge that paid the subscription's last invoice, "
        "and is at most what that charge can still refund, less what the console's "
        "refunds and credit memos on it have on their way.",
        "Stripe does not refund a disputed charge while the dispute stands.",
    ),
}


# Credit notes ------------------------------------------------------------------------------


def refund_part(spec, amount, basis):
    """The part of the credit Stripe would refund (minor units)."""
    return split(basis, spec.settle_to, amount)["refund_amount"]


@dataclass(frozen=True)
class PaidBy:
    """The card charge that paid an invoice (with what the invoice says of it,
    `gateway.charge_paying`), and what it refunded outside the invoice's credit notes (in
    the Dashboard, or by a console refund), in minor units."""

    charge: Charge
    refunded_outside_notes: int


def paid_by(invoice):
    """Who paid the invoice, as Stripe has it now; None for an invoice no charge paid
    (open, paid out of band or by the balance). Network, up to three reads: call outside
    a transaction."""
    if invoice.status != "paid" or not invoice.amount_paid:
        return None
    charge = gateway.invoice_charge(invoice_id=invoice.id)
    if charge is None:
        return None
    notes = gateway.list_credit_notes(invoice_id=invoice.id, limit=100).items
    by_notes = sum(note.refund_amount for note in notes if note.status != "void")
    return PaidBy(gateway.charge_paying(charge, invoice, notes),
                  max(charge.amount_refunded - by_notes, 0))


def last_paid(subscription):
    """(the subscription's `LastPayment`, `paid_by` of its invoice) as Stripe has them now,
    each None for none: what a cancellation with a refund gives back from, for its page
    and its API alike. Network, up to five reads: call outside a transaction."""
    payment = last_payment(subscription)
    return payment, paid_by(payment.invoice) if payment else None


def check_credit_note(invoice, spec, amount, *, basis, paid, excluding=None):
    """Refuse what Stripe would refuse, and what would give the invoice back twice.
    `paid`: `paid_by`'s answer; `excluding`: the action being sent (at its fresh read), left
    out of what the console has on the way. Reads the console's own rows: no network."""
    if invoice.status not in CREDITABLE_STATUSES:
        raise ApplicationError(
            f"This invoice is {_status(invoice)}: Stripe issues credit notes only on finalized "
            "invoices, and the console credits open or paid ones. Edit a draft instead; a "
            "void invoice is owed nothing.", "invoice_status")
    if paid and paid.charge.disputed:
        # Credited as well as charged back, the invoice would be given back twice.
        raise ApplicationError(
            f"{capfirst(stripe_name(paid.charge))}, which paid this invoice, is disputed: the "
            "customer's bank may give that money back, and Stripe refunds nothing of it "
            "while the dispute stands. Answer the dispute in Stripe first.",
            "charge_disputed")
    _check_remainder(invoice, amount, paid, excluding)
    _check_refund_part(invoice, refund_part(spec, amount, basis), paid, excluding)


def _check_remainder(invoice, amount, paid, excluding):
    """The invoice gives back at most its total (`creditable_remainder`): credit notes, the
    console's credits on their way, and refunds of its charge made outside credit notes."""
    remainder = creditable_remainder(invoice, paid, excluding=excluding)
    if amount > remainder:
        refunded = refunded_outside_notes(paid, excluding=excluding)
        raise ApplicationError(
            f"{format_amount(amount, invoice.currency)} is more than the "
            f"{format_amount(remainder, invoice.currency)} this invoice can still be credited"
            f"{' (its charge was refunded outside credit notes)' if refunded else ''}.",
            "amount_above_creditable")


def check_refundable(charge):
    """A charge Stripe would refund now, as it is read."""
    if charge.disputed:
        raise ApplicationError(
            f"{capfirst(stripe_name(charge))} is disputed: Stripe does not refund a charge "
            "while its dispute stands. Answer the dispute in Stripe, or cancel without a "
            "refund.", "charge_disputed")


def _check_refund_part(invoice, refund, paid, excluding):
    if not refund:
        return
    if paid is None:
        raise ApplicationError(
            "This invoice was not paid by a card charge, so Stripe cannot refund any of it: "
            "settle the credit to the customer balance or out of band.", "refund_amount")
    left = refund_left_on(paid.charge, excluding=excluding)
    if refund > left:
        raise ApplicationError(
            f"Stripe can refund at most {format_amount(left, invoice.currency)} on "
            f"{stripe_name(paid.charge)}, which paid this invoice, not "
            f"{format_amount(refund, invoice.currency)}: what the customer's balance paid, or "
            "what was refunded already or is on its way, cannot go back to the card. Lower "
            "the credit, or settle it to the customer balance.", "refund_above_refundable")


def credit_memo_params(invoice, spec, amount, basis, paid):
    """What a credit memo on `invoice` keeps and sends: the spec, the split's basis, and
    the charge it gives back on (`money_actions.selectors.PAYING_CHARGE`), so refunds of
    that charge count it, with what the invoice was paid otherwise (`PAID_OTHERWISE`: from
    the customer's balance), which credits give back without taking from the charge."""
    paid_otherwise = max(invoice.total - invoice.pre_payment_credit_notes_amount
                         - paid.charge.amount_captured, 0) if paid else 0
    return {"spec": spec.as_params(), "split_basis": basis,
            PAYING_CHARGE: paid.charge.id if paid else None,
            REFUND_PART: refund_part(spec, amount, basis), PAID_OTHERWISE: paid_otherwise}


def check_void(note):
    """A credit note the console may void, as Stripe has it now."""
    if note.status == "void":
        raise ApplicationError("This credit memo is already voided.", "already_voided",
                               status=409)
    if note.refund_amount:
        raise ApplicationError(
            f"{format_amount(note.refund_amount, note.currency)} of this credit memo went back "
            "to the customer as a refund, and voiding it would not take that back. Leave it, "
            "or take the money back another way (a balance debit, with approval).",
            "refunded_credit_note", status=409)


# Invoices, balances, subscriptions -------------------------------------------------------


def _status(stripe_object):
    """An invoice's or subscription's status inside a sentence: "past due"."""
    return in_sentence(stripe_status(stripe_object.status))


def check_invoice_allows(kind_slug, invoice):
    statuses, rule = INVOICE_RULES[kind_slug]
    if invoice.status not in statuses:
        instead = INSTEAD.get(invoice.status, "")
        raise ApplicationError(f"{rule}; this one is {_status(invoice)}. {instead}".strip(),
                               "invoice_status")


def check_balance_currency(customer, currency):
    if customer.currency and customer.currency.lower() != currency.lower():
        raise ApplicationError(
            f"Stripe keeps a customer's balance in one currency; this one's is "
            f"{customer.currency.upper()}, not {currency.upper()}.", "currency")


def check_subscription_allows(kind_slug, subscription):
    if subscription.status not in LIVE_STATUSES:
        raise ApplicationError(f"Stripe changes only live subscriptions; this one is "
                               f"{_status(subscription)}.", "subscription_status")
    if kind_slug == "subscription_cancel_at_end" and subscription.cancel_at_period_end:
        raise ApplicationError("This subscription already cancels at the end of its period.",
                               "subscription_status")
    if kind_slug == "subscription_resume" and not subscription.cancel_at_period_end:
        raise ApplicationError("This subscription has no cancellation scheduled to undo.",
                               "subscription_status")
