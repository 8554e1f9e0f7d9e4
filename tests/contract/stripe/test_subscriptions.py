"""Subscriptions through the gateway: prorations computed by time, cancellation."""

import time

import pytest

from billing_console.integrations.stripe import gateway
from billing_console.integrations.stripe.errors import PermanentStripeError
from billing_console.integrations.stripe.sandbox.builders import recurring_price, subscribe


@pytest.fixture
def plans(sandbox):
    basic = recurring_price(sandbox.client, product_name="Basic", unit_amount=3000)
    team = recurring_price(sandbox.client, product_name="Team", unit_amount=9000)
    return basic.id, team.id


@pytest.fixture
def subscription(sandbox, customer, plans):
    created = subscribe(sandbox.client, customer=customer.id, price=plans[0])
    return gateway.get_subscription(subscription_id=created.id)


def _midway(subscription):
    item = subscription.items[0]
    return (item.current_period_start + item.current_period_end) // 2


def _exact_share(subscription, when, amount):
    item = subscription.items[0]
    return round(amount * (item.current_period_end - when) /
                 (item.current_period_end - item.current_period_start))


def test_a_new_subscription_is_active_with_its_first_invoice_paid(subscription):
    first = gateway.get_invoice(invoice_id=subscription.latest_invoice)

    assert subscription.status == "active"
    assert (first.status, first.amount_paid, first.billing_reason) == (
        "paid", 3000, "subscription_create")
    assert first.subscription == subscription.id
    item = subscription.items[0]
    assert (item.unit_amount, item.interval, item.quantity) == (3000, "month", 1)
    assert item.current_period_end - item.current_period_start >= 28 * 86400


def test_a_preview_prorates_an_upgrade_by_the_time_left(subscription, plans):
    when = _midway(subscription)

    preview = gateway.preview_subscription_change(
        subscription_id=subscription.id, item_id=subscription.items[0].id,
        price_id=plans[1], proration_behavior="always_invoice", proration_date=when)

    credit, charge = (line.amount for line in preview.lines)
    assert credit == -_exact_share(subscription, when, 3000)
    assert charge == _exact_share(subscription, when, 9000)
    assert all(line.proration for line in preview.lines)
    assert preview.total == credit + charge
    assert gateway.get_subscription(subscription_id=subscription.id).items[0].unit_amount == 3000


def test_always_invoice_bills_the_proration_at_once(subscription, plans, key):
    when = _midway(subscription)

    updated = gateway.update_subscription_item(
        subscription_id=subscription.id, item_id=subscription.items[0].id, price_id=plans[1],
        proration_behavior="always_invoice", proration_date=when, idempotency_key=key())

    invoice = gateway.get_invoice(invoice_id=updated.latest_invoice)
    expected = _exact_share(subscription, when, 9000) - _exact_share(subscription, when, 3000)
    assert (invoice.billing_reason, invoice.total, invoice.status) == (
        "subscription_update", expected, "paid")
    assert updated.items[0].unit_amount == 9000


def test_create_prorations_leaves_them_for_the_next_invoice(sandbox, subscription, plans, key):
    updated = gateway.update_subscription_item(
        subscription_id=subscription.id, item_id=subscription.items[0].id, quantity=3,
        proration_behavior="create_prorations", proration_date=_midway(subscription),
        idempotency_key=key())

    pending = sandbox.client.v1.invoice_items.list(params={"customer": subscription.customer,
                                                           "pending": "true"})
    assert updated.latest_invoice == subscription.latest_invoice
    assert sorted(item.amount for item in pending.data) == [
        -_exact_share(subscription, _midway(subscription), 3000),
        _exact_share(subscription, _midway(subscription), 9000)]
    assert all(item.proration for item in pending.data)


def test_no_proration_changes_the_price_alone(sandbox, subscription, plans, key):
    updated = gateway.update_subscription_item(
        subscription_id=subscription.id, item_id=subscription.items[0].id, price_id=plans[1],
        proration_behavior="none", idempotency_key=key())

    pending = sandbox.client.v1.invoice_items.list(params={"customer": subscription.customer,
                                                           "pending": "true"})
    assert updated.items[0].unit_amount == 9000
    assert pending.data == []


def _a_year(line):
    return (line.period_end - line.period_start) // 86_400 in (365, 366)


def test_a_move_to_another_interval_previews_a_full_new_period_now_less_the_unused_time(
        sandbox, subscription):
    """Stripe resets the billing cycle anchor to now: the invoice made at once credits the
    unused month and bills the whole first year, with no proration of the annual price."""
    annual = recurring_price(sandbox.client, product_name="Basic", unit_amount=30_000,
                             interval="year")
    when = _midway(subscription)

    preview = gateway.preview_subscription_change(
        subscription_id=subscription.id, item_id=subscription.items[0].id,
        price_id=annual.id, quantity=2, proration_behavior="create_prorations",
        proration_date=when)

    credit, year = preview.lines
    assert (credit.proration, credit.amount) == (True, -_exact_share(subscription, when, 3000))
    assert (year.proration, year.amount, year.quantity) == (False, 60_000, 2)
    assert abs(year.period_start - time.time()) < 60 and _a_year(year)
    assert preview.total == 60_000 - _exact_share(subscription, when, 3000)


