"""The provider vouches again for a signed-in person once the renewal interval has passed:
their groups as they are then set their roles, and someone the provider no longer signs
in is signed out."""

import time

import pytest
from django.contrib.auth.models import User
from django.test import Client

from audit.models import AuditEvent
from billing_console.access import Role, roles_of
from oidc.services import SESSION_KEY
from tests.oidc.conftest import ProviderBrowser, query_of, sign_in_through

pytestmark = pytest.mark.django_db


def _due(client):
    """Make the client's single sign-on session due for renewal now."""
    session = client.session
    session[SESSION_KEY] = {"renew_at": time.time() - 1}
    session.save()


def _renew(client, browser, path="/cases/"):
    """Ask for `path` with the renewal due; follow the console to the provider (which must
    not prompt) and back. Returns the console's answer to the provider's redirect."""
    redirected = client.get(path)
    assert redirected.status_code == 302
    assert redirected.url.startswith("/sso/login/?renew=1")
    to_provider = client.get(redirected.url)
    assert query_of(to_provider.url)["prompt"] == "none"
    return client.get(browser.answer(to_provider.url))


@pytest.fixture
def alex(provider):
    """Alex signed in as a specialist: (client, their browser at the provider)."""
    client, browser = Client(), ProviderBrowser(provider)
    sign_in_through(client, browser, "alex", "alex-password")
    return client, browser


def test_the_renewal_is_due_fifteen_minutes_after_sign_in_by_default(alex, settings):
    client, _ = alex
    assert settings.OIDC_RENEW_ID_TOKEN_EXPIRY_SECONDS == 900
    assert client.session[SESSION_KEY]["renew_at"] == pytest.approx(time.time() + 900, abs=30)
    assert client.get("/cases/").status_code == 200  # not yet due: no detour


def test_a_renewal_with_the_same_groups_keeps_the_session_and_moves_the_next_one(alex):
    client, browser = alex
    key = client.session.session_key
    _due(client)
    answer = _renew(client, browser)
    assert answer.status_code == 302 and answer.url == "/cases/"
    assert client.get("/cases/").status_code == 200
    assert client.session.session_key == key  # renewed, not signed in again
    assert client.session[SESSION_KEY]["renew_at"] > time.time() + 800
    assert AuditEvent.objects.filter(action="auth.login").count() == 1


def test_removed_from_the_group_at_the_provider_loses_the_role_at_the_next_renewal(
        alex, provider):
    client, browser = alex
    provider.set_groups("alex", [])
    assert client.get("/cases/").status_code == 200  # until the renewal, the role stays
    _due(client)
    answer = _renew(client, browser)
    assert answer.status_code == 403 and b"No access" in answer.content
    assert "_auth_user_id" not in client.session
    assert client.get("/cases/").url.startswith("/accounts/login/")
    assert roles_of(User.objects.get(username="alex")) == frozenset()
    actions = list(AuditEvent.objects.order_by("id").values_list("action", flat=True))
    assert actions[-3:] == ["auth.roles_from_provider", "auth.sso_refused", "auth.logout"]


def test_a_changed_group_changes_the_role_at_the_next_renewal(alex, provider):
    client, browser = alex
    provider.set_groups("alex", ["finance-team"])
    _due(client)
    _renew(client, browser, path="/approvals/")
    assert roles_of(User.objects.get(username="alex")) == {Role.FINANCE}
    assert client.get("/approvals/").status_code == 200
    assert client.get("/cases/new-case-that-does-not-matter/").status_code in (403, 404)


def test_removed_at_the_provider_is_signed_out_at_the_next_renewal(alex, provider):
    client, browser = alex
    provider.remove_user("alex")
    _due(client)
    answer = _renew(client, browser)
    assert answer.status_code == 302
    assert answer.url == "/accounts/login/?next=%2Fcases%2F"
    assert "_auth_user_id" not in client.session
    refusal = AuditEvent.objects.filter(action="auth.sso_refused").get()
    assert refusal.actor_username == "alex"
    assert "login_required" in refusal.reason


def test_an_htmx_request_due_for_renewal_is_sent_to_a_full_page_renewal(alex):
    client, _ = alex
    _due(client)
    answer = client.get("/cases/", headers={"HX-Request": "true",
                                            "HX-Current-URL": "http://testserver/cases/?q=1"})
    assert answer.status_code == 204
    assert answer["HX-Redirect"] == "/sso/login/?renew=1&next=%2Fcases%2F%3Fq%3D1"


def test_a_form_sent_when_the_renewal_is_due_is_not_taken(alex):
    client, browser = alex
    _due(client)
    answer = client.post("/cases/", {"anything": "1"},
                         headers={"Referer": "http://testserver/cases/?state=new"})
    assert answer.status_code == 302
    assert answer.url == "/sso/login/?renew=1&next=%2Fcases%2F%3Fstate%3Dnew&form_lost=1"
    to_provider = client.get(answer.url)
    back = client.get(browser.answer(to_provider.url))
    assert back.url == "/cases/?state=new"
    assert b"send it again" in client.get(back.url).content


def test_the_api_says_a_renewal_is_due_without_a_redirect(alex):
    client, _ = alex
    _due(client)
    answer = client.get("/api/v1/me")
    assert answer.status_code == 401
    assert answer.json()["code"] == "sign_in_renewal_required"


def test_signing_out_needs_no_renewal(alex):
    client, _ = alex
    _due(client)
    assert client.post("/accounts/logout/").url == "/accounts/login/"
    assert "_auth_user_id" not in client.session
