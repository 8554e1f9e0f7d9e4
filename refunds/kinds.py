"""The refund kind: how a refund reaches Stripe, finds itself there, stays true to Stripe's
state, and what Stripe imposes on it."""

from billing_console.integrations.stripe import gateway
from billing_console.money import REFUND_ARRIVAL, format_amount
from money_actions.executors import (
    UNCHANGED,
    Refreshed,
    named_target,
    reason_words,
    refund_made_by,
    refund_outcome,
)
from money_actions.kinds import ActionKind, Family, register
from money_actions.selectors import refund_left_on
from refunds.selectors import read_charge


class RefundExecutor:
    success_tags = ("billing_refunded",)

    def refresh(self, action):
        """Stripe refunds at most what the charge can still refund: money refunded since
        the request (in the Dashboard, or by a credit note) leaves less."""
        charge = gateway.charge_to_refund(charge_id=action.stripe_target_id)
        if charge.disputed:
            return Refreshed(send_back="The charge has been disputed since: Stripe does not "
                                       "refund it while the dispute stands. Reject it.")
        left = refund_left_on(charge, excluding=action.pk)
        if action.amount <= left:
            return UNCHANGED
        return Refreshed(send_back=(
            f"The charge can now refund only "
            f"{format_amount(left, charge.currency)}, less than the "
            f"{format_amount(action.amount, action.currency)} asked: money was refunded "
            "since. Change the amount or reject it."))

    def submit(self, action):
        refund = gateway.create_refund(
            charge_id=action.stripe_target_id, amount=action.amount,
            idempotency_key=action.idempotency_key,
            reason=action.params.get("stripe_reason"), metadata=REFUND.metadata(action))
        return refund_outcome(refund, customer=action.stripe_customer_id)

    def find(self, action):
        refund = refund_made_by(action, action.stripe_target_id)
        return refund_outcome(refund, customer=action.stripe_customer_id) if refund else None

    def settle(self, action, refund):
        """What a webhook's refund (read again from Stripe) says about the action."""
        return refund_outcome(refund, customer=action.stripe_customer_id)

    def success_note(self, action):
        return (f"Refunded {format_amount(action.amount, action.currency)} of "
                f"{named_target(action)} ({reason_words(action)}). It reaches the "
                f"customer's account in {REFUND_ARRIVAL}.")


REFUND = register(ActionKind(
    slug="refund", label="Refund", family=Family.GIVES_BACK, executor=RefundExecutor(),
    read_target=read_charge, target_noun="charge", ledger_type="refund",
    # Before API version 2024-10-28.acacia a card refund's failure comes only as
    # charge.refund.updated; the others carry it on later versions.
    settling_events=("refund.created", "refund.updated", "refund.failed",
                     "charge.refund.updated", "charge.refunded"),
    stripe_rules=(
        "Stripe refunds only a charge that succeeded.",
        "A refund is at most what the charge can still refund: captured less refunded, "
        "including refunds made by credit notes and in the Dashboard.",
        "A refund is in the charge's currency.",
        "Stripe does not refund a disputed charge while the dispute stands.",
    ),
    chart=True,
))