def test_a_move_to_another_interval_is_invoiced_at_once_whatever_the_proration(
        sandbox, subscription, key):
    """Even `create_prorations` leaves nothing for later: the year is invoiced and paid now,
    the unused month on the same invoice, and the item's period is the year."""
    annual = recurring_price(sandbox.client, product_name="Basic", unit_amount=30_000,
                             interval="year")
    when = _midway(subscription)

    updated = gateway.update_subscription_item(
        subscription_id=subscription.id, item_id=subscription.items[0].id, price_id=annual.id,
        proration_behavior="create_prorations", proration_date=when, idempotency_key=key())

    invoice = gateway.get_invoice(invoice_id=updated.latest_invoice)
    assert updated.latest_invoice != subscription.latest_invoice
    assert (invoice.billing_reason, invoice.status, invoice.total) == (
        "subscription_update", "paid", 30_000 - _exact_share(subscription, when, 3000))
    pending = sandbox.client.v1.invoice_items.list(params={"customer": subscription.customer,
                                                           "pending": "true"})
    assert pending.data == []
    [item] = updated.items
    assert item.interval == "year" and abs(item.current_period_start - time.time()) < 60
    assert (item.current_period_end - item.current_period_start) // 86_400 in (365, 366)


def test_cancel_at_period_end_keeps_it_active_until_then(subscription, key):
    updated = gateway.set_cancel_at_period_end(subscription_id=subscription.id,
                                               cancel_at_period_end=True,
                                               idempotency_key=key())

    assert updated.status == "active" and updated.cancel_at_period_end
    assert updated.cancel_at == subscription.items[0].current_period_end


def test_cancelling_now_with_prorate_and_invoice_now_credits_unused_time(
        subscription, customer, key):
    canceled = gateway.cancel_subscription_now(subscription_id=subscription.id, prorate=True,
                                               invoice_now=True, idempotency_key=key())

    final = gateway.get_invoice(invoice_id=canceled.latest_invoice)
    assert canceled.status == "canceled" and canceled.ended_at
    assert final.total < 0 and final.amount_due == 0
    assert gateway.get_customer(customer_id=customer.id).balance == final.total
    with pytest.raises(PermanentStripeError):
        gateway.cancel_subscription_now(subscription_id=subscription.id, prorate=False,
                                        invoice_now=False, idempotency_key=key())


def test_cancelling_now_without_proration_leaves_no_credit(subscription, customer, key):
    canceled = gateway.cancel_subscription_now(subscription_id=subscription.id, prorate=False,
                                               invoice_now=False, idempotency_key=key())

    assert canceled.status == "canceled"
    assert canceled.latest_invoice == subscription.latest_invoice
    assert gateway.get_customer(customer_id=customer.id).balance == 0


def test_it_refuses_an_unknown_proration_behavior_before_calling_stripe(subscription, key):
    with pytest.raises(ValueError, match="proration_behavior"):
        gateway.update_subscription_item(
            subscription_id=subscription.id, item_id=subscription.items[0].id, quantity=2,
            proration_behavior="sometimes", idempotency_key=key())


def test_prices_to_move_to_are_the_recurring_ones_in_the_currency_named_by_product(sandbox):
    product = sandbox.client.v1.products.create(params={"name": "Console Pro"})
    monthly = sandbox.client.v1.prices.create(params={
        "product": product.id, "unit_amount": 4_900, "currency": "usd",
        "recurring": {"interval": "month"}})
    annual = sandbox.client.v1.prices.create(params={
        "product": product.id, "unit_amount": 49_000, "currency": "usd",
        "recurring": {"interval": "year"}})
    quarterly = sandbox.client.v1.prices.create(params={
        "product": product.id, "unit_amount": 14_000, "currency": "usd",
        "recurring": {"interval": "month", "interval_count": 3}})
    one_off = sandbox.client.v1.prices.create(params={
        "product": product.id, "unit_amount": 900, "currency": "usd"})
    in_euros = sandbox.client.v1.prices.create(params={
        "product": product.id, "unit_amount": 4_500, "currency": "eur",
        "recurring": {"interval": "month"}})

    prices = {price.id: price for price in gateway.list_recurring_prices(currency="USD")}

    assert {monthly.id, annual.id, quarterly.id} <= set(prices)
    assert not {one_off.id, in_euros.id} & set(prices)
    assert [prices[price.id].plan_name for price in (monthly, annual, quarterly)] == [
        "Console Pro monthly", "Console Pro annual", "Console Pro every 3 months"]
    assert (prices[annual.id].unit_amount, prices[annual.id].currency) == (49_000, "usd")


def test_a_subscription_read_names_its_plan_by_product(subscription, customer):
    [item] = subscription.items
    [from_snapshot] = gateway.billing_snapshot(customer_id=customer.id).subscriptions

    assert (item.product_name, item.plan_name) == ("Basic", "Basic monthly")
    assert from_snapshot.items[0].plan_name == "Basic monthly"
