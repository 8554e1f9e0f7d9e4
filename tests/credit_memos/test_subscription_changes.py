"""Subscription changes through the API, against the Stripe sandbox: a price or quantity
change prorated as Stripe's preview said, cancellations now and at period end, and undoing
one; each refused where the subscription's state does not allow it."""

import pytest

from billing_console.integrations.stripe.sandbox.builders import recurring_price, subscribe
from billing_console.money import format_amount
from money_actions.models import MoneyAction, State
from tests.conftest import api_client
from tests.credit_memos.conftest import post_memo
from tests.refunds.conftest import refund_body

pytestmark = pytest.mark.django_db(transaction=True)
PATH = "/api/v1/subscription-changes/"


@pytest.fixture
def prices(sandbox):
    return {"basic": recurring_price(sandbox.client, product_name="Basic", unit_amount=1_000),
            "pro": recurring_price(sandbox.client, product_name="Pro", unit_amount=3_000)}


@pytest.fixture
def subscription(sandbox, customer, prices):
    return subscribe(sandbox.client, customer=customer.id, price=prices["basic"].id, quantity=2)


def change(case, subscription, kind, **fields):
    return {"case_id": case.pk, "subscription_id": subscription.id, "kind": kind,
            "reason_code": "courtesy", "note": "Customer asked on the phone.", **fields}


def item_of(subscription):
    return subscription["items"].data[0].id


def now(sandbox, subscription):
    return sandbox.client.v1.subscriptions.retrieve(subscription.id)


def test_an_upgrade_invoiced_now_charges_what_the_preview_showed(
        case, sandbox, subscription, prices, specialist, eager_tasks):
    body = change(case, subscription, "subscription_change", item_id=item_of(subscription),
                  price_id=prices["pro"].id, proration_behavior="always_invoice")

    preview = post_memo(specialist, body, PATH + "preview/")
    assert preview.status_code == 200, preview.json()
    assert preview.json()["proration_total"] > 0
    created = post_memo(specialist, body, PATH)

    assert created.status_code == 201, created.json()
    action = MoneyAction.objects.get(pk=created.json()["id"])
    assert action.state == State.SUCCEEDED
    assert action.amount == preview.json()["proration_total"]
    after = now(sandbox, subscription)
    assert after["items"].data[0].price.id == prices["pro"].id
    latest = sandbox.client.v1.invoices.retrieve(after.latest_invoice)
    assert latest.total == preview.json()["invoice_total"]


def test_a_move_from_annual_to_monthly_invoices_the_month_now_against_the_unused_year(
        case, sandbox, customer, prices, specialist, eager_tasks):
    """Another interval, so Stripe starts the monthly period now: the unused year, larger
    than the month, leaves the customer credit at once, and the next invoice is a month
    on; the API's preview says so, and Stripe's invoice is what it said."""
    annual = recurring_price(sandbox.client, product_name="Basic", unit_amount=12_000,
                             interval="year")
    subscription = subscribe(sandbox.client, customer=customer.id, price=annual.id)
    body = change(case, subscription, "subscription_change", item_id=item_of(subscription),
                  price_id=prices["basic"].id, proration_behavior="always_invoice")

    preview = post_memo(specialist, body, PATH + "preview/").json()

    unused = -preview["proration_total"]
    assert preview["restarts_period"] and preview["invoiced_now"]
    assert 11_900 <= unused <= 12_000  # a year less the seconds since it started
    assert preview["invoice_total"] == 1_000 - unused
    [month] = [line for line in preview["lines"] if not line["proration"]]
    assert (month["amount"], preview["next_invoice_total"]) == (1_000, 1_000)
    assert preview["next_invoice_date"] == month["period_end"]
    assert 28 <= (month["period_end"] - month["period_start"]) // 86_400 <= 31
    assert (preview["moves"], preview["amount"]) == ("gives_back_now", unused - 1_000)
    assert {verdict["rule"] for verdict in preview["verdicts"]} >= {"currency_limit",
                                                                    "customer_total"}
    created = post_memo(specialist, body, PATH).json()
    action = MoneyAction.objects.get(pk=created["id"])
    assert (action.amount, action.state) == (unused - 1_000, State.SUCCEEDED)
    assert action.name == (f"Plan change: customer gets {format_amount(unused - 1_000, 'usd')} "
                           "back (Basic annual × 1 → Basic monthly × 1)")
    latest = sandbox.client.v1.invoices.retrieve(now(sandbox, subscription).latest_invoice)
    assert latest.total == preview["invoice_total"]


