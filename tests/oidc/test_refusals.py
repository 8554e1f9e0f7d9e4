"""Answers the console must refuse: an ID token forged, expired, meant for another
application, from another issuer or with another nonce, and an answer used twice. Each
is refused with no session, and audited with why."""

import pytest
from django.contrib.auth.models import User
from django.test import Client

from audit.models import AuditEvent, Outcome
from tests.oidc.conftest import ProviderBrowser, sign_in_through

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("tampering", "why"), [
    ("forged", "signature does not match the provider's keys"),
    ("expired", "has expired"),
    ("wrong_audience", "meant for another application"),
    ("wrong_issuer", "another issuer than the configured provider"),
    ("wrong_nonce", "does not carry the nonce this sign-in sent"),
])
def test_a_bad_id_token_is_refused_with_no_session(provider, client, tampering, why):
    provider.tamper_next_id_token(tampering)
    _, answer = sign_in_through(client, ProviderBrowser(provider), "alex", "alex-password")
    assert answer.status_code == 403
    assert b"did not go through" in answer.content
    assert "_auth_user_id" not in client.session
    assert not User.objects.exists()
    refusal = AuditEvent.objects.get()
    assert (refusal.action, refusal.outcome) == ("auth.sso_refused", Outcome.DENIED)
    assert why in refusal.reason


def test_the_same_provider_signs_in_once_the_token_is_sound(provider, client):
    """The tampering above is all that made them fail: the next token is the provider's."""
    provider.tamper_next_id_token("forged")
    browser = ProviderBrowser(provider)
    sign_in_through(client, browser, "alex", "alex-password")
    _, answer = sign_in_through(client, browser)
    assert answer.status_code == 302
    assert "_auth_user_id" in client.session


def test_a_replayed_answer_is_refused(provider, client):
    callback, answer = sign_in_through(client, ProviderBrowser(provider), "alex",
                                       "alex-password")
    assert answer.status_code == 302
    signed_in = client.session["_auth_user_id"]

    again = client.get(callback)
    assert again.status_code == 400
    assert b"already used or has expired" in again.content
    assert client.session["_auth_user_id"] == signed_in  # nor does it end their session

    elsewhere = Client()  # an answer carried to another browser
    assert elsewhere.get(callback).status_code == 400
    assert "_auth_user_id" not in elsewhere.session
    refusals = AuditEvent.objects.filter(action="auth.sso_refused")
    assert refusals.count() == 2
    assert all("(state)" in event.reason for event in refusals)


def test_an_answer_naming_another_issuer_is_refused(provider, client):
    started = client.get("/sso/login/")
    callback = ProviderBrowser(provider).answer(started.url, "alex", "alex-password")
    assert f"iss={provider.issuer.replace(':', '%3A').replace('/', '%2F')}" in callback
    forged = callback.replace("iss=http", "iss=https")
    answer = client.get(forged)
    assert answer.status_code == 403
    assert "_auth_user_id" not in client.session
    assert "another identity provider" in AuditEvent.objects.get().reason


def test_the_provider_refusing_is_refused_too(provider, client):
    started = client.get("/sso/login/")
    state = started.url.split("state=")[1].split("&")[0]
    answer = client.get(f"/sso/callback/?error=access_denied&error_description=No&state={state}")
    assert answer.status_code == 403
    assert "_auth_user_id" not in client.session
    assert "access_denied" in AuditEvent.objects.get().reason
