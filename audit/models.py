"""The audit trail: one append-only, hash-chained row per thing worth answering for."""

from itertools import combinations

from django.conf import settings
from django.db import models

from billing_console.access import Role


class Outcome(models.TextChoices):
    SUCCESS = "success", "Success"
    FAILURE = "failure", "Failure"
    DENIED = "denied", "Denied"


class Source(models.TextChoices):
    CONSOLE = "console", "Console"
    API = "api", "API"
    STRIPE = "stripe", "Stripe Dashboard / external"
    SYSTEM = "system", "System"


# The actor's role on an event the money policy decided by itself (an action within policy,
# approved without a second person): no person is its actor.
POLICY_ROLE = "policy"

# The columns the trail's filters read, each indexed together with `id`.
FILTERED_COLUMNS = ("created_at", "action", "kind", "actor_username", "requested_by",
                    "actor_role", "customer", "stripe_object_id", "reason_code", "case_id",
                    "zendesk_ticket_id", "amount", "currency", "source")


def role_label(roles):
    """How an event stores its actor's roles: their values, sorted, joined by commas
    ("admin,finance"); "" for none."""
    return ",".join(sorted(role.value for role in roles))


def role_labels_with(role):
    """Every stored role label that includes `role`: what "acted as `role`" matches."""
    others = [other for other in Role if other != role]
    return [role_label({role, *chosen}) for size in range(len(others) + 1)
            for chosen in combinations(others, size)]


def filter_columns(action, after):
    """{column: value} of an event's derived columns: `kind` is the action's part before
    its first dot ("" when it has none), and `requested_by`, `customer`, `reason_code` are
    the text values of those keys of `after` ("" when absent or not text), as money
    actions record them."""
    after = after if isinstance(after, dict) else {}
    kind, dot, _ = action.partition(".")
    return {"kind": kind if dot else "",
            **{key: value if isinstance(value := after.get(key), str) else ""
               for key in ("requested_by", "customer", "reason_code")}}


class AuditEvent(models.Model):
    """One event. Rows are never updated or deleted: database triggers refuse it.

    Cases and tickets are referenced by plain ids, not foreign keys, so that the trail
    outlives what it describes and no cascade can ever touch it.

    `kind`, `requested_by`, `customer` and `reason_code` are what the trail's filters read,
    derived from `action` and `after` by `filter_columns` when the event is recorded (events
    are immutable, so they never go stale). They are not hashed: the chain's check derives
    them again from what is hashed and reports an event whose columns disagree. So it does
    for `export_line`, the event's line of the CSV export.

    Each filter has an index that ends in `id`, so that "newest first" under any one filter
    is a walk down one index, however old or rare its matches (see `audit.filters`).
    """

    created_at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )
    actor_username = models.CharField(max_length=150, blank=True)
    actor_role = models.CharField(max_length=40, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.CONSOLE)
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=128, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    amount = models.BigIntegerField(null=True, blank=True, help_text="Minor units.")
    currency = models.CharField(max_length=3, blank=True)
    case_id = models.BigIntegerField(null=True, blank=True)
    zendesk_ticket_id = models.BigIntegerField(null=True, blank=True)
    stripe_object_id = models.CharField(max_length=255, blank=True)
    stripe_request_id = models.CharField(max_length=255, blank=True)
    reason = models.TextField(blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.SUCCESS)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)
    # The event's line of the CSV export (`audit.exports.export_line`), made as it joins
    # the chain: events never change, so neither does it.
    export_line = models.TextField(blank=True, default="")
    # Derived by `filter_columns`, for the filters.
    kind = models.CharField(max_length=64, blank=True, default="")
    requested_by = models.CharField(max_length=150, blank=True, default="")
    customer = models.CharField(max_length=255, blank=True, default="")
    reason_code = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["object_type", "object_id"]),
            *(models.Index(fields=[column, "id"], name=f"audit_by_{column}")
              for column in FILTERED_COLUMNS),
        ]

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
