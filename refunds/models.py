"""What only refunds have: Stripe's refund reasons, as codes (their labels are
`billing_console.names.REFUND_REASONS`). Refund requests themselves are
`money_actions.MoneyAction` rows of kind refund; the policy and reason codes they are
checked against live in `money_actions`."""

from django.db import models

from billing_console.names import REFUND_REASONS


class StripeReason(models.TextChoices):
    REQUESTED_BY_CUSTOMER = "requested_by_customer", REFUND_REASONS["requested_by_customer"]
    DUPLICATE = "duplicate", REFUND_REASONS["duplicate"]
    FRAUDULENT = "fraudulent", REFUND_REASONS["fraudulent"]
