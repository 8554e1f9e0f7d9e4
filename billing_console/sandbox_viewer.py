"""Where a link to a Stripe object or a Zendesk ticket goes, and, in the demo, a read-only
page showing the sandbox's copy of it.

- Real Stripe: the Dashboard, in test mode (`/test/…`) when the key is a test key.
- Real Zendesk: the agent UI.
- The demo's sandboxes (SANDBOX_VIEWER, which `make run` sets): neither has such pages, so
  the link opens `/sandbox/stripe/<id>/` or `/sandbox/zendesk/tickets/<id>/`, a table of the
  object's fields. Zendesk's content is written by customers: the page escapes every value.
  The pages read only a sandbox on this machine, never the real services.
"""

import base64
import json
import urllib.error
import urllib.request
from urllib.parse import quote, urlsplit

from django.conf import settings
from django.shortcuts import render

from billing_console.access import Capability, requires
from billing_console.exceptions import PageNotFound

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
LIVE_DASHBOARD = "https://dashboard.stripe.com"
TEST_KEY_PREFIXES = ("sk_test_", "rk_test_")
# The API list each kind of Stripe id is read from, by the id's prefix.
STRIPE_RESOURCES = {
    "cus_": "customers", "sub_": "subscriptions", "in_": "invoices", "ch_": "charges",
    "py_": "charges", "pi_": "payment_intents", "re_": "refunds", "pyr_": "refunds",
    "cn_": "credit_notes", "dp_": "disputes", "du_": "disputes", "ii_": "invoiceitems",
    "txr_": "tax_rates", "price_": "prices", "prod_": "products", "evt_": "events",
}
TIMEOUT_SECONDS = 10


def viewing(api_base):
    """Whether links to the service at `api_base` open the sandbox viewer: the demo asks
    for it, and the service is a sandbox (they listen on this machine only)."""
    return settings.SANDBOX_VIEWER and urlsplit(api_base or "").hostname in LOOPBACK_HOSTS


def stripe_dashboard():
    """The Dashboard's base URL for the configured key: test mode for a test key. An
    explicit STRIPE_DASHBOARD_URL wins."""
    if settings.STRIPE_DASHBOARD_URL:
        return settings.STRIPE_DASHBOARD_URL.rstrip("/")
    test_mode = settings.STRIPE_API_KEY.startswith(TEST_KEY_PREFIXES)
    return f"{LIVE_DASHBOARD}/test" if test_mode else LIVE_DASHBOARD


def stripe_resource(object_id):
    """The API list `object_id` belongs to ("charges"), or None for an id the viewer does
    not know. Longest prefix first: `pyr_` before `py_`."""
    for prefix in sorted(STRIPE_RESOURCES, key=len, reverse=True):
        if object_id.startswith(prefix):
            return STRIPE_RESOURCES[prefix]
    return None


@requires(Capability.VIEW_CASE_AUDIT)  # who sees Stripe ids: specialists, finance, admins
def stripe_object(request, object_id):
    resource = stripe_resource(object_id)
    if not viewing(settings.STRIPE_API_BASE) or resource is None:
        raise PageNotFound("There is no sandbox page for this Stripe object: the demo shows "
                           "the kinds its Stripe sandbox keeps, and outside the demo a "
                           "link opens Stripe's Dashboard.")
    url = f"{settings.STRIPE_API_BASE.rstrip('/')}/v1/{resource}/{quote(object_id, safe='')}"
    authorization = f"Bearer {settings.STRIPE_API_KEY}"
    return _page(request, "Stripe sandbox", object_id,
                 lambda: {"rows": flatten(_get_json(url, authorization))})


# Every role works alongside Zendesk, Tier 2 in it: anyone with a role follows a ticket
# link (one signed in without a role sees nothing of the console). The page exists only in
# the demo (SANDBOX_VIEWER), over the sandbox's made-up tickets.
@requires(Capability.READ_GUIDANCE)  # every role has it
def zendesk_ticket(request, ticket_id):
    if not viewing(settings.ZENDESK_API_URL):
        raise PageNotFound("Zendesk tickets open in Zendesk itself: only the demo shows its "
                           "sandbox's tickets here.")
    base = f"{settings.ZENDESK_API_URL.rstrip('/')}/api/v2/tickets/{ticket_id}"
    login = base64.b64encode(
        f"{settings.ZENDESK_EMAIL}/token:{settings.ZENDESK_API_TOKEN}".encode()).decode()
    return _page(request, "Zendesk sandbox", f"ticket #{ticket_id}", lambda: {
        "rows": flatten(_get_json(f"{base}.json", f"Basic {login}")["ticket"]),
        "comments": _get_json(f"{base}/comments.json", f"Basic {login}")["comments"]})


def _page(request, source, name, read):
    """The viewer's page for `name`, with what `read()` returns; a 502 page saying so when
    the sandbox is down."""
    context = {"source": source, "name": name}
    try:
        context.update(read())
    except SandboxUnavailable as error:
        context["error"] = str(error)
        return render(request, "sandbox/object.html", context, status=502)
    return render(request, "sandbox/object.html", context)


def flatten(value, prefix=""):
    """[(field, text)] for a JSON object: nested fields as `a.b`, list items as `a[0]`,
    lists of plain values joined with commas, nothing left out."""
    if isinstance(value, dict):
        return [row for key, item in value.items()
                for row in flatten(item, f"{prefix}.{key}" if prefix else str(key))]
    if isinstance(value, list) and any(isinstance(item, dict | list) for item in value):
        return [row for index, item in enumerate(value)
                for row in flatten(item, f"{prefix}[{index}]")]
    if isinstance(value, list):
        return [(prefix, ", ".join(map(str, value)))]
    return [(prefix, "" if value is None else str(value))]


def _get_json(url, authorization):
    request = urllib.request.Request(  # noqa: S310 - a sandbox on loopback (viewing)
        url, headers={"Authorization": authorization, "Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
            return json.loads(response.read())
    except urllib.error.HTTPError as error:
        if error.code == 404:
            raise PageNotFound("The sandbox has no such object: it may be from an earlier run "
                               "of the demo, whose sandboxes start empty.") from error
        raise SandboxUnavailable(f"The sandbox answered {error.code}.") from error
    except OSError as error:
        raise SandboxUnavailable("The sandbox did not answer.") from error


class SandboxUnavailable(Exception):
    """The sandbox is down or failed: the page says so (502) rather than failing."""
