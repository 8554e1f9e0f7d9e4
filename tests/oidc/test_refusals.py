"""Answers the console must refuse: an ID token forged, expired, meant for another
application, from another issuer or with another nonce, an answer used twice, come too
late, or malformed. Each is refused with no session, and audited with why."""

import time
from urllib.parse import urlencode

import pytest
from django.contrib.auth.models import User
from django.test import Client

from audit.models import AuditEvent, Outcome
from oidc import client as client_module
from oidc.client import PENDING_SIGN_INS, SIGN_IN_SECONDS
from tests.oidc.conftest import ProviderBrowser, query_of, sign_in_through

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


def _state_of(started):
    return query_of(started.url)["state"]


@pytest.mark.parametrize("answer", [
    "state={state}",  # no code
    "state={state}&code=",
    "code=abc&state=",  # an empty state
    "code=abc",  # no state
    "state={state}&error=access_denied&error=server_error",
])
def test_a_malformed_answer_is_refused_and_audited(provider, client, answer):
    state = _state_of(client.get("/sso/login/"))
    response = client.get("/sso/callback/?" + answer.format(state=state))
    assert response.status_code == 403
    assert b"did not go through" in response.content
    assert "_auth_user_id" not in client.session
    refusal = AuditEvent.objects.get()
    assert (refusal.action, refusal.outcome) == ("auth.sso_refused", Outcome.DENIED)


@pytest.mark.parametrize("repeated", ["state", "code", "iss"])
def test_an_answer_repeating_a_parameter_is_refused(provider, client, repeated):
    """RFC 6749 §3.1: no parameter twice; either copy could be the one read."""
    started = client.get("/sso/login/")
    callback = ProviderBrowser(provider).answer(started.url, "alex", "alex-password")
    value = query_of(callback)[repeated]
    answer = client.get(f"{callback}&{urlencode({repeated: value})}")
    assert answer.status_code == 403
    assert b"did not go through" in answer.content
    assert "_auth_user_id" not in client.session
    assert f"repeats {repeated}" in AuditEvent.objects.get(action="auth.sso_refused").reason
    assert client.get(callback).status_code == 302  # the answer itself was sound


def test_a_sign_in_answered_after_its_time_is_refused(provider, client, monkeypatch):
    started = client.get("/sso/login/")
    callback = ProviderBrowser(provider).answer(started.url, "alex", "alex-password")
    later = time.time() + SIGN_IN_SECONDS + 1
    monkeypatch.setattr(client_module.time, "time", lambda: later)

    answer = client.get(callback)

    assert answer.status_code == 400
    assert b"already used or has expired" in answer.content
    assert "_auth_user_id" not in client.session
    assert "(state)" in AuditEvent.objects.get(action="auth.sso_refused").reason
    assert not [key for key, _ in client.session.items() if key.startswith("_state_")]


def test_sign_ins_left_unfinished_do_not_pile_up_in_the_session(provider, client):
    starts = [client.get("/sso/login/") for _ in range(PENDING_SIGN_INS + 5)]
    pending = [key for key, _ in client.session.items() if key.startswith("_state_")]
    assert len(pending) == PENDING_SIGN_INS
    browser = ProviderBrowser(provider)
    # The oldest went first; the newest are answered as usual.
    oldest = browser.answer(starts[0].url, "alex", "alex-password")
    assert client.get(oldest).status_code == 400
    assert client.get(browser.answer(starts[-1].url)).status_code == 302
    assert "_auth_user_id" in client.session


def test_a_next_too_long_for_an_address_is_dropped_not_refused(provider, client):
    """`next` lives in the session (no column to overflow); one longer than Django takes
    for an address (2,048 characters) is not followed, and the sign-in goes on."""
    wanted = "/cases/?q=" + "a" * 3000
    _, answer = sign_in_through(client, ProviderBrowser(provider), "alex", "alex-password",
                                start=f"/sso/login/?{urlencode({'next': wanted})}")
    assert answer.status_code == 302 and answer.url == "/"
    assert "_auth_user_id" in client.session
