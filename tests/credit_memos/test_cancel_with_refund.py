"""Cancel now with a refund of the unused period, as one money action: one form beside "Cancel
now…", one preview of both the cancellation and the refund, one approval when the policy
asks, and two Stripe writes with keys of their own, the cancellation first; neither made
twice after a lost worker, and a refund that fails after the cancellation says so on the
case."""

import html
import math
import re
import time
from datetime import timedelta
from fractions import Fraction
from unittest import mock

import pytest

from billing_console.integrations.stripe import gateway
from billing_console.integrations.stripe.sandbox.builders import create_customer, subscribe
from billing_console.integrations.stripe.sandbox.state import State as SandboxState
from billing_console.money import format_amount
from billing_console.names import stripe_name
from cases.models import CaseEvent, StripeLink
from credit_memos.kinds import SUBSCRIPTION_CANCEL_WITH_REFUND
from credit_memos.selectors import LastPayment, unused_words
from money_actions import tasks
from money_actions.kinds import kind_leaving
from money_actions.models import LedgerEntry, MoneyAction, State
from money_actions.services import money_action_approve, money_action_begin_submission
from tests.cases.factories import make_case
from tests.credit_memos.conftest import deliver, post_memo
from tests.refunds.conftest import (  # noqa: F401 (a fixture)
    api_client,
    confirm_key,
    reply_templates,
    signed_in,
    stripe_refunds,
)

pytestmark = pytest.mark.django_db(transaction=True)
SLUG = SUBSCRIPTION_CANCEL_WITH_REFUND.slug
NOTE = "Customer asked to cancel today and be refunded."


@pytest.fixture
def plans(sandbox):
    product = sandbox.client.v1.products.create(params={"name": "Console Pro"})

    def price(amount, interval):
        return sandbox.client.v1.prices.create(params={
            "product": product.id, "unit_amount": amount, "currency": "usd",
            "recurring": {"interval": interval}})

    return {"monthly": price(4_900, "month"), "annual": price(120_000, "year")}


def subscribed(sandbox, customer, price, *, days_ago=12.2913):
    """A subscription to `price`, started and paid `days_ago` days ago (the sandbox's
    clock, for that while): the customer cancels mid-period."""
    then = int(time.time() - days_ago * 86_400)
    with mock.patch.object(SandboxState, "now", lambda state: then):
        return subscribe(sandbox.client, customer=customer.id, price=price.id)


@pytest.fixture
def subscription(sandbox, customer, plans):
    return subscribed(sandbox, customer, plans["monthly"])


def url(case, subscription):
    return f"/actions/subscription/{case.pk}/{subscription.id}/{SLUG}/"


def fields(client, case, subscription, **changes):
    """The form as the page gives it, with the moment it works the unused time out at."""
    page = client.get(url(case, subscription)).content.decode()
    at = int(re.search(r'name="at" value="(\d+)"', page).group(1))
    return {"refund": "unused", "at": at, "reason_code": "cancellation", "note": NOTE,
            **changes}


def request(client, case, subscription, form):
    """Preview, then confirm with the preview's key, as the page's buttons do; the preview."""
    preview = client.post(url(case, subscription), {**form, "preview": "1"})
    assert preview.status_code == 200, preview.content.decode()
    confirmed = client.post(url(case, subscription), {
        **form, "request_key": confirm_key(preview.content.decode()), "confirm": "1"})
    assert confirmed.status_code == 302, confirmed.content.decode()
    return preview.content.decode()


def paid_period(sandbox, subscription):
    """(start, end, amount paid) of the subscription's paid first invoice, from Stripe."""
    invoice = sandbox.client.v1.invoices.retrieve(subscription.latest_invoice)
    period = invoice.lines.data[0].period
    return period.start, period.end, invoice.amount_paid


def unused_share(sandbox, subscription, at):
    """Unused seconds / period seconds × amount paid, rounded up: worked out here apart
    from the console."""
    start, end, paid = paid_period(sandbox, subscription)
    return math.ceil(Fraction((end - at) * paid, end - start))


def the_charge(sandbox, customer):
    [charge] = sandbox.client.v1.charges.list(params={"customer": customer.id}).data
    return charge


