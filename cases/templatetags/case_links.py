"""Links from the case page to Stripe's Dashboard and Zendesk's agent UI, and Stripe times."""

from datetime import UTC, datetime

from django import template
from django.conf import settings

register = template.Library()

# The Dashboard page for each kind of Stripe id. Refunds, disputes and credit notes have
# no page of their own that every account can open; they show on their charge's or
# invoice's page, which the templates link instead.
DASHBOARD_PATHS = {
    "cus_": "customers",
    "sub_": "subscriptions",
    "in_": "invoices",
    "ch_": "payments",
    "py_": "payments",
    "pi_": "payments",
}


@register.filter
def stripe_url(object_id):
    """{{ charge.id|stripe_url }} -> https://dashboard.stripe.com/test/payments/ch_…"""
    for prefix, path in DASHBOARD_PATHS.items():
        if str(object_id or "").startswith(prefix):
            return f"{settings.STRIPE_DASHBOARD_URL.rstrip('/')}/{path}/{object_id}"
    return ""


@register.filter
def zendesk_ticket_url(ticket_id):
    """{{ case.zendesk_ticket_id|zendesk_ticket_url }}, or "" when Zendesk is not set up."""
    if not settings.ZENDESK_AGENT_URL:
        return ""
    return f"{settings.ZENDESK_AGENT_URL}{ticket_id}"


@register.filter
def unix_time(seconds):
    """Stripe's Unix timestamps as aware datetimes, for the `date` filter."""
    if seconds in (None, ""):
        return None
    return datetime.fromtimestamp(int(seconds), tz=UTC)
