"""The plan change page speaks of plans as people do: the new plan is picked from the
prices Stripe has (product, period, amount), the quantity starts at the current one, and
the preview says which plan replaces which, lists the proration lines and carries the
amount on its confirm button."""

import html
import re
from datetime import UTC, datetime

import pytest

from billing_console.integrations.stripe.sandbox.builders import subscribe
from billing_console.money import format_amount
from money_actions.models import MoneyAction, State
from tests.refunds.conftest import confirm_key, signed_in

pytestmark = pytest.mark.django_db(transaction=True)
REASON = {"reason_code": "courtesy", "note": "Customer asked on the phone."}


@pytest.fixture
def plans(sandbox):
    pro = sandbox.client.v1.products.create(params={"name": "Console Pro"})
    team = sandbox.client.v1.products.create(params={"name": "Console Team"})

    def price(amount, interval, currency="usd", recurring=True, product=pro):
        params = {"product": product.id, "unit_amount": amount, "currency": currency}
        if recurring:
            params["recurring"] = {"interval": interval}
        return sandbox.client.v1.prices.create(params=params)

    return {"monthly": price(4_900, "month"), "annual": price(49_000, "year"),
            "team": price(1_900, "month", product=team),
            "in_euros": price(4_500, "month", currency="eur"),
            "one_off": price(900, None, recurring=False)}


@pytest.fixture
def subscription(sandbox, customer, plans):
    return subscribe(sandbox.client, customer=customer.id, price=plans["monthly"].id)


@pytest.fixture
def url(case, subscription):
    return f"/actions/subscription/{case.pk}/{subscription.id}/subscription_change/"


def fields(client, url, subscription, **changes):
    form = client.get(url).content.decode()
    return {"item_id": subscription["items"].data[0].id,
            "proration_date": re.search(r'name="proration_date" value="(\d+)"', form).group(1),
            "proration_behavior": "always_invoice", **REASON, **changes}


def options(page, name):
    select = re.search(rf'<select name="{name}".*?</select>', page, re.S).group(0)
    return {value: html.unescape(label) for value, label in
            re.findall(r'<option value="([^"]*)"[^>]*>(.*?)</option>', select)}


def fact(page, label):
    return html.unescape(re.search(rf"<dt>{label}</dt><dd>(.*?)</dd>", page, re.S).group(1))


def test_the_new_plan_is_picked_from_the_recurring_prices_in_the_subscriptions_currency(
        url, plans, specialist):
    page = signed_in(specialist).get(url).content.decode()

    offered = options(page, "price_id")
    assert offered[plans["monthly"].id] == "Console Pro · monthly · 49.00 USD"
    assert offered[plans["annual"].id] == "Console Pro · annual · 490.00 USD"
    assert list(offered).index(plans["monthly"].id) < list(offered).index(plans["annual"].id) \
        < list(offered).index(plans["team"].id)
    assert plans["in_euros"].id not in offered and plans["one_off"].id not in offered
    assert re.search(rf'<option value="{plans["monthly"].id}" selected>', page)
    assert re.search(r'<input type="number" name="quantity" value="1"', page)
    assert list(options(page, "item_id").values()) == ["Console Pro monthly × 1"]
    assert "price_" not in fact(page, "Plan")


def test_the_preview_names_both_plans_lists_the_prorations_and_the_button_the_amount(
        url, subscription, plans, sandbox, specialist, eager_tasks):
    client = signed_in(specialist)
    body = fields(client, url, subscription, price_id=plans["team"].id, quantity="3")

    preview = client.post(url, {**body, "preview": "1"})
    page = preview.content.decode()

    assert preview.status_code == 200, page
    assert fact(page, "Plan") == "Console Pro monthly × 1 → Console Team monthly × 3"
    lines = re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td><td class=\"num\">(.*?)</td></tr>",
                       re.search(r'<table id="preview-lines">.*?</table>', page, re.S).group(0))
    assert [html.unescape(line[0]) for line in lines] == [
        "Unused time on 1 × Console Pro", "Remaining time on 3 × Console Team"]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d – \d{4}-\d\d-\d\d", line[1]) for line in lines)
    button = html.unescape(re.search(r'id="confirm-action">(.*?)</button>', page).group(1))
    amount = re.fullmatch(r"Confirm plan change: customer pays ([\d,.]+) USD now", button)
    assert amount, button
    assert fact(page, "Proration") == f"The customer pays {amount.group(1)} USD now"
    assert fact(page, "Next invoice").startswith("57.00 USD on ")

    client.post(url, {**body, "request_key": confirm_key(page), "confirm": "1"})

    action = MoneyAction.objects.get()
    assert action.state == State.SUCCEEDED
    assert f"{action.amount / 100:,.2f}" == amount.group(1)
    [item] = sandbox.client.v1.subscriptions.retrieve(subscription.id)["items"].data
    assert (item.price.id, item.quantity) == (plans["team"].id, 3)


