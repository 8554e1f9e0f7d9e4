"""The case page's suggested actions: each is offered when its fact holds and not
otherwise, and the Charges table shows a duplicate run together, in the facts' order.

Snapshots are read from the Stripe sandbox, whose clock the test sets (`clock`), so the
times in the texts are known."""

import re
import time
from datetime import UTC, datetime, timedelta

import pytest

from billing_console.integrations.stripe import gateway
from billing_console.integrations.stripe.sandbox.builders import (
    charge,
    create_customer,
    recurring_price,
    subscribe,
)
from billing_console.money import format_amount
from cases.models import Category, StripeLink
from guidance.facts import stripe_facts
from guidance.suggestions import (
    DUPLICATE,
    KEEP,
    REFUND_THIS,
    Suggestion,
    charge_rows,
    duplicate_runs,
    suggested_actions,
)
from money_actions.models import MoneyAction, MoneyPolicy, State
from tests.cases.factories import make_case
from tests.conftest import signed_in

pytestmark = pytest.mark.usefixtures("refund_policy")


@pytest.fixture
def case(sandbox, clock):
    customer = create_customer(sandbox.client, name="Ada Lovelace", email="ada@example.com",
                               payment_method="pm_card_visa")
    return make_case(stripe_customer_id=customer.id, stripe_link=StripeLink.VERIFIED,
                     category=Category.DUPLICATE_CHARGE)


def snapshot_of(customer_id):
    return gateway.billing_snapshot(customer_id=customer_id)


def suggestions(case, kind=None):
    found = suggested_actions(case, snapshot_of(case.stripe_customer_id))
    return [suggestion for suggestion in found if kind is None or suggestion.kind == kind]


def refund_link(case, charge_id):
    return f"/refunds/new/{case.pk}/{charge_id}/?suggested=duplicate"


# A duplicate --------------------------------------------------------------------------------


def test_a_run_of_two_equal_charges_suggests_refunding_the_later_one(sandbox, clock, case):
    charge(sandbox.client, customer=case.stripe_customer_id, amount=1_750)
    clock.advance(minutes=1)
    later = charge(sandbox.client, customer=case.stripe_customer_id, amount=1_750)

    assert suggestions(case) == [Suggestion(
        "duplicate", "Refund the duplicate 17.50 USD charge of 20 Nov 10:01 (keep the one of "
                     "10:00)", refund_link(case, later))]


def test_two_charges_of_one_minute_are_told_apart_by_their_seconds(sandbox, clock, case):
    charge(sandbox.client, customer=case.stripe_customer_id, amount=1_750)
    clock.advance(seconds=20)
    charge(sandbox.client, customer=case.stripe_customer_id, amount=1_750)

    assert [suggestion.text for suggestion in suggestions(case)] == [
        "Refund the duplicate 17.50 USD charge of 20 Nov 10:00:20 (keep the one of 10:00:00)"]


def test_two_charges_of_one_second_are_told_apart_by_the_table_only(sandbox, clock, case):
    charge(sandbox.client, customer=case.stripe_customer_id, amount=1_750)
    charge(sandbox.client, customer=case.stripe_customer_id, amount=1_750)

    assert [suggestion.text for suggestion in suggestions(case)] == [
        "Refund the duplicate 17.50 USD charge of 20 Nov 10:00 (keep the other, made the same "
        "second)"]


def test_charges_further_apart_than_the_window_suggest_nothing(sandbox, clock, case):
    MoneyPolicy.objects.filter(pk=1).update(duplicate_window_hours=2)
    charge(sandbox.client, customer=case.stripe_customer_id, amount=1_750)
    clock.advance(hours=3)
    charge(sandbox.client, customer=case.stripe_customer_id, amount=1_750)

    assert suggestions(case) == []


def test_a_duplicate_already_refunded_in_stripe_is_not_suggested_again(sandbox, clock, case):
    charge(sandbox.client, customer=case.stripe_customer_id, amount=1_750)
    later = charge(sandbox.client, customer=case.stripe_customer_id, amount=1_750)
    sandbox.client.v1.refunds.create(params={"charge": later})

    assert suggestions(case) == []


