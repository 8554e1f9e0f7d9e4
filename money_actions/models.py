"""One row per money action, whatever its kind; the row is also its own outbox."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q


class Kind(models.TextChoices):
    REFUND = "refund", "Refund"
    CREDIT_MEMO = "credit_memo", "Credit memo"
    CREDIT_MEMO_VOID = "credit_memo_void", "Credit memo void"
    INVOICE_VOID = "invoice_void", "Invoice void"
    INVOICE_UNCOLLECTIBLE = "invoice_uncollectible", "Invoice write-off"
    INVOICE_PAID_OUT_OF_BAND = "invoice_paid_out_of_band", "Invoice paid out of band"
    INVOICE_EDIT = "invoice_edit", "Draft invoice change"
    BALANCE_CREDIT = "balance_credit", "Balance credit"
    BALANCE_DEBIT = "balance_debit", "Balance debit"
    SUBSCRIPTION_CHANGE = "subscription_change", "Plan change"
    SUBSCRIPTION_CANCEL = "subscription_cancel", "Cancellation"
    SUBSCRIPTION_CANCEL_AT_PERIOD_END = "subscription_cancel_at_end", "Cancellation at period end"
    SUBSCRIPTION_RESUME = "subscription_resume", "Scheduled cancellation undone"


# Kinds that give money back to a customer, or let them off paying it; they add up against
# the customer's limit. `amount` is what is given up.
GIVING_BACK_KINDS = (Kind.REFUND, Kind.CREDIT_MEMO, Kind.INVOICE_VOID,
                     Kind.INVOICE_UNCOLLECTIBLE, Kind.INVOICE_PAID_OUT_OF_BAND,
                     Kind.INVOICE_EDIT, Kind.BALANCE_CREDIT)


class State(models.TextChoices):
    DRAFT = "draft", "Draft"
    PENDING_APPROVAL = "pending_approval", "Waiting for approval"
    APPROVED = "approved", "Approved"
    SUBMITTING = "submitting", "Submitting to Stripe"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    REQUIRES_ACTION = "requires_action", "Requires action"
    CANCELED = "canceled", "Canceled"


# States whose amount is spoken for: counted against what a charge can still give back.
COMMITTED_STATES = (State.PENDING_APPROVAL, State.APPROVED, State.SUBMITTING,
                    State.REQUIRES_ACTION, State.SUCCEEDED)
# Committed, but not yet visible in Stripe's own totals.
IN_FLIGHT_STATES = (State.PENDING_APPROVAL, State.APPROVED, State.SUBMITTING,
                    State.REQUIRES_ACTION)


class MoneyAction(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    state = models.CharField(max_length=32, choices=State.choices, default=State.DRAFT)
    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT,
                             related_name="money_actions")
    stripe_customer_id = models.CharField(max_length=255, db_index=True)
    # The Stripe object acted on (a charge for a refund, an invoice for a credit memo).
    stripe_target_id = models.CharField(max_length=255, db_index=True)
    # In the currency's minor unit: what the action gives back or lets the customer off,
    # or, for a change that takes money (a debit, an added item), what it takes. Zero for
    # a change that moves none by itself (a cancellation at period end).
    amount = models.BigIntegerField(help_text="In the currency's minor unit.")
    currency = models.CharField(max_length=3)
    params = models.JSONField(default=dict, blank=True,
                              help_text="Kind-specific parameters sent to Stripe.")
    reason_code = models.CharField(max_length=64)
    note = models.TextField()
    customer_reply = models.TextField(
        blank=True, help_text="A public reply posted to the ticket once the action succeeds.")
    policy_verdicts = models.JSONField(default=list, blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                     related_name="+")
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    rejected_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    # The amount the approval (by policy or by a person) covers; a changed amount voids it.
    approved_amount = models.BigIntegerField(null=True, blank=True)
    decision_note = models.TextField(blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    stripe_object_id = models.CharField(max_length=255, blank=True, db_index=True)
    stripe_request_id = models.CharField(max_length=255, blank=True)
    failure_reason = models.TextField(blank=True)
    submit_attempts = models.PositiveIntegerField(default=0)
    # Set when money that had moved moves back (a refund failing after it succeeded):
    # finance must look, and says so, with a note, to clear it.
    finance_flag = models.TextField(blank=True)
    finance_flag_cleared_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True,
                                                blank=True, on_delete=models.PROTECT,
                                                related_name="+")
    finance_flag_cleared_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["state", "updated_at"])]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0),
                                   name="money_action_amount_not_negative"),
            models.CheckConstraint(
                condition=Q(approved_by__isnull=True) | ~Q(approved_by=F("requested_by")),
                name="money_action_approver_is_not_requester"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.id} ({self.state})"

    @property
    def idempotency_key(self):
        """Sent unchanged on every attempt, so Stripe acts on this row at most once."""
        return f"console-{self.kind}-{self.id}"


class TargetLock(models.Model):
    """One row per Stripe object acted on. Requests lock it, so that two requests against
    one charge are checked one after the other against what is left."""

    stripe_target_id = models.CharField(max_length=255, unique=True)

    def __str__(self):
        return self.stripe_target_id


class IdempotentRequest(models.Model):
    """An API call made with an `Idempotency-Key`: a replay gets the first answer."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="+")
    key = models.CharField(max_length=255)
    endpoint = models.CharField(max_length=255)
    body_hash = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"],
                                               name="idempotent_request_once_per_user")]

    def __str__(self):
        return f"{self.key} ({self.endpoint})"