def stripe_writes(sandbox, subscription):
    """(method, idempotency key) of each cancellation and refund Stripe received, in order."""
    log = sandbox._control("GET", "/_sandbox/requests")["data"]
    return [(entry["method"], entry["headers"].get("Idempotency-Key", "").rsplit("-", 1)[-1])
            for entry in log
            if (entry["method"], entry["path"]) in (("DELETE", f"/v1/subscriptions/"
                                                               f"{subscription.id}"),
                                                    ("POST", "/v1/refunds"))]


def the_action():
    return MoneyAction.objects.get(kind=SLUG)


def test_the_preview_the_policy_and_stripe_all_have_the_unused_part(
        case, sandbox, customer, subscription, specialist, eager_tasks):
    client = signed_in(specialist)
    form = fields(client, case, subscription)
    expected = unused_share(sandbox, subscription, form["at"])
    start, end, paid = paid_period(sandbox, subscription)

    preview = request(client, case, subscription, form)

    shown = format_amount(expected, "usd")
    assert f"Confirm: cancel now and refund {shown}" in preview
    assert (f"{end - form['at']:,} unused seconds ÷ {end - start:,} seconds of the period × "
            f"{paid:,} paid") in preview
    assert "canceled now, with nothing prorated or invoiced by Stripe" in preview
    action = the_action()
    assert (action.state, action.amount) == (State.SUCCEEDED, expected)
    verdicts = {verdict["rule"]: verdict["explanation"] for verdict in action.policy_verdicts}
    assert f"comes to {shown}" in verdicts["customer_total"]
    charge = the_charge(sandbox, customer)
    [refund] = stripe_refunds(sandbox, charge.id)
    assert (refund.amount, refund.metadata["console_money_action_id"]) == (
        expected, str(action.pk))
    assert stripe_writes(sandbox, subscription) == [("DELETE", "cancel"), ("POST", "refund")]
    canceled = sandbox.client.v1.subscriptions.retrieve(subscription.id)
    assert canceled.status == "canceled"
    assert sandbox.client.v1.invoices.list(params={"customer": customer.id}).data[0].id == \
        subscription.latest_invoice, "nothing invoiced at the cancellation"
    entry = LedgerEntry.objects.get(stripe_id=refund.id)
    assert (entry.money_action_id, entry.given_back) == (action.pk, expected)
    assert action.stripe_object_id == refund.id
    assert 0.55 < expected / paid < 0.62  # about 18 of 30 or 31 days unused


def test_the_unused_part_is_rounded_up_in_the_customers_favour():
    month = LastPayment(invoice=None, period_start=0, period_end=2_592_000,
                        paid_for_period=4_900)

    assert month.unused_refund(1_555_200) == 1_960  # 12 of 30 days: exactly 19.60
    assert month.unused_refund(1_555_201) == 1_960  # a second less: 19.5999…, up
    assert month.unused_refund(2_592_000) == 0
    assert (unused_words(1_036_799), unused_words(86_400), unused_words(7_200),
            unused_words(59)) == ("11 days", "1 day", "2 hours", "less than an hour")


def test_the_form_starts_filled_in_from_the_last_payment(case, subscription, specialist):
    page = signed_in(specialist).get(url(case, subscription)).content.decode()

    assert re.search(r'<option value="cancellation" selected>', page)
    assert "ends today, though invoice" in page
    assert re.search(r'value="unused"[^>]*checked', page)
    assert re.search(r"The unused 1[78] days: 2\d\.\d\d USD", page)
    assert "The whole last payment: 49.00 USD" in page


def test_the_whole_last_payment_goes_back_when_chosen(
        case, sandbox, customer, subscription, specialist, eager_tasks):
    client = signed_in(specialist)

    preview = request(client, case, subscription,
                      fields(client, case, subscription, refund="whole"))

    assert "Confirm: cancel now and refund 49.00 USD" in preview
    assert "The whole charge: 4,900" in preview
    assert (the_action().state, the_action().amount) == (State.SUCCEEDED, 4_900)
    [refund] = stripe_refunds(sandbox, the_charge(sandbox, customer).id)
    assert refund.amount == 4_900