def test_a_duplicate_refunded_in_part_suggests_refunding_what_is_left_of_it(
        sandbox, clock, case, specialist):
    charge(sandbox.client, customer=case.stripe_customer_id, amount=2_000)
    clock.advance(minutes=1)
    later = charge(sandbox.client, customer=case.stripe_customer_id, amount=2_000)
    sandbox.client.v1.refunds.create(params={"charge": later, "amount": 500})

    [suggestion] = suggestions(case)

    assert suggestion.text == ("Refund the 15.00 USD left of the duplicate 20.00 USD charge "
                               "of 20 Nov 10:01 (keep the one of 10:00)")
    form = signed_in(specialist).get(suggestion.url).content.decode()
    assert re.search(r'name="amount" value="15.00"', form)
    assert "15.00 USD refunded, all that was left of it" in form


def test_a_duplicate_whose_refund_waits_for_approval_is_not_suggested_again(
        sandbox, clock, case, specialist):
    charge(sandbox.client, customer=case.stripe_customer_id, amount=1_750)
    later = charge(sandbox.client, customer=case.stripe_customer_id, amount=1_750)
    MoneyAction.objects.create(
        kind="refund", case=case, stripe_customer_id=case.stripe_customer_id,
        stripe_target_id=later, amount=1_000, currency="usd", state=State.PENDING_APPROVAL,
        reason_code="duplicate_charge", note="Half now.", requested_by=specialist)

    assert suggestions(case) == []


def pair_with_a_failed_charge_between(sandbox, clock, customer_id):
    """Two equal charges a minute either side of a declined one: (kept, failed, later)."""
    kept = charge(sandbox.client, customer=customer_id, amount=1_750)
    clock.advance(minutes=1)
    failed = charge(sandbox.client, customer=customer_id, amount=9_900,
                    payment_method="pm_card_chargeDeclined")
    clock.advance(minutes=1)
    return kept, failed, charge(sandbox.client, customer=customer_id, amount=1_750)


def test_a_failed_charge_between_leaves_the_pair_together_in_the_facts_order(
        sandbox, clock, case):
    customer_id = case.stripe_customer_id
    kept, failed, later = pair_with_a_failed_charge_between(sandbox, clock, customer_id)
    clock.advance(minutes=1)
    newest = charge(sandbox.client, customer=customer_id, amount=4_000)
    snapshot = snapshot_of(customer_id)

    rows = charge_rows(case, snapshot, duplicate_runs(snapshot))

    assert [(row.charge.id, row.mark) for row in rows] == [
        (newest, ""), (later, REFUND_THIS), (kept, KEEP), (failed, "")]
    assert rows[1].refund_url == refund_link(case, later)
    assert "at 10:02 and 10:00 UTC" in stripe_facts(snapshot, now=clock.now)[0].text
    assert len(suggestions(case)) == 1


def test_of_three_equal_charges_the_two_later_ones_are_suggested_newest_first(
        sandbox, clock, case):
    customer_id = case.stripe_customer_id
    charges = []
    for _ in range(3):
        charges.append(charge(sandbox.client, customer=customer_id, amount=1_750))
        clock.advance(minutes=5)
    sandbox.client.v1.refunds.create(params={"charge": charges[1], "amount": 500})
    snapshot = snapshot_of(customer_id)

    rows = charge_rows(case, snapshot, duplicate_runs(snapshot))

    assert [suggestion.url for suggestion in suggestions(case)] == [
        refund_link(case, charges[2]), refund_link(case, charges[1])]
    assert [row.mark for row in rows] == [REFUND_THIS, REFUND_THIS, KEEP]
    assert DUPLICATE not in [row.mark for row in rows]


# Overbilled seats ---------------------------------------------------------------------------


def team_of_five(sandbox, customer_id):
    """A subscription of 5 seats, billed and paid: (subscription, its first invoice)."""
    price = recurring_price(sandbox.client, product_name="Console Team", unit_amount=1_900)
    subscription = subscribe(sandbox.client, customer=customer_id, price=price.id, quantity=5)
    return subscription, sandbox.client.v1.invoices.retrieve(subscription.latest_invoice)


def seats_now(sandbox, subscription, quantity):
    item = subscription["items"]["data"][0]
    sandbox.client.v1.subscriptions.update(subscription.id, params={
        "items": [{"id": item.id, "quantity": quantity}], "proration_behavior": "none"})


