"""Where links to Stripe and Zendesk go: the Dashboard in test mode for a test key, the live
one otherwise; in the demo, the console's read-only page of the sandbox's copy, escaped."""

import socket

import pytest

from cases.templatetags.case_links import stripe_pages_name, stripe_url, zendesk_ticket_url
from tests.conftest import signed_in

HOSTILE = '<img src=x onerror="alert(1)">'


@pytest.mark.parametrize(("key", "expected"), [
    ("sk_test_abc", "https://dashboard.stripe.com/test/payments/ch_1"),
    ("rk_test_abc", "https://dashboard.stripe.com/test/payments/ch_1"),
    ("sk_live_abc", "https://dashboard.stripe.com/payments/ch_1"),
    ("rk_live_abc", "https://dashboard.stripe.com/payments/ch_1"),
])
def test_stripe_links_go_to_the_dashboard_of_the_keys_mode(settings, key, expected):
    settings.STRIPE_API_KEY, settings.STRIPE_DASHBOARD_URL = key, ""
    assert stripe_url("ch_1") == expected


def test_an_explicit_dashboard_url_wins(settings):
    settings.STRIPE_API_KEY = "sk_live_abc"
    settings.STRIPE_DASHBOARD_URL = "https://dashboard.stripe.com/acct_1/test"
    assert stripe_url("cus_1") == "https://dashboard.stripe.com/acct_1/test/customers/cus_1"


@pytest.fixture
def demo_links(settings):
    settings.SANDBOX_VIEWER = True


def test_in_the_demo_links_open_the_sandbox_viewer(settings, demo_links):
    settings.STRIPE_API_BASE = "http://127.0.0.1:12111"
    settings.ZENDESK_API_URL = "http://127.0.0.1:12112"
    assert stripe_url("ch_1") == "/sandbox/stripe/ch_1/"
    assert stripe_url("not an id") == ""
    assert zendesk_ticket_url(6) == "/sandbox/zendesk/tickets/6/"


def test_the_case_pages_note_says_where_its_stripe_links_open(settings, demo_links):
    """Before, the case page said refunds "open on their … Dashboard page" in the demo,
    whose links open the sandbox viewer."""
    settings.STRIPE_API_BASE = "http://127.0.0.1:12111"
    assert stripe_pages_name() == "the console's view of the Stripe sandbox"
    settings.STRIPE_API_BASE = "https://api.stripe.com"
    assert stripe_pages_name() == "the Stripe Dashboard"


def test_the_viewer_never_stands_in_for_the_real_services(settings, demo_links, specialist):
    settings.STRIPE_API_BASE, settings.STRIPE_API_KEY = "https://api.stripe.com", "sk_test_a"
    settings.ZENDESK_API_URL = "https://acme.zendesk.com"
    assert stripe_url("ch_1").startswith("https://dashboard.stripe.com/test/")
    client = signed_in(specialist)
    assert client.get("/sandbox/stripe/ch_1/").status_code == 404
    assert client.get("/sandbox/zendesk/tickets/6/").status_code == 404


def test_a_stripe_object_reads_as_a_table_of_its_fields_escaped(stripe_sandbox, demo_links,
                                                               actors):
    customer = stripe_sandbox.v1.customers.create(
        params={"email": "ava@example.com", "name": HOSTILE})
    page = signed_in(actors["specialist"]).get(f"/sandbox/stripe/{customer.id}/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "<code>email</code></th><td>ava@example.com</td>" in html
    assert HOSTILE not in html and "&lt;img src=x" in html
    for role in ("finance", "admin"):
        assert signed_in(actors[role]).get(f"/sandbox/stripe/{customer.id}/").status_code == 200
    for role in ("tier2", "outsider"):
        assert signed_in(actors[role]).get(f"/sandbox/stripe/{customer.id}/").status_code == 403
    specialist = signed_in(actors["specialist"])
    assert specialist.get("/sandbox/stripe/cus_missing/").status_code == 404
    assert specialist.get("/sandbox/stripe/zz_unknown/").status_code == 404


def test_a_zendesk_ticket_reads_with_its_conversation_escaped(zendesk_sandbox, demo_links,
                                                              actors, client):
    ticket = zendesk_sandbox.create_ticket(subject=HOSTILE,
                                           comment={"body": f"Hello {HOSTILE}"})
    for role in ("specialist", "tier2", "finance", "admin"):
        page = signed_in(actors[role]).get(f"/sandbox/zendesk/tickets/{ticket['id']}/")
        assert page.status_code == 200, role
    assert client.get(f"/sandbox/zendesk/tickets/{ticket['id']}/").status_code == 302
    outsider = signed_in(actors["outsider"]).get(f"/sandbox/zendesk/tickets/{ticket['id']}/")
    assert outsider.status_code == 403  # signed in with no role: nothing of the console
    html = page.content.decode()
    assert "<code>subject</code></th><td>&lt;img src=x" in html
    assert "Hello &lt;img src=x" in html and HOSTILE not in html


def test_a_sandbox_that_is_down_gets_a_page_saying_so(settings, demo_links, specialist):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        settings.STRIPE_API_BASE = f"http://127.0.0.1:{sock.getsockname()[1]}"
    page = signed_in(specialist).get("/sandbox/stripe/ch_1/")
    assert page.status_code == 502
    assert "The sandbox did not answer." in page.content.decode()
