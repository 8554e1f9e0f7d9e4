"""Reconciliation with Stripe: each run over a period, and the changes it found.

The tables keep the names they had when reconciliation lived in the audit app
(`audit_reconciliationrun`, `audit_reconciliationitem`): the models moved, the rows did
not."""

from django.conf import settings
from django.db import models
from django.utils import timezone


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


# The statuses of a run not finished, and the constraint that allows one such run of a
# period at a time.
GOING = ["queued", "running"]
ONE_GOING_PER_PERIOD = "reconciliation_one_going_per_period"


class ReconciliationRun(models.Model):
    """One comparison of the console's money actions with Stripe's changes over a period
    of whole UTC days, `period_start` to `period_end` inclusive.

    A run is a job: the page that asks for it writes it `queued`; a task
    (`finance.tasks.run_reconciliation`) works through the period a day at a time,
    storing each day's items and moving `days_done` in the same transaction, so the report
    fills in as it goes and a task delivered again resumes at the first day not done.
    The counts are always those of the items stored so far; `finished_at` is set when the
    run is `done` or `failed` (then `error` says why, and what to do)."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    period_start = models.DateField()
    period_end = models.DateField()
    # None when the nightly task ran it.
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    # Progress, in whole UTC days of the period.
    days_total = models.PositiveIntegerField(default=0)
    days_done = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(db_index=True, default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    matched_count = models.PositiveIntegerField(default=0)
    stripe_only_count = models.PositiveIntegerField(default=0)
    console_only_count = models.PositiveIntegerField(default=0)
    amounts_differ_count = models.PositiveIntegerField(default=0)
    # Differences that took the explanation an earlier run was given.
    explanations_carried = models.PositiveIntegerField(default=0)

    class Meta:
        db_table = "audit_reconciliationrun"
        ordering = ["-id"]
        indexes = [models.Index(fields=["period_start", "period_end"])]
        constraints = [
            models.CheckConstraint(condition=models.Q(period_end__gte=models.F(
                "period_start")), name="reconciliation_period_in_order"),
            models.CheckConstraint(condition=models.Q(days_done__lte=models.F("days_total")),
                                   name="reconciliation_progress_within_period"),
            # One run of a period going at a time: a second request for it (a form sent
            # twice, two people at once, the nightly task) is shown the one going.
            # `finance.reconciliation.reconciliation_request` says why a constraint.
            models.UniqueConstraint(fields=["period_start", "period_end"],
                                    condition=models.Q(status__in=GOING),
                                    name=ONE_GOING_PER_PERIOD),
        ]

    def __str__(self):
        return f"Reconciliation {self.period_start} to {self.period_end}"

    def count_of(self, match):
        return getattr(self, f"{match}_count")

    @property
    def total_count(self):
        return sum(self.count_of(match) for match in Match)

    @property
    def differences_count(self):
        return self.total_count - self.matched_count

    @property
    def is_finished(self):
        return self.status in (self.Status.DONE, self.Status.FAILED)

    @property
    def percent(self):
        """Whole percent of the period's days done (100 once done)."""
        if self.status == self.Status.DONE:
            return 100
        return self.days_done * 100 // self.days_total if self.days_total else 0


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
    # Of Stripe's amount, the tax it states (a credit note's `total_taxes`).
    stripe_tax = models.BigIntegerField(null=True, blank=True, help_text="Minor units.")
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
        constraints = [
            models.CheckConstraint(
                condition=models.Q(explained_at__isnull=True) | ~models.Q(explanation=""),
                name="reconciliation_explained_with_a_note"),
            # One change once per run, however many of its days saw it (a change made in
            # Stripe on one day and settled in the console on the next), and however
            # often its task was delivered.
            models.UniqueConstraint(fields=["run", "object_type", "stripe_object_id",
                                            "invoice_status"],
                                    name="reconciliation_change_once_per_run"),
        ]

    def __str__(self):
        return f"{self.get_object_type_display()} {self.stripe_object_id}: {self.match}"

    @property
    def is_difference(self):
        return self.match != Match.MATCHED
