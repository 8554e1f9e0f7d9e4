"""Writes for refunds, on the shared money-action mechanism.

A caller reads the charge from Stripe first (`selectors.read_charge`, outside any
transaction); these services then lock the charge's target row, check the amount against
what is left, evaluate the policy and record the request.
"""

from django.db import transaction
from django.utils import timezone

from audit.models import Source
from audit.services import record
from billing_console.exceptions import ApplicationError
from billing_console.money import format_amount, normalise_currency
from cases.models import CaseEvent
from cases.selectors import latest_case_of_customer
from money_actions import services as money_actions
from money_actions.models import Kind
from refunds import policy
from refunds.models import ExternalRefund, ReasonCode, StripeReason
from refunds.selectors import refundable_remainder

# No single charge comes near this (Stripe's own ceiling is 999,999.99 USD); anything
# above is a typo or an attack, refused before anything else is looked at.
ABSURD_AMOUNT = 10**10


def validate_amount(amount):
    """An amount as the API and the services take it: a positive int of minor units."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise ApplicationError("The amount must be a whole number of the currency's minor "
                               "units (cents for USD), for example 1250 for 12.50.", "amount")
    if amount <= 0:
        raise ApplicationError("The amount must be more than zero.", "amount")
    if amount >= ABSURD_AMOUNT:
        raise ApplicationError("That amount is not plausible for one charge.", "amount")


def validate_request_fields(*, stripe_reason, reason_code, note):
    """The checks that need no Stripe call, run before reading the charge."""
    if stripe_reason not in StripeReason.values:
        raise ApplicationError(f"The Stripe reason must be one of "
                               f"{', '.join(StripeReason.values)}.", "stripe_reason")
    if not ReasonCode.objects.filter(code=reason_code, active=True).exists():
        raise ApplicationError(f"“{reason_code}” is not an internal reason code.",
                               "reason_code")
    if not (note or "").strip():
        raise ApplicationError("A note is required.", "note_required")


def validate_against_charge(*, case, charge, amount, currency=None):
    """The checks that need the charge: its customer, its currency, what is left."""
    if not case.stripe_customer_id:
        raise ApplicationError("Link this case to the requester's Stripe customer first.",
                               "customer")
    if charge.customer != case.stripe_customer_id:
        raise ApplicationError("That charge belongs to another customer than this case's.",
                               "charge")
    if currency and normalise_currency(currency) != charge.currency.upper():
        raise ApplicationError(f"The charge is in {charge.currency.upper()}, not "
                               f"{normalise_currency(currency)}.", "currency")
    remainder = refundable_remainder(charge)
    if amount > remainder:
        raise ApplicationError(
            f"{format_amount(amount, charge.currency)} is more than the "
            f"{format_amount(remainder, charge.currency)} this charge can still refund.",
            "amount_above_refundable")


@transaction.atomic
def refund_request(*, case, charge, amount, stripe_reason, reason_code, note, actor,
                   currency=None, customer_reply="", origin=None):
    """Request a refund of `amount` on `charge` (just read from Stripe). `customer_reply`,
    when given, is posted to the ticket as a public reply once the refund succeeds."""
    validate_amount(amount)
    validate_request_fields(stripe_reason=stripe_reason, reason_code=reason_code, note=note)
    money_actions.lock_target(charge.id, customer_id=charge.customer or "")
    validate_against_charge(case=case, charge=charge, amount=amount, currency=currency)
    verdicts = policy.evaluate(charge=charge, amount=amount, stripe_reason=stripe_reason,
                               requester=actor)
    return money_actions.money_action_request(
        kind=Kind.REFUND, case=case, stripe_customer_id=charge.customer or "",
        stripe_target_id=charge.id, amount=amount, currency=charge.currency,
        params={"stripe_reason": stripe_reason}, reason_code=reason_code, note=note,
        verdicts=verdicts, actor=actor, customer_reply=customer_reply, origin=origin)


def refund_change_amount(*, action, charge, amount, actor, origin=None):
    """Change a refund's amount before it is submitted; any approval is void."""
    validate_amount(amount)
    verdicts = policy.evaluate(charge=charge, amount=amount,
                               stripe_reason=action.params.get("stripe_reason"),
                               requester=action.requested_by)

    def validate(locked, new_amount):
        # The refund's own current amount is not part of what is left for it.
        if new_amount > refundable_remainder(charge) + locked.amount:
            raise ApplicationError(
                f"{format_amount(new_amount, charge.currency)} is more than this charge "
                "can still refund.", "amount_above_refundable")

    return money_actions.money_action_amend(action_id=action.pk, amount=amount,
                                            verdicts=verdicts, actor=actor, validate=validate,
                                            origin=origin)


@transaction.atomic
def refund_record_external(*, refund, charge):
    """A refund made outside the console: kept once, on the customer's latest case, and in
    the audit trail with Stripe as its source. A later change of status is audited too."""
    existing = ExternalRefund.objects.select_for_update().filter(
        stripe_refund_id=refund.id).first()
    if existing is not None and existing.status == refund.status:
        return existing
    external = existing or ExternalRefund(stripe_refund_id=refund.id)
    external.charge_id, external.stripe_customer_id = charge.id, charge.customer or ""
    external.amount, external.currency, external.status = (refund.amount, refund.currency,
                                                           refund.status)
    external.case = external.case or latest_case_of_customer(charge.customer)
    external.save()
    _audit_external(external, refund, "refund.external" if existing is None
                    else "refund.external_updated")
    return external


def _audit_external(external, refund, action):
    case = external.case
    record(action=action, source=Source.STRIPE, object_type="refund", object_id=refund.id,
           after={"status": refund.status, "charge": external.charge_id,
                  "reason": refund.reason, "failure_reason": refund.failure_reason},
           amount=refund.amount, currency=refund.currency,
           case_id=case.pk if case else None,
           zendesk_ticket_id=case.zendesk_ticket_id if case else None,
           stripe_object_id=refund.id, reason="Made outside the console.")
    if case is not None:
        CaseEvent.objects.create(
            case=case, kind=CaseEvent.Kind.MONEY, created_at=timezone.now(),
            body=f"Refund of {format_amount(refund.amount, refund.currency)} made outside "
                 f"the console ({refund.id}, {refund.status}).",
            data={"stripe_refund_id": refund.id, "external": True})