def test_above_the_limit_one_approval_covers_the_cancellation_and_the_refund(
        case, sandbox, customer, plans, specialist, finance, eager_tasks):
    annual = subscribed(sandbox, customer, plans["annual"])
    client = signed_in(specialist)
    form = fields(client, case, annual)

    preview = request(client, case, annual, form)

    assert "Needs approval." in preview
    action = the_action()
    assert (action.state, action.amount) == (State.PENDING_APPROVAL,
                                             unused_share(sandbox, annual, form["at"]))
    assert stripe_writes(sandbox, annual) == []
    money_action_approve(action_id=action.pk, actor=finance)
    assert the_action().state == State.SUCCEEDED
    assert stripe_writes(sandbox, annual) == [("DELETE", "cancel"), ("POST", "refund")]


def test_refused_to_tier2_and_finance_on_the_server(case, subscription, tier2, finance):
    for user in (tier2, finance):
        client = signed_in(user)
        assert client.get(url(case, subscription)).status_code == 403
        assert client.post(url(case, subscription), {"preview": "1"}).status_code == 403
    assert not MoneyAction.objects.exists()


def approved(case, sandbox, customer, plans, specialist, finance):
    """An approved cancellation with refund whose submission nobody has taken yet."""
    annual = subscribed(sandbox, customer, plans["annual"])
    client = signed_in(specialist)
    request(client, case, annual, fields(client, case, annual))
    with mock.patch.object(tasks.submit_money_action, "delay"):
        money_action_approve(action_id=the_action().pk, actor=finance)
    return annual, the_action()


def test_a_worker_lost_after_the_cancellation_makes_the_refund_once_and_cancels_once(
        case, sandbox, customer, plans, specialist, finance):
    annual, action = approved(case, sandbox, customer, plans, specialist, finance)
    claimed = money_action_begin_submission(action_id=action.pk)
    SUBSCRIPTION_CANCEL_WITH_REFUND.executor.refresh(claimed)
    # The lost worker's first write, with its key, then nothing recorded.
    gateway.cancel_subscription_now(subscription_id=annual.id, prorate=False,
                                    invoice_now=False,
                                    idempotency_key=f"{claimed.idempotency_key}-cancel")

    tasks.submit_money_action(str(action.pk))  # the message delivered again

    assert the_action().state == State.SUCCEEDED
    assert stripe_writes(sandbox, annual) == [("DELETE", "cancel"), ("POST", "refund")]
    assert len(stripe_refunds(sandbox, the_charge(sandbox, customer).id)) == 1


def test_a_worker_lost_after_both_writes_is_settled_by_the_reconciler_without_a_third(
        case, sandbox, customer, plans, specialist, finance, settings):
    annual, action = approved(case, sandbox, customer, plans, specialist, finance)
    claimed = money_action_begin_submission(action_id=action.pk)
    SUBSCRIPTION_CANCEL_WITH_REFUND.executor.submit(claimed)  # Stripe's answer, lost
    later = claimed.submitted_at + timedelta(minutes=settings.MONEY_ACTION_STUCK_MINUTES + 1)

    tasks.reconcile_stuck_submissions(now=later)

    assert the_action().state == State.SUCCEEDED
    assert stripe_writes(sandbox, annual) == [("DELETE", "cancel"), ("POST", "refund")]
    assert the_action().stripe_object_id == \
        stripe_refunds(sandbox, the_charge(sandbox, customer).id)[0].id


def test_a_refund_refused_after_the_cancellation_says_so_on_the_case(
        case, sandbox, customer, plans, specialist, finance):
    annual, action = approved(case, sandbox, customer, plans, specialist, finance)
    money_action_begin_submission(action_id=action.pk)
    money_action_begin_submission(action_id=action.pk)  # a retry: Stripe did not answer
    charge = the_charge(sandbox, customer)
    # Meanwhile the whole charge is refunded in the Dashboard.
    sandbox.client.v1.refunds.create(params={"charge": charge.id})

    tasks.submit_money_action(str(action.pk))

    failed = the_action()
    assert failed.state == State.FAILED
    assert failed.failure_reason.startswith(
        f"The subscription was canceled, but the refund of {format_amount(failed.amount, 'usd')}"
        f" on the charge of 1,200.00 USD")
    assert sandbox.client.v1.subscriptions.retrieve(annual.id).status == "canceled"
    page = signed_in(specialist).get(f"/cases/{case.pk}/").content.decode()
    assert "The subscription was canceled, but the refund of" in page
    assert "Refund the charge from the case&#x27;s Stripe panel" in page
    [told] = CaseEvent.objects.filter(case=case, body__contains="failed:")
    assert told.body.endswith("or tell finance.")  # one full stop