def test_an_invoice_billing_a_seat_the_subscription_no_longer_has_suggests_its_credit(
        sandbox, clock, case):
    subscription, invoice = team_of_five(sandbox, case.stripe_customer_id)
    seats_now(sandbox, subscription, 4)

    assert suggestions(case, "overbilled_seats") == [Suggestion(
        "overbilled_seats", f"Credit the overbilled seat on invoice {invoice.number}",
        f"/actions/credit-memo/{case.pk}/{invoice.id}/?suggested=overbilled_seats")]


def test_seats_billed_as_the_subscription_has_them_suggest_no_credit(sandbox, clock, case):
    subscription, _ = team_of_five(sandbox, case.stripe_customer_id)
    seats_now(sandbox, subscription, 5)

    assert suggestions(case, "overbilled_seats") == []


def test_two_seats_removed_and_one_already_credited_suggest_the_other(sandbox, clock, case):
    subscription, invoice = team_of_five(sandbox, case.stripe_customer_id)
    seats_now(sandbox, subscription, 3)
    line = invoice.lines.data[0]
    sandbox.client.v1.credit_notes.create(params={
        "invoice": invoice.id, "lines": [{"type": "invoice_line_item",
                                          "invoice_line_item": line.id, "quantity": 1}],
        "credit_amount": 1_900})

    assert [suggestion.text for suggestion in suggestions(case, "overbilled_seats")] == [
        f"Credit the overbilled seat on invoice {invoice.number}"]


# Cancel at period end -----------------------------------------------------------------------


@pytest.mark.parametrize("category, cancel_at_period_end, offered", [
    (Category.PLAN_CHANGE, False, True),
    (Category.PLAN_CHANGE, True, False),
    (Category.REFUND_REQUEST, False, False),
])
def test_a_cancellation_at_period_end_is_offered_on_a_plan_change_case_only(
        sandbox, clock, case, category, cancel_at_period_end, offered):
    case.category = category
    price = recurring_price(sandbox.client, product_name="Console Pro", unit_amount=4_900)
    subscription = subscribe(sandbox.client, customer=case.stripe_customer_id, price=price.id)
    if cancel_at_period_end:
        sandbox.client.v1.subscriptions.update(subscription.id,
                                               params={"cancel_at_period_end": True})

    found = suggestions(case, "cancel_at_period_end")

    assert found == ([Suggestion(
        "cancel_at_period_end", "Cancel the subscription to Console Pro monthly at period end",
        f"/actions/subscription/{case.pk}/{subscription.id}/subscription_cancel_at_end/"
        "?suggested=cancel_at_period_end")] if offered else [])


# Cancel now with a refund -------------------------------------------------------------------


