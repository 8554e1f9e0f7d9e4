"""One row per money action, whatever its kind; the row is also its own outbox."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from billing_console.access import Role
from money_actions.kinds import kind_of

ROLE_CHOICES = [(role.value, role.label) for role in Role]


class State(models.TextChoices):
    DRAFT = "draft", "Draft"
    PENDING_APPROVAL = "pending_approval", "Waiting for approval"
    APPROVED = "approved", "Approved"
    SUBMITTING = "submitting", "Submitting to Stripe"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    REQUIRES_ACTION = "requires_action", "Requires action"
    CANCELED = "canceled", "Canceled"


# Each state as the rest of a sentence about an action: "This refund has already succeeded"
# (a state's label after "is" would read "is succeeded").
STATE_SAID = {
    State.DRAFT: "is still a draft", State.PENDING_APPROVAL: "is waiting for approval",
    State.APPROVED: "has been approved already", State.SUBMITTING: "is being submitted to Stripe",
    State.SUCCEEDED: "has already succeeded", State.FAILED: "has failed",
    State.REQUIRES_ACTION: "needs action in Stripe", State.CANCELED: "has been canceled",
}

# States whose amount is spoken for: counted against what a charge can still give back.
COMMITTED_STATES = (State.PENDING_APPROVAL, State.APPROVED, State.SUBMITTING,
                    State.REQUIRES_ACTION, State.SUCCEEDED)
# Committed, but not yet visible in Stripe's own totals.
IN_FLIGHT_STATES = (State.PENDING_APPROVAL, State.APPROVED, State.SUBMITTING,
                    State.REQUIRES_ACTION)


class MoneyAction(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # A registered kind's slug (money_actions.kinds): kinds are declared by their apps, so
    # the column has no choices and a new kind needs no migration.
    kind = models.CharField(max_length=32)
    state = models.CharField(max_length=32, choices=State.choices, default=State.DRAFT)
    # The case, the customer and the requester are each indexed with the time (Meta).
    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT,
                             related_name="money_actions", db_index=False)
    stripe_customer_id = models.CharField(max_length=255)
    # The Stripe object acted on (a charge for a refund, an invoice for a credit memo).
    stripe_target_id = models.CharField(max_length=255, db_index=True)
    # The target as people name it ("invoice ACME-0012", "the charge of 30.00 USD on 30 Nov
    # 2026"; `billing_console.names.stripe_name`), read when requested: what pages and the
    # ticket's notes say instead of its id. A kind that `names_change` keeps the change
    # itself ("Console Team monthly × 5 → Console Pro annual × 3").
    target_name = models.CharField(max_length=255, blank=True)
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
                                     related_name="+", db_index=False)
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
    # When the log last warned that it was stuck on its way to Stripe
    # (`money_actions.tasks.warn_of_stuck_actions`): once per time it sets off.
    stuck_warned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["state", "updated_at"]),
            # Stuck on the way to Stripe (`selectors.stuck_on_the_way`): sent before a time.
            models.Index(fields=["state", "submitted_at"], name="money_action_by_submitted"),
            # The list (`selectors.money_actions_filtered`, newest first): each filter with
            # the time, so a page under any one filter, or a period, walks one index.
            models.Index(fields=["created_at", "id"], name="money_action_by_created"),
            *(models.Index(fields=[field, "created_at", "id"], name=f"money_action_by_{name}")
              for field, name in (("state", "state"), ("kind", "kind"), ("case", "case"),
                                  ("stripe_customer_id", "customer"),
                                  ("requested_by", "requester"))),
        ]
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
    def kind_def(self):
        """The registered `ActionKind` this row is one of."""
        return kind_of(self.kind)

    def get_kind_display(self):
        return self.kind_def.label

    @property
    def name(self):
        """How people name the action (`selectors.name_of`): "Plan change: customer pays
        1,375.00 USD now (Console Team monthly × 5 → Console Pro annual × 3)"."""
        from money_actions.selectors import name_of  # the selectors read this module

        return name_of(self)

    @property
    def idempotency_key(self):
        """Sent unchanged on every attempt, so Stripe acts on this row at most once."""
        return self.kind_def.idempotency_key(self.id)


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