def test_a_quantity_lowered_on_the_next_invoice_gives_back_then(
        url, subscription, plans, sandbox, specialist):
    client = signed_in(specialist)
    sandbox.client.v1.subscriptions.update(subscription.id, params={
        "items": [{"id": subscription["items"].data[0].id, "quantity": 4}],
        "proration_behavior": "none"})
    body = fields(client, url, subscription, price_id=plans["monthly"].id, quantity="2",
                  proration_behavior="create_prorations")

    page = client.post(url, {**body, "preview": "1"}).content.decode()

    assert fact(page, "Plan") == "Console Pro monthly × 4 → Console Pro monthly × 2"
    assert re.match(r"The customer gets [\d.]+ USD back on the next invoice$",
                    fact(page, "Proration"))
    assert fact(page, "Next invoice").endswith(", the proration included")
    assert re.search(r'id="confirm-action">Confirm plan change: customer gets [\d.]+ USD back '
                     r"on the next invoice<", page)
    assert "Within the auto-approve limit of" in page

    client.post(url, {**body, "request_key": confirm_key(page), "confirm": "1"})

    action = MoneyAction.objects.get()
    assert action.params["moves"] == "gives_back_next_invoice"
    assert action.name == ("Plan change (Console Pro monthly × 4 → Console Pro monthly × 2), "
                           "prorated on the next invoice")


def _midway(subscription):
    item = subscription["items"].data[0]
    return (item.current_period_start + item.current_period_end) // 2


def _unused(subscription, when, amount):
    """What Stripe credits for the time left after `when` of the item's period."""
    item = subscription["items"].data[0]
    return round(amount * (item.current_period_end - when)
                 / (item.current_period_end - item.current_period_start))


def _day(timestamp):
    return f"{datetime.fromtimestamp(timestamp, UTC):%Y-%m-%d}"


def test_a_move_to_annual_charges_the_year_now_less_the_unused_month_and_next_a_year_on(
        url, subscription, plans, sandbox, specialist, finance, eager_tasks):
    """Stripe starts the annual period at once: the customer pays the year less the unused
    month now, whatever the proration chosen, and nothing more until a year later. What
    it pays now is money taken, above the limit for taking (500.00 USD): it waits for
    finance, and is named by what it takes wherever it is read."""
    client = signed_in(specialist)
    when = _midway(subscription)
    body = fields(client, url, subscription, price_id=plans["annual"].id, quantity="3",
                  proration_behavior="create_prorations", proration_date=str(when))
    unused = _unused(subscription, when, 4_900)
    now = 3 * 49_000 - unused

    page = client.post(url, {**body, "preview": "1"}).content.decode()

    assert fact(page, "Plan") == "Console Pro monthly × 1 → Console Pro annual × 3"
    assert fact(page, "Proration") == (f"The customer gets {format_amount(unused, 'usd')} "
                                       "back now, taken off the new plan's first invoice")
    invoiced = re.fullmatch(
        rf"The customer pays {format_amount(now, 'usd')} now: Console Pro annual × 3 from "
        r"(\S+) to (\S+), less the unused time\. .*", fact(page, "Invoiced now"))
    assert invoiced, fact(page, "Invoiced now")
    assert fact(page, "Next invoice") == f"1,470.00 USD on {invoiced.group(2)}"
    assert re.search(rf'id="confirm-action">Confirm plan change: customer pays '
                     rf'{format_amount(now, "usd")} now<', page)
    lines = re.search(r'<table id="preview-lines">.*?</table>', page, re.S).group(0)
    assert "Invoiced now" in lines and "1,470.00 USD" in lines

    assert "Takes more than 500.00 USD from the customer." in page
    assert "auto-approve limit" not in page

    requested = client.post(url, {**body, "request_key": confirm_key(page), "confirm": "1"},
                            follow=True)

    action = MoneyAction.objects.get()
    named = (f"Plan change: customer pays {format_amount(now, 'usd')} now (Console Pro "
             "monthly × 1 → Console Pro annual × 3)")
    assert (action.state, action.amount, action.name) == (State.PENDING_APPROVAL, now, named)
    assert f"{named} requested. It needs approval" in html.unescape(
        requested.content.decode())
    signed_in(finance).post(f"/approvals/{action.pk}/approve/",
                            {"note": "Fine.", "amount": action.amount})
    action.refresh_from_db()
    assert action.state == State.SUCCEEDED
    after = sandbox.client.v1.subscriptions.retrieve(subscription.id)
    assert sandbox.client.v1.invoices.retrieve(after.latest_invoice).total == now
    [item] = after["items"].data
    assert (_day(item.current_period_start), _day(item.current_period_end)) == \
        invoiced.groups()


