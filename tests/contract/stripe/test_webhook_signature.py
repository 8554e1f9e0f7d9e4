"""The webhook endpoint's signature check and intake, called as a view (the URL is wired by
the project's urls.py)."""

import json
import time

import pytest
from django.test import RequestFactory

from billing_console.integrations.models import InboundEvent
from billing_console.integrations.stripe.sandbox.delivery import signature_header
from billing_console.integrations.stripe.webhooks import (
    SignatureError,
    receive,
    verify_signature,
)

SECRET = "whsec_contract"
EVENT = {"id": "evt_contract_1", "object": "event", "type": "refund.updated",
         "data": {"object": {"id": "re_1", "object": "refund", "status": "failed"}}}


def _deliver(payload, header):
    request = RequestFactory().post("/webhooks/stripe/", data=payload,
                                    content_type="application/json",
                                    HTTP_STRIPE_SIGNATURE=header)
    return receive(request)


def test_a_signature_from_the_sandbox_verifies():
    payload = json.dumps(EVENT)

    verify_signature(payload.encode(), signature_header(payload, SECRET), SECRET)


@pytest.mark.parametrize("header", [
    "", "t=abc,v1=00", "v1=00", f"t={int(time.time())}",
    signature_header("other body", SECRET),
    signature_header(json.dumps(EVENT), "whsec_other"),
])
def test_a_missing_wrong_or_foreign_signature_is_refused(header):
    with pytest.raises(SignatureError):
        verify_signature(json.dumps(EVENT).encode(), header, SECRET)


def test_a_signature_older_than_300_seconds_is_refused():
    payload = json.dumps(EVENT)
    header = signature_header(payload, SECRET, timestamp=int(time.time()) - 301)

    with pytest.raises(SignatureError, match="tolerance"):
        verify_signature(payload.encode(), header, SECRET)


def test_a_signature_more_than_300_seconds_in_the_future_is_refused():
    payload = json.dumps(EVENT)
    header = signature_header(payload, SECRET, timestamp=int(time.time()) + 301)

    with pytest.raises(SignatureError, match="tolerance"):
        verify_signature(payload.encode(), header, SECRET)


@pytest.mark.parametrize("offset", [-299, 299])
def test_a_signature_within_300_seconds_either_way_verifies(offset):
    payload = json.dumps(EVENT)
    now = time.time()
    header = signature_header(payload, SECRET, timestamp=int(now) + offset)

    verify_signature(payload.encode(), header, SECRET, now=now)


@pytest.fixture
def webhook_secret(settings):
    settings.STRIPE_WEBHOOK_SECRET = SECRET


@pytest.mark.django_db
def test_a_signed_event_is_stored_once_and_its_replay_changes_nothing(webhook_secret):
    payload = json.dumps(EVENT)

    first = _deliver(payload, signature_header(payload, SECRET))
    replay = _deliver(payload, signature_header(payload, SECRET))

    assert (first.status_code, json.loads(first.content)["duplicate"]) == (200, False)
    assert (replay.status_code, json.loads(replay.content)["duplicate"]) == (200, True)
    stored = InboundEvent.objects.get(source="stripe", event_id=EVENT["id"])
    assert (stored.event_type, stored.payload) == ("refund.updated", EVENT)


@pytest.mark.django_db
@pytest.mark.parametrize("secret, offset", [("whsec_forged", 0), (SECRET, -400),
                                            (SECRET, 400)])
def test_a_bad_stale_or_future_signature_gets_a_400_and_stores_nothing(
        webhook_secret, secret, offset):
    header = signature_header(json.dumps(EVENT), secret, timestamp=int(time.time()) + offset)

    response = _deliver(json.dumps(EVENT), header)

    assert response.status_code == 400
    assert not InboundEvent.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("payload", ["not json", "[]", json.dumps({"id": "evt_1"})])
def test_a_signed_body_that_is_not_an_event_gets_a_400(webhook_secret, payload):
    response = _deliver(payload, signature_header(payload, SECRET))

    assert response.status_code == 400
    assert not InboundEvent.objects.exists()


@pytest.mark.django_db
def test_without_a_secret_configured_it_answers_503_so_stripe_retries(settings):
    settings.STRIPE_WEBHOOK_SECRET = ""
    payload = json.dumps(EVENT)

    assert _deliver(payload, signature_header(payload, SECRET)).status_code == 503
