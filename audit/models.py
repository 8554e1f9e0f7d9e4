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
