"""Refunds through the gateway: partial, full, Stripe's refusals, and a refund that fails
after it succeeded."""

import time

import pytest

from billing_console.integrations.stripe import gateway
from billing_console.integrations.stripe.errors import PermanentStripeError
from billing_console.integrations.stripe.sandbox.builders import charge


def test_it_refunds_part_then_the_rest_of_a_charge(sandbox, customer, key):
    charge_id = charge(sandbox.client, customer=customer.id, amount=5000)

    partial = gateway.create_refund(charge_id=charge_id, amount=2000, idempotency_key=key(),
                                    reason="requested_by_customer", metadata={"case": "42"})
    rest = gateway.create_refund(charge_id=charge_id, amount=3000, idempotency_key=key())

    assert (partial.status, partial.amount, partial.metadata) == ("succeeded", 2000,
                                                                   {"case": "42"})
    assert rest.amount == 3000
    refunded = gateway.get_charge(charge_id=charge_id)
    assert refunded.refunded and refunded.refundable_amount == 0
    assert {refund.id for refund in refunded.refunds} == {partial.id, rest.id}


def test_it_refuses_refund_above_unrefunded_remainder(sandbox, customer, key):
    charge_id = charge(sandbox.client, customer=customer.id, amount=1000)
    gateway.create_refund(charge_id=charge_id, amount=400, idempotency_key=key())

    with pytest.raises(PermanentStripeError) as refused:
        gateway.create_refund(charge_id=charge_id, amount=601, idempotency_key=key())

    assert (refused.value.code, refused.value.param) == ("amount_too_large", "amount")
    assert refused.value.http_status == 400
    assert refused.value.request_id.startswith("req_")
    assert "unrefunded amount" in refused.value.message


def test_it_refuses_to_refund_a_fully_refunded_charge(sandbox, customer, key):
    charge_id = charge(sandbox.client, customer=customer.id, amount=1000)
    gateway.create_refund(charge_id=charge_id, amount=1000, idempotency_key=key())

    with pytest.raises(PermanentStripeError) as refused:
        gateway.create_refund(charge_id=charge_id, amount=1, idempotency_key=key())

    assert refused.value.code == "charge_already_refunded"


def test_it_refuses_to_refund_a_charge_disputed_as_fraud(sandbox, customer, key):
    charge_id = charge(sandbox.client, customer=customer.id, amount=1000,
                       payment_method="pm_card_createDispute")

    with pytest.raises(PermanentStripeError) as refused:
        gateway.create_refund(charge_id=charge_id, amount=100, idempotency_key=key())

    assert refused.value.code == "charge_disputed"


def test_a_refund_on_pm_card_refundFail_turns_failed_with_a_refund_updated_event(
        sandbox, customer, key):
    charge_id = charge(sandbox.client, customer=customer.id, amount=1500,
                       payment_method="pm_card_refundFail")
    refund = gateway.create_refund(charge_id=charge_id, amount=1500, idempotency_key=key())
    assert refund.status == "succeeded"

    deadline = time.monotonic() + 5
    while gateway.get_refund(refund_id=refund.id).status != "failed":
        assert time.monotonic() < deadline, "the refund never failed"
        time.sleep(0.1)

    failed = gateway.get_refund(refund_id=refund.id)
    assert failed.failure_reason
    assert gateway.get_charge(charge_id=charge_id).refundable_amount == 1500
    updates = gateway.list_events(type="refund.updated", limit=100).items
    update = next(event for event in updates if event.object_id == refund.id)
    assert update.data["object"]["status"] == "failed"
    assert update.previous_attributes == {"status": "succeeded"}


def test_it_lists_refunds_of_a_charge_page_by_page(sandbox, customer, key):
    charge_id = charge(sandbox.client, customer=customer.id, amount=900)
    made = [gateway.create_refund(charge_id=charge_id, amount=300, idempotency_key=key())
            for _ in range(3)]

    first = gateway.list_refunds(charge_id=charge_id, limit=2)
    second = gateway.list_refunds(charge_id=charge_id, limit=2,
                                  starting_after=first.next_cursor)

    assert first.has_more and not second.has_more
    listed = [refund.id for refund in first.items + second.items]
    assert listed == [refund.id for refund in reversed(made)]


def test_it_refuses_to_cancel_a_card_refund_that_succeeded(sandbox, customer, key):
    charge_id = charge(sandbox.client, customer=customer.id, amount=900)
    refund = gateway.create_refund(charge_id=charge_id, amount=900, idempotency_key=key())

    with pytest.raises(PermanentStripeError) as refused:
        gateway.cancel_refund(refund_id=refund.id, idempotency_key=key())

    assert "requires_action" in refused.value.message


def test_it_reads_every_refund_of_a_charge_refunded_many_times(sandbox, customer, key):
    charge_id = charge(sandbox.client, customer=customer.id, amount=1100)
    made = [gateway.create_refund(charge_id=charge_id, amount=100, idempotency_key=key())
            for _ in range(11)]

    read = gateway.get_charge(charge_id=charge_id)

    assert [refund.id for refund in read.refunds] == [refund.id for refund in reversed(made)]


def test_it_refuses_a_float_amount_before_calling_stripe(sandbox, key):
    with pytest.raises(TypeError, match="minor units"):
        gateway.create_refund(charge_id="ch_x", amount=10.5, idempotency_key=key())
