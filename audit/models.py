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
    proven intact, up to which event, and where it first broke.

    `last_verified_id` and `last_verified_hash` are the head the check reached. The next
    check proves that the head of the latest intact one is still there, unchanged: that is
    how events deleted from the end of the trail show (`broken_id` is then the missing
    head's id). Checks made before the hash was kept have it empty and prove nothing.
    """

    finished_at = models.DateTimeField(db_index=True)
    checked = models.PositiveBigIntegerField()
    last_verified_id = models.BigIntegerField(null=True, blank=True)
    last_verified_hash = models.CharField(max_length=64, blank=True, default="")
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
