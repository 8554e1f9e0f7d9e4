"""Writes for credit memos, on the shared money-action mechanism.

A caller reads the invoice from Stripe first (`selectors.read_invoice`, outside any
transaction); these services lock the invoice's target row, check the credit against what
is left, evaluate the money policy and record the request. Voiding a memo is a money
action of its own, since it takes back what was given.
"""

from django.db import transaction

from billing_console.exceptions import ApplicationError
from billing_console.money import format_amount
from credit_memos.selectors import (
    CREDITABLE_STATUSES,
    SETTLEMENTS,
    STRIPE_REASONS,
    credit_amount,
    creditable_remainder,
    split_basis,
)
from money_actions import services as money_actions
from money_actions.models import COMMITTED_STATES, Kind, MoneyAction, State
from money_actions.policy import Verdict
from refunds.models import ReasonCode
from refunds.policy import money_verdicts
from refunds.services import validate_amount


def validate_spec(spec):
    """The checks of what is asked that need no Stripe call."""
    if spec.settle_to not in SETTLEMENTS:
        raise ApplicationError(f"Settle to one of {', '.join(SETTLEMENTS)}.", "settle_to")
    if spec.stripe_reason and spec.stripe_reason not in STRIPE_REASONS:
        raise ApplicationError(f"The Stripe reason must be one of {', '.join(STRIPE_REASONS)}.",
                               "stripe_reason")
    if bool(spec.lines) == (spec.amount is not None):
        raise ApplicationError("Credit either some of the invoice's lines or one custom "
                               "amount, not both and not neither.", "lines")
    if spec.amount is not None:
        validate_amount(spec.amount)
    for line in spec.lines:
        _validate_line(line)


def validate_reason(*, reason_code, note):
    if not ReasonCode.objects.filter(code=reason_code, active=True).exists():
        raise ApplicationError(f"“{reason_code}” is not an internal reason code.",
                               "reason_code")
    if not (note or "").strip():
        raise ApplicationError("A note is required.", "note_required")


def _validate_line(line):
    if (line.amount is None) == (line.quantity is None):
        raise ApplicationError("Credit each line by amount or by quantity.", "lines")
    if line.amount is not None:
        validate_amount(line.amount)
    elif isinstance(line.quantity, bool) or not isinstance(line.quantity, int) \
            or line.quantity < 1:
        raise ApplicationError("A quantity is a whole number of at least 1.", "lines")


def validate_against_invoice(*, case, invoice, spec):
    """The checks that need the invoice; returns the credit's amount."""
    if case.stripe_customer_id and invoice.customer != case.stripe_customer_id:
        raise ApplicationError("That invoice belongs to another customer than this case's.",
                               "invoice")
    if invoice.status not in CREDITABLE_STATUSES:
        raise ApplicationError(
            f"This invoice is {invoice.status}: Stripe issues credit notes only on finalized "
            "invoices, and the console credits open or paid ones. Edit a draft instead; a "
            "void invoice is owed nothing.", "invoice_status")
    amount = credit_amount(invoice, spec)
    validate_amount(amount)
    remainder = creditable_remainder(invoice)
    if amount > remainder:
        raise ApplicationError(
            f"{format_amount(amount, invoice.currency)} is more than the "
            f"{format_amount(remainder, invoice.currency)} this invoice can still be credited.",
            "amount_above_creditable")
    return amount


@transaction.atomic
def credit_memo_request(*, case, invoice, spec, reason_code, note, actor, origin=None):
    """Request a credit memo on `invoice` (just read from Stripe)."""
    validate_spec(spec)
    validate_reason(reason_code=reason_code, note=note)
    money_actions.lock_target(invoice.id)
    amount = validate_against_invoice(case=case, invoice=invoice, spec=spec)
    verdicts = money_verdicts(amount=amount, currency=invoice.currency,
                              customer_id=invoice.customer, stripe_reason=spec.stripe_reason,
                              requester=actor)
    return money_actions.money_action_request(
        kind=Kind.CREDIT_MEMO, case=case, stripe_customer_id=invoice.customer,
        stripe_target_id=invoice.id, amount=amount, currency=invoice.currency,
        params={"spec": spec.as_params(), "split_basis": split_basis(invoice)},
        reason_code=reason_code, note=note, verdicts=verdicts,
        actor=actor, origin=origin)


@transaction.atomic
def credit_memo_void(*, memo, reason_code, note, actor, origin=None):
    """Void a credit memo the console issued. Stripe's own rules (the invoice's state)
    decide whether it can; a refusal fails the void with Stripe's words."""
    if memo.kind != Kind.CREDIT_MEMO or memo.state != State.SUCCEEDED:
        raise ApplicationError("Only a credit memo Stripe has issued can be voided.",
                               "invalid_state", status=409)
    money_actions.lock_target(memo.stripe_object_id)
    if MoneyAction.objects.filter(kind=Kind.CREDIT_MEMO_VOID, state__in=COMMITTED_STATES,
                                  stripe_target_id=memo.stripe_object_id).exists():
        raise ApplicationError("This credit memo is already voided, or being voided.",
                               "already_voided", status=409)
    validate_reason(reason_code=reason_code, note=note)
    # Taking a credit back gives nothing away, so no limit applies to it.
    verdicts = [Verdict("void", False, "Voiding takes back a credit; no limit applies.")]
    return money_actions.money_action_request(
        kind=Kind.CREDIT_MEMO_VOID, case=memo.case, stripe_customer_id=memo.stripe_customer_id,
        stripe_target_id=memo.stripe_object_id, amount=memo.amount, currency=memo.currency,
        params={"invoice_id": memo.stripe_target_id, "credit_memo": str(memo.pk)},
        reason_code=reason_code, note=note, verdicts=verdicts, actor=actor, origin=origin)