def test_a_plan_no_subscription_can_move_to_is_refused_in_words(case, sandbox, subscription,
                                                                specialist):
    one_off = sandbox.client.v1.prices.create(params={
        "unit_amount": 500, "currency": "usd", "product_data": {"name": "Setup"}})
    body = change(case, subscription, "subscription_change", item_id=item_of(subscription),
                  price_id=one_off.id)

    refused = post_memo(specialist, body, PATH + "preview/")

    assert refused.status_code == 409
    assert refused.json()["message"] == ("That price is not a plan this subscription can move "
                                         "to: choose an active recurring price in USD.")


def test_a_downgrade_gives_credit_back_and_is_under_the_money_policy(
        case, sandbox, subscription, specialist, eager_tasks):
    body = change(case, subscription, "subscription_change", item_id=item_of(subscription),
                  quantity=1)

    preview = post_memo(specialist, body, PATH + "preview/").json()
    created = post_memo(specialist, body, PATH).json()

    assert preview["proration_total"] < 0 and not preview["invoiced_now"]
    assert (preview["moves"], preview["amount"]) == ("gives_back_next_invoice",
                                                     -preview["proration_total"])
    assert created["amount"] == -preview["proration_total"]
    assert {verdict["rule"] for verdict in created["policy_verdicts"]} >= {"currency_limit"}
    assert now(sandbox, subscription)["items"].data[0].quantity == 1
    action = MoneyAction.objects.get(pk=created["id"])
    assert action.name == ("Plan change (Basic monthly × 2 → Basic monthly × 1), prorated on "
                           "the next invoice")


def test_a_move_to_annual_takes_the_invoice_made_now_and_above_the_limit_waits_for_finance(
        case, sandbox, customer, specialist):
    """Ticket #18: Console Team monthly × 4 to Console Pro annual × 3. The new interval
    makes Stripe invoice the year at once, less the unused month: money taken, checked
    against the limit for taking (500.00 USD), though the proration alone is a credit."""
    team = recurring_price(sandbox.client, product_name="Console Team", unit_amount=2_500)
    annual = recurring_price(sandbox.client, product_name="Console Pro", unit_amount=59_000,
                             interval="year")
    subscription = subscribe(sandbox.client, customer=customer.id, price=team.id, quantity=4)
    body = change(case, subscription, "subscription_change", item_id=item_of(subscription),
                  price_id=annual.id, quantity=3, proration_behavior="always_invoice")

    preview = post_memo(specialist, body, PATH + "preview/").json()
    created = post_memo(specialist, body, PATH).json()

    charged = preview["invoice_total"]
    assert preview["proration_total"] < 0 < 50_000 < charged
    assert (preview["moves"], preview["amount"], preview["needs_approval"]) == (
        "takes_now", charged, True)
    assert preview["verdicts"] == [{
        "rule": "take_limit", "needs_approval": True, "warning": False,
        "explanation": "Takes more than 500.00 USD from the customer."}]
    assert (created["state"], created["amount"]) == ("pending_approval", charged)
    assert created["policy_verdicts"] == preview["verdicts"]
    assert MoneyAction.objects.get(pk=created["id"]).name == (
        f"Plan change: customer pays {format_amount(charged, 'usd')} now "
        "(Console Team monthly × 4 → Console Pro annual × 3)")
    assert now(sandbox, subscription)["items"].data[0].price.id == team.id


def test_cancel_at_period_end_and_undo_it(case, sandbox, subscription, specialist,
                                          eager_tasks):
    scheduled = post_memo(specialist, change(case, subscription, "subscription_cancel_at_end"),
                          PATH)
    assert scheduled.status_code == 201, scheduled.json()
    assert now(sandbox, subscription).cancel_at_period_end is True

    again = post_memo(specialist, change(case, subscription, "subscription_cancel_at_end"), PATH)
    assert again.status_code == 409 and "already cancels" in again.json()["message"]

    undone = post_memo(specialist, change(case, subscription, "subscription_resume"), PATH)
    assert undone.status_code == 201
    assert now(sandbox, subscription).cancel_at_period_end is False


