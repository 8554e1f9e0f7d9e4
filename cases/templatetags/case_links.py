"""Links from the case page to Stripe's Dashboard and Zendesk's agent UI, and Stripe times."""

import re
from datetime import UTC, datetime
from urllib.parse import urlencode

from django import template
from django.conf import settings
from django.urls import reverse

from billing_console.sandbox_viewer import stripe_dashboard, stripe_resource, viewing

register = template.Library()

# The Dashboard page for each kind of Stripe id. Refunds, disputes and credit notes have
# no page of their own that every account can open: the case page links their charge's or
# invoice's page instead, and the audit trail, which may hold only their id, searches.
STRIPE_ID = re.compile(r"[a-z]{2,8}_[A-Za-z0-9]+")
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
    """{{ charge.id|stripe_url }} -> https://dashboard.stripe.com/test/payments/ch_… (the
    test-mode Dashboard for a test key); an object without a page of its own (a refund, a
    credit note) opens the Dashboard's search for its id; against the demo's sandbox, the
    console's read-only page of the sandbox's copy; "" for anything that is not a Stripe id."""
    object_id = str(object_id or "")
    if viewing(settings.STRIPE_API_BASE):
        if not STRIPE_ID.fullmatch(object_id) or stripe_resource(object_id) is None:
            return ""
        return reverse("sandbox-stripe", args=[object_id])
    base = stripe_dashboard()
    for prefix, path in DASHBOARD_PATHS.items():
        if object_id.startswith(prefix):
            return f"{base}/{path}/{object_id}"
    if STRIPE_ID.fullmatch(object_id):
        return f"{base}/search?{urlencode({'query': object_id})}"
    return ""


@register.simple_tag
def stripe_pages_name():
    """Where `stripe_url`'s links open, to say so beside them: "the Stripe Dashboard", or,
    against the demo's sandbox, "the console's view of the Stripe sandbox"."""
    return "the console's view of the Stripe sandbox" if viewing(settings.STRIPE_API_BASE) \
        else "the Stripe Dashboard"


@register.filter
def zendesk_ticket_url(ticket_id):
    """{{ case.zendesk_ticket_id|zendesk_ticket_url }}: the agent UI's page, the console's
    read-only page against the demo's sandbox, or "" when Zendesk is not set up."""
    if viewing(settings.ZENDESK_API_URL):
        ticket = str(ticket_id or "")
        return reverse("sandbox-zendesk-ticket", args=[ticket]) if ticket.isdigit() else ""
    if not settings.ZENDESK_AGENT_URL:
        return ""
    return f"{settings.ZENDESK_AGENT_URL}{ticket_id}"


@register.filter
def unix_time(seconds):
    """Stripe's Unix timestamps as aware datetimes, for the `date` filter."""
    if seconds in (None, ""):
        return None
    return datetime.fromtimestamp(int(seconds), tz=UTC)
