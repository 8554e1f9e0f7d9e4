"""The gateway pins the Stripe API version it sends, in one place, and the README tells
whoever sets up the webhook endpoint to create it with the same version."""

from pathlib import Path

import pytest
from django.conf import settings

from billing_console.integrations.stripe import gateway


@pytest.fixture
def fresh_clients():
    """Clients built for this test, so a changed pin is what they send."""
    gateway._cached_client.cache_clear()
    yield
    gateway._cached_client.cache_clear()


def versions_sent(sandbox):
    return [request["headers"].get("Stripe-Version")
            for request in sandbox.requests_to("/v1/customers")]


def test_the_gateway_sends_the_pinned_stripe_version(sandbox, fresh_clients):
    gateway.find_customers_by_email(email="ava@example.com")

    assert versions_sent(sandbox) == [gateway.STRIPE_API_VERSION]


def test_the_pin_not_the_sdks_default_decides_the_version_sent(sandbox, fresh_clients,
                                                               monkeypatch):
    # stripe-python 16.1 would send 2026-10-28.endive by itself.
    monkeypatch.setattr(gateway, "STRIPE_API_VERSION", "2024-10-28.acacia")

    gateway.find_customers_by_email(email="ava@example.com")

    assert versions_sent(sandbox) == ["2024-10-28.acacia"]


def test_the_pin_is_at_least_the_version_that_sends_card_refund_failures_as_refund_events():
    assert gateway.STRIPE_API_VERSION.split(".")[0] >= "2024-10-28"


def test_the_readme_names_the_pinned_version_for_the_webhook_endpoint():
    readme = " ".join((Path(settings.BASE_DIR) / "README.md").read_text().split())
    assert f"webhook endpoint (Dashboard, Developers, Webhooks; or the API) with API version " \
           f"`{gateway.STRIPE_API_VERSION}`" in readme
