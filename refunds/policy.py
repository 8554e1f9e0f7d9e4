"""The money policy's rules. Each returns a `Verdict` that says, in words, whether the
action needs approval and why.

The policy admins edit for refunds governs every action that gives money back (a credit
memo is a refund by other means): `money_verdicts` holds the rules for any such action;
`evaluate` adds the ones that only make sense for a charge."""

from datetime import UTC, datetime, timedelta

from django.db.models import Sum
from django.utils import timezone

from billing_console.access import roles_of
from billing_console.money import format_amount
from money_actions.models import COMMITTED_STATES, GIVING_BACK_KINDS, MoneyAction
from money_actions.policy import Verdict
from refunds.models import CurrencyLimit, ExternalRefund, RefundPolicy, RoleLimit, StripeReason


def evaluate(*, charge, amount, stripe_reason, requester):
    """A refund of `amount` on `charge`."""
    return [*money_verdicts(amount=amount, currency=charge.currency,
                            customer_id=charge.customer, stripe_reason=stripe_reason,
                            requester=requester),
            charge_age_verdict(RefundPolicy.current(), charge)]


def money_verdicts(*, amount, currency, customer_id, stripe_reason, requester):
    """Any action giving `amount` back to a customer."""
    policy = RefundPolicy.current()
    limit = CurrencyLimit.objects.filter(currency=currency.lower()).first()
    return [
        currency_limit_verdict(limit, amount, currency),
        role_limit_verdict(requester, amount, currency),
        customer_total_verdict(policy, limit, customer_id, currency, amount),
        fraud_verdict(policy, stripe_reason),
    ]


def currency_limit_verdict(limit, amount, currency):
    if limit is None:
        return Verdict("currency_limit", True,
                       f"{currency.upper()} has no auto-approve limit, so everything given "
                       "back in it needs approval.")
    shown = format_amount(limit.auto_approve_limit, currency)
    if amount > limit.auto_approve_limit:
        return Verdict("currency_limit", True, f"Above the auto-approve limit of {shown}.")
    return Verdict("currency_limit", False, f"Within the auto-approve limit of {shown}.")


def role_limit_verdict(requester, amount, currency):
    roles = [role.value for role in roles_of(requester)]
    limits = RoleLimit.objects.filter(role__in=roles, currency=currency.lower())
    highest = max((limit.limit for limit in limits), default=None)
    if highest is None:
        return Verdict("role_limit", False,
                       f"No role limit is set for your role in {currency.upper()}.")
    shown = format_amount(highest, currency)
    if amount > highest:
        return Verdict("role_limit", True, f"Above your role's limit of {shown}.")
    return Verdict("role_limit", False, f"Within your role's limit of {shown}.")


def charge_age_verdict(policy, charge):
    age = timezone.now() - datetime.fromtimestamp(charge.created, tz=UTC)
    if age > timedelta(days=policy.charge_age_days):
        return Verdict("charge_age", True,
                       f"The charge is {age.days} days old, more than "
                       f"{policy.charge_age_days}: check the card can still take a refund.",
                       warning=True)
    return Verdict("charge_age", False, f"The charge is {age.days} days old, within "
                                        f"{policy.charge_age_days}.")


def customer_total_verdict(policy, limit, customer_id, currency, amount):
    days = policy.customer_window_days
    if limit is None:
        return Verdict("customer_total", False,
                       f"No {days}-day customer limit is set in {currency.upper()}.")
    total = customer_given_back(customer_id, currency, days) + amount
    shown_total = format_amount(total, currency)
    shown_limit = format_amount(limit.customer_window_limit, currency)
    if total > limit.customer_window_limit:
        return Verdict("customer_total", True, f"With this one, what the customer got back in "
                                               f"{days} days comes to {shown_total}, above "
                                               f"{shown_limit}.")
    return Verdict("customer_total", False, f"With this one, what the customer got back in "
                                            f"{days} days comes to {shown_total}, within "
                                            f"{shown_limit}.")


def customer_given_back(customer_id, currency, days):
    """Refunds and credits to the customer in the window: the console's, and refunds made
    outside it."""
    since = timezone.now() - timedelta(days=days)
    console = MoneyAction.objects.filter(
        kind__in=GIVING_BACK_KINDS, stripe_customer_id=customer_id, currency=currency.lower(),
        state__in=COMMITTED_STATES, created_at__gte=since).aggregate(total=Sum("amount"))
    external = ExternalRefund.objects.filter(
        stripe_customer_id=customer_id, currency=currency.lower(), status="succeeded",
        recorded_at__gte=since).aggregate(total=Sum("amount"))
    return (console["total"] or 0) + (external["total"] or 0)


def fraud_verdict(policy, stripe_reason):
    if stripe_reason == StripeReason.FRAUDULENT and policy.fraudulent_needs_approval:
        return Verdict("fraud", True, "Refunds for fraud always need approval.")
    return Verdict("fraud", False, "Not marked as fraudulent.")
