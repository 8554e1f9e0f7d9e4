"""Writes for refunds, on the shared money-action mechanism.

A caller reads the charge from Stripe first (`selectors.read_charge`, outside any
transaction); these services then lock the charge's target row, check the amount against
what is left, evaluate the policy and record the request.
"""

from django.db import transaction

from billing_console.exceptions import ApplicationError
from billing_console.money import format_amount, normalise_currency
from billing_console.names import in_sentence, stripe_name, stripe_status
from money_actions import services as money_actions
from money_actions.policy import validate_amount, validate_reason
from money_actions.selectors import refund_left_on
from refunds.kinds import REFUND
from refunds.models import StripeReason
from refunds.selectors import refund_verdicts


def validate_request_fields(*, stripe_reason, reason_code, note):
    """The checks that need no Stripe call, run before reading the charge."""
    if stripe_reason not in StripeReason.values:
        raise ApplicationError(f"The Stripe reason must be one of "
                               f"{', '.join(StripeReason.values)}.", "stripe_reason")
    validate_reason(reason_code=reason_code, note=note)


def nothing_taken(charge):
    """Why `charge` (as read) took no money, so that nothing of it can be refunded: "This
    charge was declined: nothing was taken, so there is nothing to refund."; None for a
    charge that succeeded."""
    if charge.status == "succeeded":
        return None
    if charge.status == "failed":
        return "This charge was declined: nothing was taken, so there is nothing to refund."
    return (f"This charge is {in_sentence(stripe_status(charge.status))}: nothing is taken "
            "until it succeeds, so there is nothing to refund yet.")  # "is pending"


def validate_against_charge(*, case, charge, amount, currency=None):
    """The checks that need the charge: its customer, its status, its currency, what is
    left (Stripe's rules, in `REFUND.stripe_rules`)."""
    money_actions.check_customer(case, charge.customer, noun="charge")
    if not_taken := nothing_taken(charge):
        raise ApplicationError(not_taken, "charge_status")
    if charge.disputed:
        raise ApplicationError("This charge is disputed: Stripe does not refund a charge "
                               "while its dispute stands. Answer the dispute in Stripe "
                               "instead.", "charge_disputed")
    if currency and normalise_currency(currency) != charge.currency.upper():
        raise ApplicationError(f"The charge is in {charge.currency.upper()}, not "
                               f"{normalise_currency(currency)}.", "currency")
    remainder = refund_left_on(charge)
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
    verdicts = refund_verdicts(charge=charge, amount=amount, stripe_reason=stripe_reason,
                               requester=actor)
    return money_actions.money_action_request(
        kind=REFUND, case=case, stripe_customer_id=charge.customer or "",
        stripe_target_id=charge.id, target_name=stripe_name(charge), amount=amount,
        currency=charge.currency,
        params={"stripe_reason": stripe_reason}, reason_code=reason_code, note=note,
        verdicts=verdicts, actor=actor, customer_reply=customer_reply, origin=origin)


def refund_change_amount(*, action, charge, amount, actor, origin=None):
    """Change a refund's amount before it is submitted; any approval is void."""
    validate_amount(amount)

    def evaluate(locked, new_amount):
        # The refund's own current amount is not part of the customer's total for it.
        return refund_verdicts(charge=charge, amount=new_amount,
                               stripe_reason=locked.params.get("stripe_reason"),
                               requester=locked.requested_by, excluding=locked.pk)

    def validate(locked, new_amount):
        # The refund's own current amount is not part of what is left for it.
        if new_amount > refund_left_on(charge, excluding=locked.pk):
            raise ApplicationError(
                f"{format_amount(new_amount, charge.currency)} is more than this charge "
                "can still refund.", "amount_above_refundable")

    return money_actions.money_action_amend(action_id=action.pk, amount=amount,
                                            evaluate=evaluate, actor=actor,
                                            validate=validate, origin=origin)