@pytest.mark.parametrize("category, paid_days_ago, offered", [
    (Category.PLAN_CHANGE, 18, True),
    (Category.PLAN_CHANGE, 40, False),  # the month paid for has ended
    (Category.REFUND_REQUEST, 18, False),
])
def test_a_cancellation_now_with_a_refund_of_the_unused_days_is_offered_within_the_period(
        sandbox, clock, case, category, paid_days_ago, offered):
    case.category = category
    clock.now = datetime.now(UTC) - timedelta(days=paid_days_ago)
    price = recurring_price(sandbox.client, product_name="Console Pro", unit_amount=4_900)
    subscription = subscribe(sandbox.client, customer=case.stripe_customer_id, price=price.id)
    period = sandbox.client.v1.invoices.retrieve(subscription.latest_invoice).lines.data[0].period

    def text(at):
        unused = period.end - int(at)
        share = -(-unused * 4_900 // (period.end - period.start))
        return (f"Cancel the subscription to Console Pro monthly now and refund the unused "
                f"{unused // 86_400} days ({format_amount(share, 'usd')})")

    before = time.time()
    found = suggestions(case, "cancel_with_refund")
    after = time.time()

    link = (f"/actions/subscription/{case.pk}/{subscription.id}/subscription_cancel_refund/"
            "?suggested=cancel_with_refund")
    assert [(each.text in {text(before), text(after)}, each.url) for each in found] == (
        [(True, link)] if offered else [])


def test_a_cancellation_whose_last_payment_was_refunded_in_part_names_no_amount_it_cannot_give(
        sandbox, clock, case, specialist):
    case.category = Category.PLAN_CHANGE
    clock.now = datetime.now(UTC) - timedelta(days=3)
    price = recurring_price(sandbox.client, product_name="Console Pro", unit_amount=4_900)
    subscription = subscribe(sandbox.client, customer=case.stripe_customer_id, price=price.id)
    [paid] = sandbox.client.v1.charges.list(params={"customer": case.stripe_customer_id}).data
    sandbox.client.v1.refunds.create(params={"charge": paid.id, "amount": 4_000})

    [suggestion] = suggestions(case, "cancel_with_refund")

    # About 27 of 30 days unused would be about 44.00, more than the 9.00 left.
    assert suggestion.text.endswith(" days (the form shows what is left)"), suggestion.text
    case.save()
    form = signed_in(specialist).get(suggestion.url).content.decode()
    assert re.search(r"The unused 2\d days: 9.00 USD", form), subscription.id


def test_a_cancellation_whose_last_payment_is_disputed_names_no_amount(sandbox, clock):
    customer = create_customer(sandbox.client, name="Ada Lovelace", email="ada@example.com",
                               payment_method="pm_card_createDispute")
    case = make_case(stripe_customer_id=customer.id, stripe_link=StripeLink.VERIFIED,
                     category=Category.PLAN_CHANGE)
    clock.now = datetime.now(UTC) - timedelta(days=3)
    price = recurring_price(sandbox.client, product_name="Console Pro", unit_amount=4_900)
    subscribe(sandbox.client, customer=customer.id, price=price.id)

    [suggestion] = suggestions(case, "cancel_with_refund")

    # Stripe refunds nothing of a disputed charge: its preview says so.
    assert suggestion.text.endswith(" days (the form shows what is left)"), suggestion.text


def test_the_window_is_the_policys(sandbox, clock, case):
    charge(sandbox.client, customer=case.stripe_customer_id, amount=1_750)
    clock.advance(hours=3)
    charge(sandbox.client, customer=case.stripe_customer_id, amount=1_750)
    snapshot = snapshot_of(case.stripe_customer_id)

    assert duplicate_runs(snapshot, window=timedelta(hours=2)) == []
    assert len(duplicate_runs(snapshot)) == 1  # the seeded policy's 24 hours


# On the Stripe panel ------------------------------------------------------------------------


def test_the_panel_offers_the_suggestions_to_specialists_only_and_shows_the_pair_together(
        sandbox, clock, case, specialist, finance):
    kept, failed, later = pair_with_a_failed_charge_between(sandbox, clock,
                                                            case.stripe_customer_id)

    panel = signed_in(specialist).get(f"/cases/{case.pk}/stripe/").content.decode()
    finance_panel = signed_in(finance).get(f"/cases/{case.pk}/stripe/").content.decode()

    suggested = re.search(r'<div class="suggestions" id="panel-suggestions">(.*?)</div>',
                          panel, re.S).group(1)
    assert 'aria-keyshortcuts="s"' in suggested and refund_link(case, later) in suggested
    assert "Refund the duplicate 17.50 USD charge of 20 Nov 10:02 (keep the one of 10:00)" \
        in suggested
    order = [panel.index(f">{charge_id}<") for charge_id in (later, kept, failed)]
    assert order == sorted(order)
    assert "2026-11-20 10:02" in panel and ">Keep<" in panel
    assert "panel-suggestions" not in finance_panel and "/refunds/new/" not in finance_panel
    assert ">Keep<" in finance_panel and ">Refund this<" in finance_panel


def test_no_cancellation_is_offered_while_another_change_waits_and_its_preview_refuses(
        sandbox, clock, case, specialist):
    case.category = Category.PLAN_CHANGE
    case.save(update_fields=["category"])
    price = recurring_price(sandbox.client, product_name="Console Pro", unit_amount=4_900)
    subscription = subscribe(sandbox.client, customer=case.stripe_customer_id, price=price.id)
    MoneyAction.objects.create(
        kind="subscription_cancel_refund", case=case, stripe_customer_id=case.stripe_customer_id,
        stripe_target_id=subscription.id, amount=1_960, currency="usd",
        state=State.PENDING_APPROVAL, reason_code="cancellation", note="Cancel now.",
        requested_by=specialist)

    preview = signed_in(specialist).post(
        f"/actions/subscription/{case.pk}/{subscription.id}/subscription_cancel_at_end/",
        {"reason_code": "cancellation", "note": "Cancel at the end.", "preview": "1"})

    assert suggestions(case, "cancel_at_period_end") == []
    assert suggestions(case, "cancel_with_refund") == []
    page = preview.content.decode()
    assert "Another change to it is waiting or under way" in page
    assert "Within policy" not in page
