"""The sandbox over raw HTTP: keys, Request-Id, errors, form encoding, lists, events."""

import base64
import urllib.parse

import pytest

from billing_console.integrations.stripe import gateway
from billing_console.integrations.stripe.errors import PermanentStripeError

from .conftest import API_KEY, send


def _send(sandbox, method, path, *, key=API_KEY, form=None, headers=None):
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    return send(sandbox.url + path, method=method, data=data,
                headers={"Authorization": f"Bearer {key}", **(headers or {})})


@pytest.mark.parametrize("key", ["sk_live_123456789012", "pk_test_123456789012", "rk_test_1"])
def test_it_answers_401_to_anything_but_a_secret_test_key(sandbox, key):
    status, headers, body = _send(sandbox, "GET", "/v1/customers", key=key)

    assert status == 401
    assert body["error"]["type"] == "invalid_request_error"
    assert key not in body["error"]["message"]
    assert headers["Request-Id"].startswith("req_")


def test_it_answers_401_without_a_key(sandbox):
    status, _, body = send(sandbox.url + "/v1/customers")

    assert status == 401
    assert "did not provide an API key" in body["error"]["message"]


def test_it_accepts_a_test_key_by_basic_auth_as_curl_sends_it(sandbox):
    token = base64.b64encode(f"{API_KEY}:".encode()).decode()
    status, _, body = _send(sandbox, "GET", "/v1/customers?limit=1",
                            headers={"Authorization": f"Basic {token}"})

    assert (status, body["object"]) == (200, "list")


def test_the_gateway_with_a_live_key_gets_a_permanent_error(sandbox, settings):
    settings.STRIPE_API_KEY = "sk_live_nope_nope"

    with pytest.raises(PermanentStripeError) as refused:
        gateway.get_customer(customer_id="cus_x")

    assert refused.value.http_status == 401


@pytest.mark.parametrize("method, path", [
    ("GET", "/v1/customers"), ("GET", "/v1/customers/cus_missing"), ("GET", "/v1/nothing"),
    ("POST", "/v1/refunds"), ("DELETE", "/v1/invoices/in_missing"), ("GET", "/v1/events"),
    ("PUT", "/v1/customers"),
])
def test_every_response_carries_a_request_id(sandbox, method, path):
    status, headers, _ = _send(sandbox, method, path, form={} if method == "POST" else None)

    assert headers["Request-Id"].startswith("req_"), status


def test_errors_carry_type_code_param_and_message(sandbox):
    status, _, body = _send(sandbox, "POST", "/v1/customers/cus_missing", form={"name": "x"})

    assert status == 404
    assert body["error"] == {**body["error"], "type": "invalid_request_error",
                             "code": "resource_missing", "param": "id",
                             "message": "No such customer: 'cus_missing'"}


def test_an_unknown_url_gets_stripes_404(sandbox):
    status, _, body = _send(sandbox, "GET", "/v1/nothing")

    assert status == 404
    assert "Unrecognized request URL" in body["error"]["message"]


def test_bracketed_form_fields_nest_and_objects_have_stripes_envelope(sandbox):
    status, _, created = _send(sandbox, "POST", "/v1/customers", form={
        "email": "nest@example.com", "metadata[case]": "C-1", "metadata[tier]": "gold",
        "invoice_settings[default_payment_method]": "pm_card_visa", "expand[]": "tax"})

    assert status == 200
    assert created["metadata"] == {"case": "C-1", "tier": "gold"}
    assert created["invoice_settings"]["default_payment_method"] == "pm_card_visa"
    assert created["id"].startswith("cus_") and created["object"] == "customer"
    assert created["livemode"] is False and isinstance(created["created"], int)


def test_a_replayed_request_says_so(sandbox):
    form = {"email": "replay@example.com"}
    _, first_headers, first = _send(sandbox, "POST", "/v1/customers", form=form,
                                    headers={"Idempotency-Key": "replay-wire-1"})
    _, headers, again = _send(sandbox, "POST", "/v1/customers", form=form,
                              headers={"Idempotency-Key": "replay-wire-1"})

    assert again == first
    assert headers["Idempotent-Replayed"] == "true"
    assert headers["Original-Request"] == first_headers["Request-Id"]


def test_an_idempotency_conflict_is_a_400_idempotency_error(sandbox):
    _send(sandbox, "POST", "/v1/customers", form={"email": "a@example.com"},
          headers={"Idempotency-Key": "conflict-wire-1"})
    status, _, body = _send(sandbox, "POST", "/v1/customers", form={"email": "b@example.com"},
                            headers={"Idempotency-Key": "conflict-wire-1"})

    assert (status, body["error"]["type"]) == (400, "idempotency_error")


def test_lists_page_with_has_more_and_starting_after(sandbox):
    for number in range(3):
        _send(sandbox, "POST", "/v1/customers", form={"email": f"page{number}@example.com"})

    _, _, first = _send(sandbox, "GET", "/v1/customers?limit=2")
    _, _, second = _send(sandbox, "GET",
                         f"/v1/customers?limit=2&starting_after={first['data'][-1]['id']}")

    assert first["object"] == "list" and first["has_more"] is True
    assert first["url"] == "/v1/customers"
    assert not {c["id"] for c in first["data"]} & {c["id"] for c in second["data"]}


def test_a_declined_card_is_a_402_card_error_with_a_failed_charge(sandbox, customer):
    status, _, body = _send(sandbox, "POST", "/v1/payment_intents", form={
        "amount": 500, "currency": "usd", "customer": customer.id, "confirm": "true",
        "payment_method": "pm_card_chargeDeclined"})

    error = body["error"]
    assert (status, error["type"], error["code"]) == (402, "card_error", "card_declined")
    assert error["payment_intent"]["status"] == "requires_payment_method"
    assert gateway.get_charge(charge_id=error["charge"]).status == "failed"


def test_every_change_is_recorded_as_an_event(sandbox, customer, key):
    events = gateway.list_events(type="customer.created", limit=100).items

    created = next(event for event in events if event.object_id == customer.id)
    assert created.object_type == "customer"
    assert gateway.get_event(event_id=created.id) == created
