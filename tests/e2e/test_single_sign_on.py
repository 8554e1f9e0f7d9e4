"""Single sign-on in Chromium, against a real OpenID Connect provider on loopback: a
specialist lands on the queue, someone in no mapped group gets "no access", and a group
taken away at the provider takes the role away at the next renewal."""

import time

import pytest

from tests.oidc.conftest import point_console_at, start_provider

RENEW_SECONDS = 3


@pytest.fixture
def provider(live_server, settings):
    running = start_provider([f"{live_server.url}/sso/callback/"])
    point_console_at(settings, running, renew_seconds=RENEW_SECONDS)
    yield running
    running.stop()


def _sign_in_with_the_provider(page, username, password):
    page.goto("/accounts/login/")
    page.click("#sso-sign-in")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def test_a_specialist_signs_in_and_lands_on_the_queue(provider, page, live_server):
    _sign_in_with_the_provider(page, "alex", "alex-password")
    assert page.url == f"{live_server.url}/cases/"
    # The header names the person by the name the provider gave, not the username.
    assert "Alex Rivera · Billing specialist" in page.locator(".who").inner_text()
    assert page.locator("nav[aria-label=Sections] a").first.inner_text() == "Queue"
    assert page.console_errors == []


def test_someone_in_no_mapped_group_gets_no_access(provider, page, live_server):
    _sign_in_with_the_provider(page, "eve", "eve-password")
    assert page.locator("h1").inner_text() == "No access to the Billing Console"
    assert page.locator(".who").count() == 0  # no session: nobody is shown signed in
    page.goto("/cases/")
    assert page.url.startswith(f"{live_server.url}/accounts/login/")


def test_a_group_removed_at_the_provider_takes_the_role_at_the_next_renewal(
        provider, page, live_server):
    _sign_in_with_the_provider(page, "alex", "alex-password")
    assert page.url == f"{live_server.url}/cases/"
    provider.set_groups("alex", ["marketing"])
    page.reload()
    assert page.url == f"{live_server.url}/cases/"  # the renewal is not due yet
    time.sleep(RENEW_SECONDS + 0.5)
    page.goto("/cases/")  # due: to the provider without a prompt, and back
    assert page.locator("h1").inner_text() == "No access to the Billing Console"
    page.goto("/cases/")
    assert page.url.startswith(f"{live_server.url}/accounts/login/")
