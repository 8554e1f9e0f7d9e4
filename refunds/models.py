"""The refund policy admins edit, the internal reason codes, and refunds made outside the
console. Refund requests themselves are `money_actions.MoneyAction` rows of kind refund."""

from django.db import models

from billing_console.access import Role

ROLE_CHOICES = [(role.value, role.label) for role in Role]


class StripeReason(models.TextChoices):
    REQUESTED_BY_CUSTOMER = "requested_by_customer", "Requested by customer"
    DUPLICATE = "duplicate", "Duplicate"
    FRAUDULENT = "fraudulent", "Fraudulent"


class RefundPolicy(models.Model):
    """The rules that are not per currency; there is one row (see `current`)."""

    charge_age_days = models.PositiveIntegerField(
        default=180, help_text="Refunds of charges older than this need approval.")
    customer_window_days = models.PositiveIntegerField(
        default=30, help_text="The window in which a customer's refunds are added up.")
    fraudulent_needs_approval = models.BooleanField(default=True)
    duplicate_window_hours = models.PositiveIntegerField(
        default=24, help_text="Charges of the same amount this close suggest a duplicate.")

    class Meta:
        verbose_name_plural = "refund policy"

    def __str__(self):
        return "Refund policy"

    @classmethod
    def current(cls):
        return cls.objects.get_or_create(pk=1)[0]


class CurrencyLimit(models.Model):
    """Per currency, in minor units. A currency without a row always needs approval."""

    currency = models.CharField(max_length=3, unique=True,
                                help_text="ISO 4217, lower case, as Stripe writes it.")
    auto_approve_limit = models.BigIntegerField(
        help_text="Refunds above this need approval (minor units).")
    customer_window_limit = models.BigIntegerField(
        help_text="One customer's refunds in the window above this need approval.")

    class Meta:
        ordering = ["currency"]

    def __str__(self):
        return self.currency.upper()

    def save(self, *args, **kwargs):
        self.currency = self.currency.lower()
        super().save(*args, **kwargs)


class RoleLimit(models.Model):
    """A requesting role's own limit, per currency, in minor units."""

    role = models.CharField(max_length=32, choices=ROLE_CHOICES)
    currency = models.CharField(max_length=3)
    limit = models.BigIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["role", "currency"],
                                               name="role_limit_once_per_currency")]

    def __str__(self):
        return f"{self.role} {self.currency.upper()}"

    def save(self, *args, **kwargs):
        self.currency = self.currency.lower()
        super().save(*args, **kwargs)


class ReasonCode(models.Model):
    code = models.SlugField(max_length=64, unique=True)
    label = models.CharField(max_length=120)
    active = models.BooleanField(default=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "label"]

    def __str__(self):
        return self.label


class ExternalRefund(models.Model):
    """A refund made outside the console (the Stripe Dashboard), learnt from a webhook."""

    stripe_refund_id = models.CharField(max_length=255, unique=True)
    charge_id = models.CharField(max_length=255, blank=True)
    stripe_customer_id = models.CharField(max_length=255, blank=True, db_index=True)
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=32)
    case = models.ForeignKey("cases.Case", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.stripe_refund_id
