"""Reconciliation with Stripe: each run over a period, and the changes it found.

The tables keep the names they had when reconciliation lived in the audit app
(`audit_reconciliationrun`, `audit_reconciliationitem`): the models moved, the rows did
not."""

from django.conf import settings
from django.db import models


class Match(models.TextChoices):
    """How one change compares between the console's records and Stripe's."""

    MATCHED = "matched", "Matched"
    STRIPE_ONLY = "stripe_only", "In Stripe only"
    CONSOLE_ONLY = "console_only", "In the console only"
    AMOUNTS_DIFFER = "amounts_differ", "Amounts differ"


class ReconciledObject(models.TextChoices):
    REFUND = "refund", "Refund"
    CREDIT_NOTE = "credit_note", "Credit note"
    INVOICE_STATUS = "invoice_status", "Invoice status change"
    BALANCE_TRANSACTION = "balance_transaction", "Customer balance transaction"


class ReconciliationRun(models.Model):
    """One comparison of the console's money actions with Stripe's changes over a period
    of whole UTC days, `period_start` to `period_end` inclusive. Written once, with its
    items, when the comparison is done."""

    period_start = models.DateField()
    period_end = models.DateField()
    # None when the nightly task ran it.
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(db_index=True)
    finished_at = models.DateTimeField()
    matched_count = models.PositiveIntegerField(default=0)
    stripe_only_count = models.PositiveIntegerField(default=0)
    console_only_count = models.PositiveIntegerField(default=0)
    amounts_differ_count = models.PositiveIntegerField(default=0)

    class Meta:
        db_table = "audit_reconciliationrun"
        ordering = ["-id"]
        indexes = [models.Index(fields=["period_start", "period_end"])]
        constraints = [models.CheckConstraint(condition=models.Q(period_end__gte=models.F(
            "period_start")), name="reconciliation_period_in_order")]

    def __str__(self):
        return f"Reconciliation {self.period_start} to {self.period_end}"

    def count_of(self, match):
        return getattr(self, f"{match}_count")


class ReconciliationItem(models.Model):
    """One change seen by either side. Console and case ids are plain values, as in the
    audit trail, so that the report outlives what it describes. A difference (anything
    not matched) is flagged to finance until someone explains it, with a note."""

    run = models.ForeignKey(ReconciliationRun, on_delete=models.CASCADE, related_name="items")
    object_type = models.CharField(max_length=32, choices=ReconciledObject.choices)
    stripe_object_id = models.CharField(max_length=255)
    # For an invoice status change, the status it moved to (void, uncollectible, paid).
    invoice_status = models.CharField(max_length=32, blank=True)
    match = models.CharField(max_length=32, choices=Match.choices, db_index=True)
    money_action_id = models.UUIDField(null=True, blank=True)
    console_amount = models.BigIntegerField(null=True, blank=True, help_text="Minor units.")
    stripe_amount = models.BigIntegerField(null=True, blank=True, help_text="Minor units.")
    currency = models.CharField(max_length=3, blank=True)
    case_id = models.BigIntegerField(null=True, blank=True)
    # When the change happened in Stripe, or when the console recorded it as done.
    happened_at = models.DateTimeField(null=True, blank=True)
    explained_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="+")
    explained_at = models.DateTimeField(null=True, blank=True)
    explanation = models.TextField(blank=True)

    class Meta:
        db_table = "audit_reconciliationitem"
        ordering = ["id"]
        indexes = [models.Index(fields=["object_type", "stripe_object_id"])]
        constraints = [models.CheckConstraint(
            condition=models.Q(explained_at__isnull=True) | ~models.Q(explanation=""),
            name="reconciliation_explained_with_a_note")]

    def __str__(self):
        return f"{self.get_object_type_display()} {self.stripe_object_id}: {self.match}"

    @property
    def is_difference(self):
        return self.match != Match.MATCHED
