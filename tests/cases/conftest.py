"""Fixtures of the cases tests: the Zendesk sandbox, started in-process for each test
that asks for it, with the gateway's settings pointed at it (as the Zendesk contract tests
do)."""

import pytest

from tests.cases.zendesk_sandbox import SyncSandbox
from tests.contract.zendesk.conftest import EMAIL, TOKEN, start, stop


@pytest.fixture
def zendesk_sandbox_options():
    return {}


@pytest.fixture
def zendesk_sandbox(settings, zendesk_sandbox_options):
    server, thread = start(**zendesk_sandbox_options)
    running = SyncSandbox(server)
    settings.ZENDESK_API_URL = running.url
    settings.ZENDESK_SUBDOMAIN = "billing-console-test"
    settings.ZENDESK_EMAIL = EMAIL
    settings.ZENDESK_API_TOKEN = TOKEN
    # Nothing here may reach Stripe: a stray lookup fails at once instead.
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"
    settings.STRIPE_API_KEY = "sk_test_unreachable"
    yield running
    stop(server, thread)
