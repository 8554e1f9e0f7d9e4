"""What Stripe imposes on credit notes, invoice adjustments, balance moves and subscription
changes, in words, and the checks that refuse a request Stripe would refuse. Each check
runs twice: when the request is made, and just before it is sent (the object may have
changed meanwhile). No network here: callers read the objects first."""

from billing_console.exceptions import ApplicationError
from billing_console.integrations.stripe import gateway
from billing_console.money import format_amount
from credit_memos.selectors import CREDITABLE_STATUSES, credit_amount, split, split_basis

CREDIT_NOTE_RULES = (
    "Stripe issues credit notes only on finalized invoices; the console credits open or "
    "paid ones.",
    "A credit is at most the invoice's total less what earlier credit notes credited.",
    "A credit first lowers what an open invoice still owes; the rest goes to the "
    "customer balance, a refund or out of band, and these add up to it.",
    "A refund part is paid back on the charge that paid the invoice, and is at most what "
    "that charge can still refund: the part paid from the customer's balance cannot go "
    "back to the card.",
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
# Where `status_transitions` records the move to each status.
TRANSITION_FIELDS = {"void": "voided_at", "uncollectible": "marked_uncollectible_at",
                     "paid": "paid_at"}
LIVE_STATUSES = ("active", "trialing", "past_due", "unpaid")
_LIVE = "Stripe changes only live subscriptions (active, trialing, past due or unpaid)."
SUBSCRIPTION_RULES = {
    "subscription_change": (_LIVE, "The item changed must be one of the subscription's."),
    "subscription_cancel": (_LIVE,),
    "subscription_cancel_at_end": (_LIVE, "A cancellation at period end is scheduled once."),
    "subscription_resume": (_LIVE, "Only a scheduled cancellation can be undone."),
}


# Credit notes ------------------------------------------------------------------------------


def refund_part(invoice, spec, amount, basis):
    """The part of the credit Stripe would refund (minor units)."""
    return split(basis, spec.settle_to, amount)["refund_amount"]


def paying_charge(invoice, spec, amount, basis):
    """The charge a refund part goes back to, read from Stripe when there is a refund
    part (None otherwise). Network: call outside a transaction."""
    if not refund_part(invoice, spec, amount, basis):
        return None
    return gateway.invoice_charge(invoice_id=invoice.id)


def charge_for_credit(invoice, spec):
    """`paying_charge` for a credit asked as `spec` on the invoice as it is now (None when
    the spec cannot be worked out: the checks then say why). Network."""
    try:
        amount = credit_amount(invoice, spec)
    except ApplicationError:
        return None
    return paying_charge(invoice, spec, amount, split_basis(invoice))


def check_credit_note(invoice, spec, amount, *, basis, pending, charge):
    """Refuse what Stripe would refuse. `pending`: the console's credits on the invoice not
    yet in Stripe's totals; `charge`: `paying_charge`'s answer."""
    if invoice.status not in CREDITABLE_STATUSES:
        raise ApplicationError(
            f"This invoice is {invoice.status}: Stripe issues credit notes only on finalized "
            "invoices, and the console credits open or paid ones. Edit a draft instead; a "
            "void invoice is owed nothing.", "invoice_status")
    credited = invoice.pre_payment_credit_notes_amount + invoice.post_payment_credit_notes_amount
    remainder = max(invoice.total - credited - pending, 0)
    if amount > remainder:
        raise ApplicationError(
            f"{format_amount(amount, invoice.currency)} is more than the "
            f"{format_amount(remainder, invoice.currency)} this invoice can still be credited.",
            "amount_above_creditable")
    _check_refund_part(invoice, refund_part(invoice, spec, amount, basis), charge)


def _check_refund_part(invoice, refund, charge):
    if not refund:
        return
    if charge is None:
        raise ApplicationError(
            "This invoice was not paid by a card charge, so Stripe cannot refund any of it: "
            "settle the credit to the customer balance or out of band.", "refund_amount")
    if refund > charge.refundable_amount:
        raise ApplicationError(
            f"Stripe can refund at most {format_amount(charge.refundable_amount, invoice.currency)}"
            f" on the charge that paid this invoice ({charge.id}), not "
            f"{format_amount(refund, invoice.currency)}: what the customer's balance paid, or "
            "what was refunded already, cannot go back to the card. Lower the credit, or "
            "settle it to the customer balance.", "refund_above_refundable")


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


def check_invoice_allows(kind_slug, invoice):
    statuses, rule = INVOICE_RULES[kind_slug]
    if invoice.status not in statuses:
        instead = INSTEAD.get(invoice.status, "")
        raise ApplicationError(f"{rule}; this one is {invoice.status}. {instead}".strip(),
                               "invoice_status")


def check_balance_currency(customer, currency):
    if customer.currency and customer.currency.lower() != currency.lower():
        raise ApplicationError(
            f"Stripe keeps a customer's balance in one currency; this one's is "
            f"{customer.currency.upper()}, not {currency.upper()}.", "currency")


def check_subscription_allows(kind_slug, subscription):
    if subscription.status not in LIVE_STATUSES:
        raise ApplicationError(f"Stripe changes only live subscriptions; this one is "
                               f"{subscription.status}.", "subscription_status")
    if kind_slug == "subscription_cancel_at_end" and subscription.cancel_at_period_end:
        raise ApplicationError("This subscription already cancels at the end of its period.",
                               "subscription_status")
    if kind_slug == "subscription_resume" and not subscription.cancel_at_period_end:
        raise ApplicationError("This subscription has no cancellation scheduled to undo.",
                               "subscription_status")