def test_cancel_now_with_a_proration_credit(case, sandbox, subscription, customer,
                                            specialist, eager_tasks):
    response = post_memo(specialist, change(case, subscription, "subscription_cancel", prorate=True,
                                            invoice_now=True), PATH)

    assert response.status_code == 201, response.json()
    assert response.json()["amount"] == 2_000  # at most the period's price
    assert now(sandbox, subscription).status == "canceled"


@pytest.mark.parametrize("kind", ["subscription_change", "subscription_cancel",
                                  "subscription_cancel_at_end", "subscription_resume"])
def test_a_canceled_subscription_is_refused(case, sandbox, subscription, prices, specialist,
                                            kind):
    sandbox.client.v1.subscriptions.cancel(subscription.id)

    response = post_memo(specialist, change(case, subscription, kind,
                                            item_id=item_of(subscription),
                                            price_id=prices["pro"].id), PATH)

    assert response.status_code == 409
    assert "this one is canceled" in response.json()["message"]


def test_undoing_needs_a_scheduled_cancellation(case, sandbox, subscription, specialist):
    response = post_memo(specialist, change(case, subscription, "subscription_resume"), PATH)

    assert response.status_code == 409
    assert "no cancellation scheduled" in response.json()["message"]


# A body the schema refuses is a 400 naming the field; one a rule refuses, a 409 naming it.
@pytest.mark.parametrize("fields, status, code", [
    ({"item_id": "si_missing", "quantity": 1}, 409, "item_id"),
    ({"quantity": 0}, 400, "quantity"),
    ({"quantity": 10**30}, 400, "quantity"),
    ({}, 409, "price_id"),
    ({"quantity": 1, "proration_behavior": "sometimes"}, 400, "proration_behavior"),
])
def test_a_bad_change_is_refused(case, sandbox, subscription, specialist, fields, status,
                                 code):
    body = change(case, subscription, "subscription_change",
                  **{"item_id": item_of(subscription), **fields})

    response = post_memo(specialist, body, PATH)

    assert response.status_code == status
    assert (code in response.json()["errors"]) if status == 400 \
        else response.json()["code"] == code


def test_a_later_refund_counts_a_plan_changes_credit_once_and_its_charge_never(
        case, sandbox, customer, prices, specialist, eager_tasks):
    """Annual to monthly credits the unused year now; monthly Basic to Pro then charges.
    A refund previewed after both counts, in the customer's 30 days, the credit once
    (Stripe settled it inside an invoice, which the ledger does not keep) and the charge
    not at all."""
    annual = recurring_price(sandbox.client, product_name="Basic", unit_amount=12_000,
                             interval="year")
    subscription = subscribe(sandbox.client, customer=customer.id, price=annual.id)
    [charge] = sandbox.client.v1.charges.list(params={"customer": customer.id}).data
    credited = post_memo(specialist, change(
        case, subscription, "subscription_change", item_id=item_of(subscription),
        price_id=prices["basic"].id, proration_behavior="always_invoice"), PATH).json()
    charged = post_memo(specialist, change(
        case, subscription, "subscription_change", item_id=item_of(now(sandbox, subscription)),
        price_id=prices["pro"].id, proration_behavior="always_invoice"), PATH).json()
    made = [MoneyAction.objects.get(pk=action["id"]) for action in (credited, charged)]
    assert [(action.params["moves"], action.state) for action in made] == [
        ("gives_back_now", State.SUCCEEDED), ("takes_now", State.SUCCEEDED)]

    preview = api_client(specialist).post("/api/v1/refunds/preview/",
                                          refund_body(case, charge.id, amount=1_000),
                                          format="json")

    [total] = [verdict for verdict in preview.json()["verdicts"]
               if verdict["rule"] == "customer_total"]
    assert total["explanation"].startswith(
        "With this one, what the customer got back in 30 days comes to "
        f"{format_amount(credited['amount'] + 1_000, 'usd')},")
