"""The audit trail: one append-only, hash-chained row per thing worth answering for."""

from django.conf import settings
from django.db import models


class Outcome(models.TextChoices):
    SUCCESS = "success", "Success"
    FAILURE = "failure", "Failure"
    DENIED = "denied", "Denied"


class Source(models.TextChoices):
    CONSOLE = "console", "Console"
    API = "api", "API"
    STRIPE = "stripe", "Stripe Dashboard / external"
    SYSTEM = "system", "System"


class AuditEvent(models.Model):
    """One event. Rows are never updated or deleted: database triggers refuse it.

    Cases and tickets are referenced by plain ids, not foreign keys, so that the trail
    outlives what it describes and no cascade can ever touch it.
    """

    created_at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )
    actor_username = models.CharField(max_length=150, blank=True)
    actor_role = models.CharField(max_length=40, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.CONSOLE)
    action = models.CharField(max_length=64, db_index=True)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=128, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    amount = models.BigIntegerField(null=True, blank=True, help_text="Minor units.")
    currency = models.CharField(max_length=3, blank=True)
    case_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    zendesk_ticket_id = models.BigIntegerField(null=True, blank=True)
    stripe_object_id = models.CharField(max_length=255, blank=True)
    stripe_request_id = models.CharField(max_length=255, blank=True)
    reason = models.TextField(blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.SUCCESS)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self):
        return f"#{self.pk} {self.action} by {self.actor_username or 'system'}"


class ChainVerification(models.Model):
    """One check of the whole chain, kept so finance can see when the trail was last
    proven intact, up to which event, and where it first broke."""

    finished_at = models.DateTimeField(db_index=True)
    checked = models.PositiveBigIntegerField()
    last_verified_id = models.BigIntegerField(null=True, blank=True)
    broken_id = models.BigIntegerField(null=True, blank=True)
    problem = models.TextField(blank=True)

    class Meta:
        ordering = ["-finished_at"]

    def __str__(self):
        return f"Chain check {self.finished_at:%Y-%m-%d %H:%M}"

    @property
    def intact(self):
        return self.broken_id is None


class AuditExport(models.Model):
    """A CSV export too large to stream while someone waits: written by a task, with its
    progress, then downloaded from the page."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Ready"
        FAILED = "failed", "Failed"

    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                     related_name="+")
    query = models.TextField(blank=True, help_text="The audit trail filters, as a query.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveBigIntegerField(default=0)
    written = models.PositiveBigIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"Audit export {self.pk} ({self.status})"

    @property
    def percent(self):
        return 100 if self.status == self.Status.DONE else (
            int(self.written * 100 / self.total) if self.total else 0)


# Reconciliation with Stripe -----------------------------------------------------------


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
