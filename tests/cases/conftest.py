"""Fixtures of the cases tests."""

import pytest


@pytest.fixture
def zendesk_sandbox(zendesk_sandbox, settings):
    """The shared Zendesk sandbox, with Stripe unreachable: nothing the sync does in a
    test may reach Stripe, so a stray lookup fails at once instead."""
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"
    settings.STRIPE_API_KEY = "sk_test_unreachable"
    return zendesk_sandbox