class LedgerEntry(models.Model):
    """The ledger of Stripe money: one row per Stripe object that gives money back, takes
    it, or changes what a customer owes, however the console learnt of it (its own call, a
    webhook, the reconciler). Stripe is the source of truth for the amounts and statuses;
    the row adds who caused it: the money action (by metadata or idempotency key), or
    nobody, when it was made outside the console.

    Amounts are in the currency's minor unit. `amount` is as Stripe states it (a balance
    transaction is signed, negative being credit); `given_back` is what the customer got
    back or was let off by it, never negative. An object that only carries out another one
    (the refund or balance transaction of a credit note) names it in `settles` and is not
    counted again."""

    class Type(models.TextChoices):
        REFUND = "refund", "Refund"
        CREDIT_NOTE = "credit_note", "Credit note"
        BALANCE_TRANSACTION = "balance_transaction", "Balance transaction"
        DISPUTE = "dispute", "Dispute"
        INVOICE_STATUS = "invoice_status", "Invoice status change"

    class Learnt(models.TextChoices):
        CONSOLE = "console", "The console's own call"
        WEBHOOK = "webhook", "A Stripe webhook"
        RECONCILER = "reconciler", "The reconciler, finding a lost submission"

    entry_type = models.CharField(max_length=32, choices=Type.choices)
    stripe_id = models.CharField(max_length=255)
    # For an invoice status change: the status it moved to (void, uncollectible, paid).
    invoice_status = models.CharField(max_length=32, blank=True)
    stripe_customer_id = models.CharField(max_length=255, blank=True)
    # The object it belongs to: a refund's or dispute's charge, a credit note's invoice.
    parent_id = models.CharField(max_length=255, blank=True)
    settles = models.CharField(max_length=255, blank=True)
    amount = models.BigIntegerField(help_text="As Stripe states it, in minor units.")
    given_back = models.BigIntegerField(default=0, help_text="In minor units, never negative.")
    # Of `amount`, the tax Stripe states on the object (a credit note's `total_taxes`).
    tax = models.BigIntegerField(default=0, help_text="In minor units, part of the amount.")
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=32, blank=True)
    money_action = models.ForeignKey(MoneyAction, null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="ledger_entries")
    case = models.ForeignKey("cases.Case", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    learnt_from = models.CharField(max_length=16, choices=Learnt.choices)
    stripe_created_at = models.DateTimeField(help_text="When Stripe made it (UTC).")
    recorded_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-stripe_created_at"]
        constraints = [
            models.UniqueConstraint(fields=["entry_type", "stripe_id", "invoice_status"],
                                    name="ledger_entry_once_per_stripe_object"),
            models.CheckConstraint(condition=Q(given_back__gte=0),
                                   name="ledger_entry_given_back_not_negative"),
        ]
        indexes = [models.Index(fields=["stripe_customer_id", "currency",
                                        "stripe_created_at"]),
                   models.Index(fields=["parent_id"])]

    def __str__(self):
        return f"{self.get_entry_type_display()} {self.stripe_id}"

    @property
    def outside_console(self):
        return self.money_action_id is None


# The money policy admins edit --------------------------------------------------------------
# Kept in the tables they were first created in (the policy governed refunds first).


class MoneyPolicy(models.Model):
    """The rules that are not per currency; there is one row (see `current`)."""

    charge_age_days = models.PositiveIntegerField(
        default=180, help_text="Refunds of charges older than this need approval.")
    customer_window_days = models.PositiveIntegerField(
        default=30, help_text="The window in which what a customer got back is added up.")
    fraudulent_needs_approval = models.BooleanField(default=True)
    duplicate_window_hours = models.PositiveIntegerField(
        default=24, help_text="Charges of the same amount this close suggest a duplicate.")

    class Meta:
        db_table = "refunds_refundpolicy"
        verbose_name_plural = "money policy"

    def __str__(self):
        return "Money policy"

    @classmethod
    def current(cls):
        return cls.objects.get_or_create(pk=1)[0]


class CurrencyLimit(models.Model):
    """Per currency, in minor units. A currency without a row always needs approval."""

    currency = models.CharField(max_length=3, unique=True,
                                help_text="ISO 4217, lower case, as Stripe writes it.")
    auto_approve_limit = models.BigIntegerField(
        help_text="What is given back above this needs approval (minor units).")
    customer_window_limit = models.BigIntegerField(
        help_text="One customer's total given back in the window above this needs approval.")
    take_approval_limit = models.BigIntegerField(
        default=50_000, help_text="Money taken (a balance debit, an item added to a draft) "
                                  "above this needs approval (minor units).")
    take_cap = models.BigIntegerField(
        default=1_000_000, help_text="Money taken in one action can never be more than this "
                                     "(minor units): a larger amount is refused.")

    class Meta:
        db_table = "refunds_currencylimit"
        ordering = ["currency"]

    def __str__(self):
        return self.currency.upper()

    def save(self, *args, **kwargs):
        self.currency = self.currency.lower()
        super().save(*args, **kwargs)


class RoleLimit(models.Model):
    """A requesting role's own limit on what it gives back, per currency, in minor units."""

    role = models.CharField(max_length=32, choices=ROLE_CHOICES)
    currency = models.CharField(max_length=3)
    limit = models.BigIntegerField()

    class Meta:
        db_table = "refunds_rolelimit"
        constraints = [models.UniqueConstraint(fields=["role", "currency"],
                                               name="role_limit_once_per_currency")]

    def __str__(self):
        return f"{self.role} {self.currency.upper()}"

    def save(self, *args, **kwargs):
        self.currency = self.currency.lower()
        super().save(*args, **kwargs)


class ReasonCode(models.Model):
    """The console's own reason codes, given with every money action."""

    code = models.SlugField(max_length=64, unique=True)
    label = models.CharField(max_length=120)
    active = models.BooleanField(default=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        db_table = "refunds_reasoncode"
        ordering = ["position", "label"]

    def __str__(self):
        return self.label
