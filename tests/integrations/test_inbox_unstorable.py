"""A webhook whose payload holds text the database refuses (NUL, a lone surrogate) is
stored cleaned, and says so, instead of failing every delivery with a 500."""

import json

import pytest

from audit.models import AuditEvent
from billing_console.integrations.models import InboundEvent
from billing_console.integrations.stripe.sandbox.delivery import signature_header

SECRET = "whsec_unstorable"


@pytest.fixture(autouse=True)
def configured(settings):
    settings.STRIPE_WEBHOOK_SECRET = SECRET


def test_a_stripe_event_with_a_nul_and_a_lone_surrogate_is_stored_cleaned_and_audited(
        db, client):
    body = json.dumps({"id": "evt_nul", "object": "event", "type": "customer.updated",
                       "data": {"object": {"id": "cus_1", "name": "Ava \u0000 Okafor",
                                           "description": "broken \ud800 pair"}}})

    response = client.post("/webhooks/stripe/", data=body, content_type="application/json",
                           HTTP_STRIPE_SIGNATURE=signature_header(body, SECRET))

    assert response.status_code == 200
    customer = InboundEvent.objects.get(event_id="evt_nul").payload["data"]["object"]
    assert (customer["name"], customer["description"]) == (
        "Ava \ufffd Okafor", "broken \ufffd pair")
    [audited] = AuditEvent.objects.filter(action="integrations.text_cleaned")
    assert audited.object_type == "inbound_event"
    assert "payload.data.object.name, payload.data.object.description" in audited.reason


def test_a_clean_event_is_stored_as_it_came_and_reports_nothing(db, client):
    body = json.dumps({"id": "evt_clean", "object": "event", "type": "customer.updated",
                       "data": {"object": {"id": "cus_1", "name": "Ava Okafor"}}})

    client.post("/webhooks/stripe/", data=body, content_type="application/json",
                HTTP_STRIPE_SIGNATURE=signature_header(body, SECRET))

    assert InboundEvent.objects.get().payload == json.loads(body)
    assert not AuditEvent.objects.filter(action="integrations.text_cleaned").exists()
