"""Concurrent requests, from real threads with their own connections, on PostgreSQL."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections

from money_actions.models import MoneyAction
from tests.refunds.conftest import (
    confirm,
    confirm_key,
    needs_postgres,
    post_refund,
    preview,
    refund_body,
    refunds_created,
    signed_in,
    stripe_refunds,
)

pytestmark = [needs_postgres, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
CALLERS = 20


def all_at_once(call, callers=CALLERS):
    """Run `call(i)` in `callers` threads released together; returns the results."""
    barrier = threading.Barrier(callers)

    def run(i):
        barrier.wait()
        try:
            return call(i)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(callers) as pool:
        return list(pool.map(run, range(callers)))


def test_twenty_posts_with_one_key_make_one_request_and_one_stripe_refund(
        charged, sandbox, specialist, eager_tasks):
    case, charge_id = charged
    body = refund_body(case, charge_id)

    responses = all_at_once(lambda _: post_refund(specialist, body, key="double-click"))

    assert {response.status_code for response in responses} == {201}
    assert len({response.json()["id"] for response in responses}) == 1
    assert MoneyAction.objects.count() == 1
    assert len(stripe_refunds(sandbox, charge_id)) == 1
    assert len(refunds_created(sandbox)) == 1


def test_racing_requests_never_promise_more_than_the_charge_captured(
        charged, sandbox, specialist):
    case, charge_id = charged  # 100.00 captured; twenty callers ask 10.00 each

    responses = all_at_once(lambda i: post_refund(
        specialist, refund_body(case, charge_id, amount=1_000), key=f"racer-{i}"))

    accepted = [response for response in responses if response.status_code == 201]
    refused = [response for response in responses if response.status_code != 201]
    assert sum(response.json()["amount"] for response in accepted) <= 10_000
    assert len(accepted) == 10
    assert {response.json()["code"] for response in refused} == {"amount_above_refundable"}


def test_twenty_confirms_of_one_preview_make_one_refund(charged, sandbox, specialist,
                                                        eager_tasks):
    """The page's double click, sent all at once: each confirm carries the preview's key."""
    case, charge_id = charged
    key = confirm_key(preview(signed_in(specialist), case, charge_id,
                              amount="100.00").content.decode())

    responses = all_at_once(lambda _: confirm(signed_in(specialist), case, charge_id, key,
                                              amount="100.00"))

    assert {response.status_code for response in responses} == {302}
    assert MoneyAction.objects.count() == 1
    assert len(refunds_created(sandbox)) == 1


def test_racing_refunds_on_many_charges_keep_the_customers_limit(charged, sandbox,
                                                                 specialist):
    """Twenty refunds at once, each on its own charge of one customer: the customer's
    30-day total is read under one lock, so no more go through without approval than
    the limit allows."""
    from money_actions.models import CurrencyLimit
    from tests.refunds.conftest import new_charge

    case, _ = charged
    CurrencyLimit.objects.filter(currency="usd").update(customer_window_limit=5_000)
    charges = [new_charge(sandbox, amount=1_000, customer=case.stripe_customer_id)[1]
               for _ in range(CALLERS)]

    responses = all_at_once(lambda i: post_refund(
        specialist, refund_body(case, charges[i], amount=1_000), key=f"customer-{i}"))

    states = [response.json()["state"] for response in responses]
    assert states.count("approved") == 5
    assert states.count("pending_approval") == CALLERS - 5
