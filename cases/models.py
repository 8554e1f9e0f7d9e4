"""Cases: escalated Zendesk tickets as the billing team works them, and their timeline."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper

from cases.replies import fill, reply_words


class Category(models.TextChoices):
    REFUND_REQUEST = "refund_request", "Refund request"
    DUPLICATE_CHARGE = "duplicate_charge", "Duplicate charge"
    INVOICE_DISPUTE = "invoice_dispute", "Invoice dispute"
    PLAN_CHANGE = "plan_change", "Plan change or cancellation"
    TAX = "tax", "Tax / VAT"
    FAILED_PAYMENT = "failed_payment", "Failed payment"
    OTHER = "other", "Other"


class State(models.TextChoices):
    NEW = "new", "New"
    TRIAGED = "triaged", "Triaged"
    IN_PROGRESS = "in_progress", "In progress"
    WAITING_CUSTOMER = "waiting_customer", "Waiting on customer"
    WAITING_FINANCE = "waiting_finance", "Waiting on finance"
    RESOLVED = "resolved", "Resolved"
    CLOSED = "closed", "Closed"


OPEN_STATES = (State.NEW, State.TRIAGED, State.IN_PROGRESS, State.WAITING_CUSTOMER,
               State.WAITING_FINANCE)
# The condition of the partial indexes on open cases (queries that filter on OPEN_STATES
# can use them).
OPEN_CASE = ~Q(state__in=[State.RESOLVED, State.CLOSED])


class Priority(models.TextChoices):
    LOW = "low", "Low"
    NORMAL = "normal", "Normal"
    HIGH = "high", "High"
    URGENT = "urgent", "Urgent"


class StripeLink(models.TextChoices):
    NONE = "none", "No Stripe customer found"
    VERIFIED = "verified", "Verified"
    UNVERIFIED = "unverified", "Matched by email, not yet confirmed"
    AMBIGUOUS = "ambiguous", "Several customers match"
    # Named in the ticket's "Stripe customer id" field; verified once Stripe has it.
    NAMED = "named", "Named on the ticket, being checked in Stripe"


class ResolutionCode(models.TextChoices):
    REFUNDED = "refunded", "Refunded"
    CREDITED = "credited", "Credit memo issued"
    INVOICE_ADJUSTED = "invoice_adjusted", "Invoice adjusted"
    SUBSCRIPTION_CHANGED = "subscription_changed", "Subscription changed"
    EXPLAINED = "explained", "Explained, no change needed"
    DECLINED = "declined", "Request declined under policy"
    DUPLICATE_CASE = "duplicate_case", "Duplicate of another case"
    NO_RESPONSE = "no_response", "No response from customer"


class Case(models.Model):
    zendesk_ticket_id = models.BigIntegerField(unique=True)
    subject = models.CharField(max_length=500, blank=True)
    description = models.TextField(blank=True)
    requester_name = models.CharField(max_length=255, blank=True)
    requester_email = models.CharField(max_length=255, blank=True, db_index=True)
    requester_zendesk_id = models.BigIntegerField(null=True, blank=True)
    zendesk_status = models.CharField(max_length=16, blank=True)
    zendesk_priority = models.CharField(max_length=16, blank=True)
    zendesk_group_id = models.BigIntegerField(null=True, blank=True)
    tags = models.JSONField(default=list, blank=True)
    custom_fields = models.JSONField(default=dict, blank=True)
    zendesk_created_at = models.DateTimeField(null=True, blank=True)
    zendesk_updated_at = models.DateTimeField(null=True, blank=True)
    # Who escalated the ticket, as the ticket stood when the console first saw it: the
    # Zendesk agent (its assignee, or the agent who filed it for the requester) and the
    # group it was in. Tier 2 sees the cases they or their group escalated.
    escalated_by_zendesk_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    escalation_group_id = models.BigIntegerField(null=True, blank=True, db_index=True)

    category = models.CharField(max_length=32, choices=Category.choices, default=Category.OTHER)
    category_set_by_staff = models.BooleanField(default=False)
    state = models.CharField(max_length=32, choices=State.choices, default=State.NEW)
    priority = models.CharField(max_length=16, choices=Priority.choices,
                                default=Priority.NORMAL)
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="assigned_cases")

    first_response_due = models.DateTimeField(null=True, blank=True)
    resolution_due = models.DateTimeField(null=True, blank=True)
    first_responded_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    stripe_customer_id = models.CharField(max_length=255, blank=True, db_index=True)
    stripe_link = models.CharField(max_length=16, choices=StripeLink.choices,
                                   default=StripeLink.NONE)
    stripe_candidates = models.JSONField(default=list, blank=True)

    resolution_code = models.CharField(max_length=32, choices=ResolutionCode.choices,
                                       blank=True)
    resolution_summary = models.TextField(blank=True)

    # The ticket's life in Zendesk (`cases.lifecycle`): the ticket it was merged into, the
    # closed ticket it follows up, and what Zendesk did not take because the ticket is closed.
    merged_into_ticket_id = models.BigIntegerField(null=True, blank=True)
    follow_up_of_ticket_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    undelivered = models.TextField(blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        indexes = [
            # The queue's default view: open cases by SLA due.
            models.Index(fields=["resolution_due", "id"], name="case_open_by_due",
                         condition=OPEN_CASE),
            # The queue filtered by category, in the same order, without walking past the
            # open cases of every other category.
            models.Index(fields=["category", "resolution_due", "id"],
                         name="case_open_category_by_due", condition=OPEN_CASE),
            models.Index(fields=["state", "resolution_due", "id"]),
            models.Index(fields=["assignee", "state", "resolution_due"]),
            models.Index(fields=["category", "state"]),
            # Search by email ignores case, comparing UPPER() of both sides.
            models.Index(Upper("requester_email"), name="case_email_upper"),
            # Queue health: the oldest unassigned open case, and the week's first responses.
            models.Index(fields=["zendesk_created_at", "id"], name="case_open_unassigned_by_age",
                         condition=OPEN_CASE & Q(assignee__isnull=True)),
            models.Index(fields=["first_responded_at"], name="case_first_responded_at"),
            # The shift handover: the cases opened since a moment, newest first.
            models.Index(fields=["created_at", "id"], name="case_by_created"),
        ]

    def __str__(self):
        return f"Case #{self.pk} (ticket {self.zendesk_ticket_id})"

    @property
    def is_open(self):
        return self.state in OPEN_STATES

    @property
    def is_merged(self):
        """Closed in Zendesk by merging its ticket into another (`merged_into_ticket_id`
        names it once the merge note has been read)."""
        return self.zendesk_status == "closed" and "closed_by_merge" in (self.tags or ())


class CaseStateCount(models.Model):
    """How many cases each state holds, kept by PostgreSQL as cases change, so that the
    queue's tabs and health never count the cases table (`cases.selectors.state_counts`).

    Triggers on `cases_case` (migration 0008) add a row of +n or -n for every insert,
    delete, truncate and change of state, in the writer's own transaction; a state's count
    is the SUM of its rows. Delta rows rather than one counter row per state: a counter row
    would be locked by every transaction that opens a case or moves one, until it commits,
    so the Zendesk sync, webhooks and specialists would queue behind each other on the
    "new" row, and two transactions moving cases in opposite directions (new → triaged,
    triaged → new) would deadlock. An insert locks nothing another writer waits for.
    Readers fold the rows back into one per state now and then (`compact_state_counts`),
    so the SUM stays over a few hundred rows at most.

    Not managed by Django: the migration creates the table and its triggers together (on
    PostgreSQL only), and the test suite's flush must not empty it behind the triggers'
    back; a flush empties `cases_case`, whose TRUNCATE trigger empties this table. SQLite,
    the embedded default, has no such table: there the counts are counted."""

    state = models.CharField(max_length=32)
    count = models.BigIntegerField()

    class Meta:
        managed = False
        db_table = "cases_casestatecount"

    def __str__(self):
        return f"{self.state}: {self.count:+d}"


class CaseEvent(models.Model):
    """One entry of a case's timeline."""

    class Kind(models.TextChoices):
        COMMENT = "comment", "Zendesk comment"
        STATE = "state", "State change"
        ASSIGNMENT = "assignment", "Assignment"
        NOTE = "note", "Console note"
        SYNC = "sync", "Zendesk sync"
        LINK = "link", "Stripe customer link"
        MONEY = "money", "Money action"
        STRIPE = "stripe", "Stripe event"

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    created_at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+")
    body = models.TextField(blank=True)
    public = models.BooleanField(default=False)
    zendesk_comment_id = models.BigIntegerField(null=True, blank=True)
    zendesk_author_id = models.BigIntegerField(null=True, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["case", "-created_at", "-id"])]
        constraints = [
            models.UniqueConstraint(fields=["case", "zendesk_comment_id"],
                                    name="case_event_comment_once",
                                    condition=Q(zendesk_comment_id__isnull=False)),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} on case {self.case_id}"


