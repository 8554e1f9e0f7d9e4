"""Idempotency keys (replay and conflict) and injected 429/500 faults: the gateway retries
with the same key, then raises the transient error."""

import pytest

from billing_console.integrations.stripe import gateway
from billing_console.integrations.stripe.errors import (
    IdempotencyConflict,
    TransientStripeError,
)
from billing_console.integrations.stripe.sandbox.builders import charge


def test_the_same_key_and_parameters_replay_the_first_refund(sandbox, customer, key):
    charge_id = charge(sandbox.client, customer=customer.id, amount=1000)
    same_key = key()

    first = gateway.create_refund(charge_id=charge_id, amount=300, idempotency_key=same_key)
    again = gateway.create_refund(charge_id=charge_id, amount=300, idempotency_key=same_key)

    assert again == first
    assert gateway.get_charge(charge_id=charge_id).amount_refunded == 300


def test_the_same_key_with_other_parameters_is_an_idempotency_conflict(sandbox, customer, key):
    charge_id = charge(sandbox.client, customer=customer.id, amount=1000)
    same_key = key()
    gateway.create_refund(charge_id=charge_id, amount=300, idempotency_key=same_key)

    with pytest.raises(IdempotencyConflict) as conflict:
        gateway.create_refund(charge_id=charge_id, amount=301, idempotency_key=same_key)

    assert conflict.value.http_status == 400
    assert same_key in conflict.value.message
    assert gateway.get_charge(charge_id=charge_id).amount_refunded == 300


def test_a_write_without_an_idempotency_key_is_refused_before_calling_stripe(sandbox):
    with pytest.raises(ValueError, match="idempotency_key"):
        gateway.create_refund(charge_id="ch_x", amount=1, idempotency_key="")


def _keys_sent(sandbox, path):
    return [request["headers"].get("Idempotency-Key") for request in sandbox.requests_to(path)]


def test_it_retries_a_429_with_the_same_key_and_succeeds(sandbox, customer, key):
    charge_id = charge(sandbox.client, customer=customer.id, amount=1000)
    refund_key = key()
    sandbox.inject("/v1/refunds", 429, count=2, retry_after=0)

    refund = gateway.create_refund(charge_id=charge_id, amount=100, idempotency_key=refund_key)

    assert refund.status == "succeeded"
    assert _keys_sent(sandbox, "/v1/refunds")[-3:] == [refund_key] * 3


def test_it_raises_transient_once_its_429_retries_are_spent(sandbox, customer, key, settings):
    charge_id = charge(sandbox.client, customer=customer.id, amount=1000)
    refund_key = key()
    sandbox.inject("/v1/refunds", 429, count=3, retry_after=0)
    before = len(sandbox.requests_to("/v1/refunds"))

    with pytest.raises(TransientStripeError) as spent:
        gateway.create_refund(charge_id=charge_id, amount=100, idempotency_key=refund_key)

    attempts = 1 + settings.STRIPE_MAX_NETWORK_RETRIES
    assert (spent.value.http_status, spent.value.attempts) == (429, attempts)
    assert spent.value.retry_after == 0
    assert _keys_sent(sandbox, "/v1/refunds")[before:] == [refund_key] * attempts
    assert gateway.get_charge(charge_id=charge_id).amount_refunded == 0


def test_it_retries_a_500_with_the_same_key_and_raises_transient_when_spent(
        sandbox, customer, key, settings):
    charge_id = charge(sandbox.client, customer=customer.id, amount=1000)
    refund_key = key()
    attempts = 1 + settings.STRIPE_MAX_NETWORK_RETRIES
    sandbox.inject("/v1/refunds", 500, count=attempts)
    before = len(sandbox.requests_to("/v1/refunds"))

    with pytest.raises(TransientStripeError) as spent:
        gateway.create_refund(charge_id=charge_id, amount=100, idempotency_key=refund_key)

    assert spent.value.http_status == 500
    assert _keys_sent(sandbox, "/v1/refunds")[before:] == [refund_key] * attempts
    # The fault is gone: the caller's later retry, with the same key, goes through once.
    refund = gateway.create_refund(charge_id=charge_id, amount=100, idempotency_key=refund_key)
    assert gateway.get_charge(charge_id=charge_id).amount_refunded == refund.amount == 100


def test_a_connection_failure_is_transient(sandbox, settings, key):
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"
    settings.STRIPE_MAX_NETWORK_RETRIES = 0

    with pytest.raises(TransientStripeError):
        gateway.get_customer(customer_id="cus_unreachable")
