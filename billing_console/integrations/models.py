from django.db import models


class InboundEvent(models.Model):
    """A webhook delivery from Stripe or Zendesk, kept once per (source, event id).

    The row is its own outbox: a sweeper re-queues rows still pending, so an event whose
    queue message was lost is processed anyway.
    """

    class Source(models.TextChoices):
        STRIPE = "stripe", "Stripe"
        ZENDESK = "zendesk", "Zendesk"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PROCESSED = "processed", "Processed"
        FAILED = "failed", "Failed"

    source = models.CharField(max_length=16, choices=Source.choices)
    event_id = models.CharField(max_length=255)
    event_type = models.CharField(max_length=128)
    payload = models.JSONField()
    received_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "event_id"], name="inbound_event_once")
        ]
        indexes = [models.Index(fields=["status", "received_at"])]

    def __str__(self):
        return f"{self.source} {self.event_type} {self.event_id}"
