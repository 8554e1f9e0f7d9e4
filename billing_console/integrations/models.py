from django.db import models


class InboundEvent(models.Model):
    """A webhook delivery from Stripe or Zendesk, kept once per (source, event id).

    The row is its own outbox (see `outbox.py`): a worker claims it as `processing` before
    running its handlers. A failed event is tried again at `next_attempt_at`, with
    exponential backoff; after `inbox.MAX_ATTEMPTS` it has `gave_up`, and waits for an
    admin. A sweeper re-queues what is due: pending rows whose queue message was lost,
    failed rows whose time has come, and claims left by a lost worker.
    """

    class Source(models.TextChoices):
        STRIPE = "stripe", "Stripe"
        ZENDESK = "zendesk", "Zendesk"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PROCESSING = "processing", "Processing"
        PROCESSED = "processed", "Processed"
        FAILED = "failed", "Failed, will retry"
        GAVE_UP = "gave_up", "Gave up"

    source = models.CharField(max_length=16, choices=Source.choices)
    event_id = models.CharField(max_length=255)
    event_type = models.CharField(max_length=128)
    payload = models.JSONField()
    received_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    # When a failed event is due to run again; null unless it failed.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # When a worker claimed it; set only while `processing`.
    claimed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "event_id"], name="inbound_event_once")
        ]
        indexes = [models.Index(fields=["status", "received_at"]),
                   models.Index(fields=["status", "next_attempt_at"],
                                name="inbound_event_due")]

    def __str__(self):
        return f"{self.source} {self.event_type} {self.event_id}"


class SetAsideRecord(models.Model):
    """A record from Stripe or Zendesk that could not be stored (a Zendesk ticket the
    database refused), set aside with the reason so that the batch it came in, and the
    export's cursor, go on without it. Storing it later removes the row; admins see the
    rows, and retry them, on `/manage/integrations/` (see `set_aside.py`)."""

    source = models.CharField(max_length=16, choices=InboundEvent.Source.choices)
    kind = models.CharField(max_length=32)  # "ticket"
    external_id = models.CharField(max_length=255)
    reason = models.TextField()
    times = models.PositiveIntegerField(default=1)
    first_set_aside_at = models.DateTimeField(auto_now_add=True)
    last_set_aside_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["source", "kind", "external_id"],
                                               name="set_aside_once")]

    def __str__(self):
        return f"{self.source} {self.kind} {self.external_id} (set aside)"