def test_a_refund_that_fails_after_it_succeeded_says_the_subscription_ended_anyway(
        sandbox, plans, specialist, eager_tasks):
    customer = create_customer(sandbox.client, name="Lin Wu", email="lin@example.com",
                               payment_method="pm_card_refundFail")
    case = make_case(stripe_customer_id=customer.id, stripe_link=StripeLink.VERIFIED)
    subscription = subscribed(sandbox, customer, plans["monthly"])
    client = signed_in(specialist)
    request(client, case, subscription, fields(client, case, subscription))
    assert the_action().state == State.SUCCEEDED
    refund_id = the_action().stripe_object_id
    wait_until_failed(sandbox, refund_id)

    deliver(sandbox, "refund.failed")

    failed = the_action()
    assert failed.state == State.FAILED
    assert failed.failure_reason.startswith("The subscription was canceled, but the refund")
    assert failed.finance_flag
    page = client.get(f"/cases/{case.pk}/").content.decode()
    assert "The subscription was canceled, but the refund of" in page


def wait_until_failed(sandbox, refund_id, seconds=5):
    deadline = time.monotonic() + seconds
    while sandbox.client.v1.refunds.retrieve(refund_id).status != "failed":
        assert time.monotonic() < deadline, "the refund never failed"
        time.sleep(0.1)


def test_a_refund_made_outside_the_console_is_still_the_refund_kinds():
    assert kind_leaving("refund", "").slug == "refund"
    assert kind_leaving("refund", "with_cancellation") is SUBSCRIPTION_CANCEL_WITH_REFUND


# Through the API -------------------------------------------------------------------------

API = "/api/v1/subscription-changes/"


def api_body(case, subscription, **changes):
    return {"case_id": case.pk, "subscription_id": subscription.id, "kind": SLUG,
            "reason_code": "cancellation", "note": NOTE, **changes}


def test_the_api_requests_what_its_preview_worked_out_once_per_key(
        case, sandbox, customer, subscription, specialist, eager_tasks):
    shown = post_memo(specialist, api_body(case, subscription), API + "preview/")
    assert shown.status_code == 200, shown.json()
    shown = shown.json()
    body = api_body(case, subscription, at=shown["at"])

    created = post_memo(specialist, body, API, key="cancel-1")
    again = post_memo(specialist, body, API, key="cancel-1")

    assert created.status_code == 201, created.json()
    assert again.json()["id"] == created.json()["id"]
    start, end, paid = paid_period(sandbox, subscription)
    expected = unused_share(sandbox, subscription, shown["at"])
    assert (shown["kind"], shown["refund"], shown["amount"], shown["worked_out"]) == (
        SLUG, "unused_period", expected, expected)
    assert shown["paid_period"] == {"start": start, "end": end, "seconds": end - start,
                                    "paid": paid}
    assert shown["unused_period"] == {"start": shown["at"], "end": end,
                                      "seconds": end - shown["at"]}
    charge = the_charge(sandbox, customer)
    assert shown["charge"] == {"id": charge.id, "amount": 4_900, "created": charge.created,
                               "invoice_id": subscription.latest_invoice,
                               "refundable": 4_900}
    assert shown["cancellation"] == {"status": "active", "prorate": False,
                                     "invoice_now": False}
    assert not shown["needs_approval"]
    action = the_action()
    assert (action.state, action.amount, action.params["at"]) == (
        State.SUCCEEDED, shown["amount"], shown["at"])
    [refund] = stripe_refunds(sandbox, charge.id)
    assert refund.amount == shown["amount"]
    assert stripe_writes(sandbox, subscription) == [("DELETE", "cancel"), ("POST", "refund")]


def test_the_api_refunds_the_whole_payment_under_the_same_policy_as_the_page(
        case, sandbox, customer, plans, specialist, eager_tasks):
    annual = subscribed(sandbox, customer, plans["annual"])
    body = api_body(case, annual, refund="whole_payment")

    shown = post_memo(specialist, body, API + "preview/").json()
    created = post_memo(specialist, {**body, "at": shown["at"]}, API).json()

    assert (shown["amount"], shown["worked_out"], shown["needs_approval"]) == (
        120_000, 120_000, True)
    assert (created["state"], created["amount"]) == ("pending_approval", 120_000)
    assert stripe_writes(sandbox, annual) == []


