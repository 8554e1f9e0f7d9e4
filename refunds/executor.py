"""How a refund money action reaches Stripe, and how the reconciler finds it there."""

from billing_console.integrations.stripe import gateway
from billing_console.money import format_amount
from money_actions.executors import Outcome, find_in_pages, register
from money_actions.models import Kind, State

METADATA_KEY = "console_refund_id"
STATE_BY_STRIPE_STATUS = {
    "succeeded": State.SUCCEEDED,
    "pending": State.SUBMITTING,
    "requires_action": State.REQUIRES_ACTION,
    "failed": State.FAILED,
    "canceled": State.CANCELED,
}


def outcome_of(refund):
    return Outcome(state=STATE_BY_STRIPE_STATUS[refund.status], stripe_object_id=refund.id,
                   stripe_request_id=refund.request_id or "",
                   failure_reason=refund.failure_reason or "")


@register(Kind.REFUND)
class RefundExecutor:
    success_tags = ("billing_refunded",)

    def submit(self, action):
        refund = gateway.create_refund(
            charge_id=action.stripe_target_id, amount=action.amount,
            idempotency_key=action.idempotency_key,
            reason=action.params.get("stripe_reason"), metadata=self.metadata(action))
        return outcome_of(refund)

    def metadata(self, action):
        return {METADATA_KEY: str(action.pk), "case_id": str(action.case_id),
                "reason_code": action.reason_code}

    def find(self, action):
        refund = find_in_pages(
            lambda cursor: gateway.list_refunds(charge_id=action.stripe_target_id, limit=100,
                                                starting_after=cursor),
            lambda refund: refund.metadata.get(METADATA_KEY) == str(action.pk))
        return outcome_of(refund) if refund else None

    def success_note(self, action):
        return (f"Refund of {format_amount(action.amount, action.currency)} issued "
                f"(reason: {action.reason_code}; Stripe refund {action.stripe_object_id}). "
                "It reaches the customer's account in 5–10 business days.")
