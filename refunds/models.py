"""What only refunds have: Stripe's refund reasons. Refund requests themselves are
`money_actions.MoneyAction` rows of kind refund; the policy and reason codes they are
checked against live in `money_actions`."""

from django.db import models


class StripeReason(models.TextChoices):
    REQUESTED_BY_CUSTOMER = "requested_by_customer", "Requested by customer"
    DUPLICATE = "duplicate", "Duplicate"
    FRAUDULENT = "fraudulent", "Fraudulent"