class SlaTarget(models.Model):
    """Hours to first response and to resolution, by priority; admins edit them."""

    priority = models.CharField(max_length=16, choices=Priority.choices, unique=True)
    first_response_hours = models.PositiveIntegerField()
    resolution_hours = models.PositiveIntegerField()

    def __str__(self):
        return f"{self.get_priority_display()}: {self.first_response_hours} h / " \
               f"{self.resolution_hours} h"


class IntakeRule(models.Model):
    """Which Zendesk tickets become cases. One row; admins edit it."""

    class Match(models.TextChoices):
        TAG = "tag", "Tickets with a tag"
        GROUP = "group", "Tickets in a group"
        ALL = "all", "All tickets"

    match = models.CharField(max_length=8, choices=Match.choices, default=Match.TAG)
    tag = models.CharField(max_length=80, default="billing_escalation", blank=True)
    group_id = models.BigIntegerField(null=True, blank=True)

    def __str__(self):
        return self.get_match_display()


class SyncState(models.Model):
    """Where the Zendesk export stands, and how the last run went. One row."""

    cursor = models.CharField(max_length=512, blank=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    newest_ticket_updated_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"Zendesk sync, last run {self.last_run_at or 'never'}"


class WriteBack(models.Model):
    """A change for the Zendesk ticket, kept until Zendesk confirms it.

    The row is the outbox, under the one outbox rule (`billing_console.integrations.outbox`):
    a worker claims it as `sending` under a row lock before calling Zendesk, so two workers
    never post the same comment; a sweeper sends again what is pending, failed, or claimed
    by a worker that was lost.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed, will retry"
        # The ticket is closed in Zendesk, which takes no update to it: not retried.
        FOLLOWED_UP = "followed_up", "Sent as a follow-up ticket (the ticket is closed)"
        UNDELIVERABLE = "undeliverable", "Not delivered: the ticket is closed"

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="write_backs")
    note = models.TextField(blank=True)
    # The note as sanitised HTML (Markdown written in the console), sent as `html_body`.
    note_html = models.TextField(blank=True)
    public = models.BooleanField(default=False)
    add_tags = models.JSONField(default=list, blank=True)
    # Tags taken off the ticket in the same update (the console's other state tags).
    remove_tags = models.JSONField(default=list, blank=True)
    zendesk_status = models.CharField(max_length=16, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # When a worker claimed it; set only while `sending`.
    claimed_at = models.DateTimeField(null=True, blank=True)
    # The follow-up ticket that carried it, when its own ticket was closed.
    follow_up_ticket_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self):
        return f"Write-back {self.pk} to ticket of case {self.case_id} ({self.status})"


class ReplyTemplate(models.Model):
    """A public reply a specialist starts from, on a money action's form or when resolving;
    admins edit them. Its placeholders (`cases.replies.PLACEHOLDERS`) are filled in from
    the case and the money moved on it; `resolution_code` is the resolution it goes with,
    so that it is the one chosen after such an action, and `money_action_kind` a kind of
    money action (its slug) it is chosen for before the resolution's others: a
    cancellation with a refund resolves as a subscription changed, and its reply says the
    money is on its way."""

    name = models.CharField(max_length=120, unique=True)
    body = models.TextField(help_text="Placeholders: {first_name}, {requester_name}, "
                                      "{ticket_id}, {amount}, {charge}, {card}, {invoice}, "
                                      "{arrival}.")
    resolution_code = models.CharField(
        max_length=32, choices=ResolutionCode.choices, blank=True,
        help_text="The resolution it is chosen for, after a money action of that kind.")
    # Seeded, not edited: a kind is code's, and a template renamed or reworded keeps it.
    money_action_kind = models.CharField(
        max_length=32, blank=True,
        help_text="The kind of money action it is chosen for first, of its resolution's.")
    active = models.BooleanField(default=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "name"]

    def __str__(self):
        return self.name

    def render_for(self, case, money=None, *, sees_card=False):
        """The body filled in for `case` and `money` (a `cases.replies.MoneyFacts`, or
        None), the card's digits only when `sees_card` (plain text, escaped later)."""
        return fill(self.body, reply_words(case, money, sees_card=sees_card))