def test_the_api_is_refused_to_tier2_and_finance(case, subscription, tier2, finance):
    for user in (tier2, finance):
        for path in (API + "preview/", API):
            assert post_memo(user, api_body(case, subscription), path).status_code == 403
    assert not MoneyAction.objects.exists()


def test_the_api_says_in_words_when_nothing_is_left_to_refund(
        case, sandbox, customer, subscription, specialist):
    sandbox.client.v1.refunds.create(params={"charge": the_charge(sandbox, customer).id})

    for path in (API + "preview/", API):
        refused = post_memo(specialist, api_body(case, subscription), path)

        assert refused.status_code == 409
        assert refused.json()["code"] == "amount_above_refundable"
        assert refused.json()["message"].startswith("The charge of 49.00 USD on ")
        assert refused.json()["message"].endswith(
            "has nothing left to refund: it was refunded already, or a refund is on its way. "
            "Cancel now without a refund.")
    assert not MoneyAction.objects.exists()


def test_the_api_refuses_a_moment_out_of_date_in_words(case, subscription, specialist):
    refused = post_memo(specialist, api_body(case, subscription, at=int(time.time()) - 7_200),
                        API + "preview/")

    assert (refused.status_code, refused.json()["code"]) == (409, "at")
    assert "worked out more than an hour ago" in refused.json()["message"]


@pytest.mark.parametrize("moment", [
    lambda period_start: int(time.time()) + 86_400 * 365 * 50,  # far in the future
    lambda period_start: period_start - 60,  # before the period paid for began
])
def test_a_moment_the_console_never_gave_is_refused_in_words(
        case, sandbox, customer, plans, specialist, moment):
    subscription = subscribed(sandbox, customer, plans["monthly"], days_ago=0.01)
    start, _, _ = paid_period(sandbox, subscription)
    client = signed_in(specialist)
    form = fields(client, case, subscription, at=moment(start))

    page = html.unescape(client.post(url(case, subscription), {**form, "preview": "1"})
                         .content.decode())
    refused = post_memo(specialist, api_body(case, subscription, at=moment(start)),
                        API + "preview/")

    said = ("This form's moment is not one the console gave; open the form again from the "
            "subscription, or preview again.")
    assert said in page and said == refused.json()["message"]
    assert "ended on" not in page and "more than an hour ago" not in page
    assert not MoneyAction.objects.exists()


# What the case drafts after it -------------------------------------------------------------


@pytest.mark.usefixtures("reply_templates")
def test_after_it_the_case_resolves_as_a_subscription_changed_with_the_refund_on_its_way(
        case, sandbox, customer, subscription, specialist, eager_tasks):
    client = signed_in(specialist)
    request(client, case, subscription, fields(client, case, subscription))
    refunded = format_amount(the_action().amount, "usd")
    charge = stripe_name(gateway.get_charge(charge_id=the_charge(sandbox, customer).id))

    page = html.unescape(client.get(f"/cases/{case.pk}/").content.decode())

    assert '<option value="subscription_changed" selected>Subscription changed</option>' in page
    assert "selected>Subscription canceled with a refund</option>" in page
    assert (f"Hi Ava,\n\nYour subscription is canceled, as you asked. Your refund of {refunded} "
            f"for {charge} is on its way to your card.") in page
    assert f"Cancellation with refund of {refunded} on the subscription to Console Pro" in page


@pytest.mark.usefixtures("reply_templates")
def test_every_reply_names_the_charge_the_cancellation_refunded(
        case, sandbox, customer, subscription, specialist, eager_tasks):
    client = signed_in(specialist)
    request(client, case, subscription, fields(client, case, subscription, refund="whole"))
    charge = stripe_name(gateway.get_charge(charge_id=the_charge(sandbox, customer).id))

    listed = api_client(specialist).get(f"/api/v1/cases/{case.pk}/reply-templates/").json()

    bodies = {template["name"]: template["body"] for template in listed["results"]}
    assert f"Your refund of 49.00 USD for {charge} is on its way" in bodies["Refund issued"]
    assert "the charge you asked about" not in "".join(bodies.values())