def test_a_move_to_annual_unprorated_charges_the_whole_year_now(url, subscription, plans,
                                                                 specialist):
    client = signed_in(specialist)
    body = fields(client, url, subscription, price_id=plans["annual"].id, quantity="1",
                  proration_behavior="none")

    page = client.post(url, {**body, "preview": "1"}).content.decode()

    assert fact(page, "Proration") == "None: the change is not prorated"
    assert fact(page, "Invoiced now").startswith(
        "The customer pays 490.00 USD now: Console Pro annual × 1 from ")
    assert "less the unused time" not in fact(page, "Invoiced now")
    assert fact(page, "Next invoice").startswith("490.00 USD on ")
    assert 'id="confirm-action">Confirm plan change: customer pays 490.00 USD now<' in page


def test_the_plan_and_quantity_the_customer_has_is_no_change(url, subscription, plans,
                                                            specialist):
    client = signed_in(specialist)

    response = client.post(url, {**fields(client, url, subscription,
                                          price_id=plans["monthly"].id, quantity="1"),
                                 "preview": "1"})

    assert response.status_code == 400
    assert "That is the plan and quantity the customer has now" in response.content.decode()
    assert not MoneyAction.objects.exists()


@pytest.mark.parametrize("shift", [-400 * 24 * 3600, 400 * 24 * 3600],
                         ids=["a year before", "a year after"])
@pytest.mark.parametrize("step", ["preview", "confirm"])
def test_a_tampered_moment_of_pricing_is_refused_and_nothing_is_requested(
        url, subscription, plans, specialist, shift, step):
    """The hidden moment the preview prorates at is sent back by the browser: moved a year,
    it would price the change in another period. It is refused on the preview and on the
    confirm alike."""
    client = signed_in(specialist)
    body = fields(client, url, subscription, price_id=plans["annual"].id, quantity="1")
    page = client.post(url, {**body, "preview": "1"}).content.decode()
    tampered = {**body, "proration_date": str(int(body["proration_date"]) + shift)}
    extra = {"preview": "1"} if step == "preview" else \
        {"request_key": confirm_key(page), "confirm": "1"}

    response = client.post(url, {**tampered, **extra})

    assert response.status_code == 400
    assert "moment of pricing is not one the console can use" in html.unescape(
        response.content.decode())
    assert not MoneyAction.objects.exists()


@pytest.mark.parametrize("price, quantity", [("in_euros", "1"), ("one_off", "1"),
                                             ("annual", "0"), ("annual", "lots"),
                                             ("annual", "1" + "0" * 30)])
def test_a_plan_not_offered_or_a_bad_quantity_is_a_message_on_the_form(
        url, subscription, plans, specialist, price, quantity):
    client = signed_in(specialist)

    response = client.post(url, {**fields(client, url, subscription,
                                          price_id=plans[price].id, quantity=quantity),
                                 "preview": "1"})

    assert response.status_code == 400
    assert "Check the fields marked below." in response.content.decode()


def test_the_stripe_panel_names_the_plan(case, subscription, specialist):
    panel = signed_in(specialist).get(f"/cases/{case.pk}/stripe/").content.decode()

    row = re.search(rf"<tr>\s*<td><a [^>]*>{subscription.id}</a></td>.*?</tr>", panel,
                    re.S).group(0)
    assert "Console Pro monthly · 49.00 USD / month" in row
    assert "price_" not in row
