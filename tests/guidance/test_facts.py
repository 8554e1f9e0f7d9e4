"""Tier 2's billing facts, from snapshots the gateway reads from the Stripe sandbox.

Each test sets the sandbox's clock (the `clock` fixture), so the dates in the texts and the
gaps between charges are known."""

import re
import time
from datetime import UTC, datetime, timedelta

import pytest

from billing_console.integrations.stripe import gateway
from billing_console.integrations.stripe.sandbox.builders import (
    charge,
    create_customer,
    draft_invoice,
    open_invoice,
    paid_invoice,
    recurring_price,
    subscribe,
    tax_rate,
)
from cases.models import Category
from guidance.facts import Fact, stripe_facts, suggested_category
from money_actions.models import MoneyPolicy
from tests.guidance.conftest import START

# A charge is a likely duplicate only while another of its run is kept, which the console's
# own refunds on their way decide too.
pytestmark = pytest.mark.django_db

# What no fact may hold: a raw Stripe id (an invoice is named by its number).
STRIPE_ID = re.compile(r"\b(ch|re|in|cn|cus|sub|price|prod|pi|pm|dp)_[A-Za-z0-9]{6,}")
WINDOW_HOURS = 24
EMAIL = "ada@example.com"
LINES = [("Pro plan, November", 6_000), ("Extra seats × 4", 4_000)]


@pytest.fixture
def customer(sandbox, clock):
    return create_customer(sandbox.client, name="Ada Lovelace", email=EMAIL,
                           payment_method="pm_card_visa").id


def facts_of(customer, *, now=START, window_hours=WINDOW_HOURS):
    snapshot = gateway.billing_snapshot(customer_id=customer)
    return stripe_facts(snapshot, now=now, duplicate_window_hours=window_hours)


def texts(customer, kind, **options):
    return [fact.text for fact in facts_of(customer, **options) if fact.kind == kind]


def refund(sandbox, charge_id, amount):
    return sandbox.client.v1.refunds.create(params={"charge": charge_id, "amount": amount})


def wait_until_failed(sandbox, refund_id):
    """The sandbox fails a refund on pm_card_refundFail half a second after it succeeded."""
    deadline = time.monotonic() + 5
    while sandbox.client.v1.refunds.retrieve(refund_id).status != "failed":
        assert time.monotonic() < deadline, "the refund never failed"
        time.sleep(0.1)


def invoice_name(invoice):
    return invoice.number


# Duplicate charges ----------------------------------------------------------------------------


def test_two_charges_of_one_amount_minutes_apart_are_a_likely_duplicate(sandbox, clock,
                                                                         customer):
    charge(sandbox.client, customer=customer, amount=1_600)
    clock.advance(minutes=2, seconds=30)
    charge(sandbox.client, customer=customer, amount=1_600)
    charge(sandbox.client, customer=customer, amount=2_500)

    assert facts_of(customer)[0] == Fact(
        "duplicate_charge",
        "2 charges of 16.00 USD within 3 minutes, at 10:02 and 10:00 UTC on 2026-11-20: "
        "likely duplicate",
        "duplicate_charge")


def test_charges_of_one_minute_are_told_apart_by_their_seconds(sandbox, clock, customer):
    charge(sandbox.client, customer=customer, amount=1_600)
    clock.advance(seconds=20)
    charge(sandbox.client, customer=customer, amount=1_600)

    assert texts(customer, "duplicate_charge") == [
        "2 charges of 16.00 USD within 1 minute, at 10:00:20 and 10:00:00 UTC on 2026-11-20: "
        "likely duplicate"]


def test_charges_further_apart_than_the_window_are_not_a_duplicate(sandbox, clock, customer):
    charge(sandbox.client, customer=customer, amount=1_600)
    clock.advance(hours=25)
    charge(sandbox.client, customer=customer, amount=1_600)

    assert texts(customer, "duplicate_charge", window_hours=24) == []
    assert texts(customer, "duplicate_charge", window_hours=48) == [
        "2 charges of 16.00 USD within 25 hours, at 11:00 on 2026-11-21 and 10:00 on "
        "2026-11-20 (UTC): likely duplicate"]


def test_a_declined_charge_is_not_a_duplicate(sandbox, clock, customer):
    charge(sandbox.client, customer=customer, amount=1_600,
           payment_method="pm_card_chargeDeclined")
    charge(sandbox.client, customer=customer, amount=1_600)

    assert texts(customer, "duplicate_charge") == []


def test_the_window_is_measured_from_the_first_charge_so_daily_charges_do_not_chain(
        sandbox, clock, customer):
    charge(sandbox.client, customer=customer, amount=1_600)
    clock.advance(hours=20)
    charge(sandbox.client, customer=customer, amount=1_600)
    clock.advance(hours=20)
    charge(sandbox.client, customer=customer, amount=1_600)

    assert texts(customer, "duplicate_charge") == [
        "2 charges of 16.00 USD within 20 hours, at 06:00 on 2026-11-21 and 10:00 on "
        "2026-11-20 (UTC): likely duplicate"]


def test_a_duplicate_already_refunded_says_how_much(sandbox, clock, customer):
    charge(sandbox.client, customer=customer, amount=1_600)
    second = charge(sandbox.client, customer=customer, amount=1_600)
    refund(sandbox, second, 1_600)

    assert texts(customer, "duplicate_charge") == [
        "2 charges of 16.00 USD within 1 minute, at 10:00 and 10:00 UTC on 2026-11-20: "
        "likely duplicate; 16.00 USD already refunded"]


def test_the_window_defaults_to_the_refund_policy(sandbox, clock, customer, db):
    charge(sandbox.client, customer=customer, amount=1_600)
    clock.advance(hours=2)
    charge(sandbox.client, customer=customer, amount=1_600)
    snapshot = gateway.billing_snapshot(customer_id=customer)

    MoneyPolicy.objects.update_or_create(pk=1, defaults={"duplicate_window_hours": 1})
    assert [fact.kind for fact in stripe_facts(snapshot, now=START)] == []
    MoneyPolicy.objects.filter(pk=1).update(duplicate_window_hours=3)
    assert [fact.kind for fact in stripe_facts(snapshot, now=START)] == ["duplicate_charge"]


# Disputes and refunds -------------------------------------------------------------------------


def test_an_open_dispute_names_its_charge_and_reason_in_words(sandbox, clock, customer):
    charge(sandbox.client, customer=customer, amount=1_600,
           payment_method="pm_card_createDispute")

    assert texts(customer, "dispute") == [
        "dispute of 16.00 USD on the charge of 2026-11-20 open since 2026-11-20 (fraudulent)"]


def test_a_refund_says_when_it_arrives_and_a_failed_one_why(sandbox, clock, customer):
    refund(sandbox, charge(sandbox.client, customer=customer, amount=1_600), 1_600)
    clock.advance(hours=1)
    failing = charge(sandbox.client, customer=customer, amount=700,
                     payment_method="pm_card_refundFail")
    wait_until_failed(sandbox, refund(sandbox, failing, 700).id)

    assert texts(customer, "refund") == [
        "refund of 7.00 USD from 2026-11-20 failed (expired or canceled card)",
        "refund of 16.00 USD issued 2026-11-20; arrives in 5–10 business days",
    ]


def test_a_refund_past_ten_business_days_should_have_arrived(sandbox, clock, customer):
    refund(sandbox, charge(sandbox.client, customer=customer, amount=1_600), 1_600)
    last_day = datetime(2026, 12, 4, 23, 0, tzinfo=UTC)  # ten business days after Friday

    assert texts(customer, "refund", now=last_day) == [
        "refund of 16.00 USD issued 2026-11-20; arrives in 5–10 business days"]
    assert texts(customer, "refund", now=last_day + timedelta(hours=1)) == [
        "refund of 16.00 USD issued 2026-11-20; should have arrived by 2026-12-04"]


def test_only_the_latest_three_refunds_are_stated(sandbox, clock, customer):
    charged = charge(sandbox.client, customer=customer, amount=10_000)
    for amount in (100, 200, 300, 400):
        clock.advance(minutes=1)
        refund(sandbox, charged, amount)

    assert texts(customer, "refund") == [
        f"refund of {amount} USD issued 2026-11-20; arrives in 5–10 business days"
        for amount in ("4.00", "3.00", "2.00")]


# Subscriptions --------------------------------------------------------------------------------


def test_a_subscription_set_to_cancel_at_period_end_says_when(sandbox, clock, customer):
    price = recurring_price(sandbox.client, product_name="Console Pro", unit_amount=4_900)
    subscription = subscribe(sandbox.client, customer=customer, price=price.id)
    assert texts(customer, "subscription") == ["subscription active; renews on 2026-12-20"]

    sandbox.client.v1.subscriptions.update(subscription.id,
                                           params={"cancel_at_period_end": True})

    assert texts(customer, "subscription") == [
        "subscription cancels at period end on 2026-12-20"]


def test_a_canceled_subscription_says_since_when(sandbox, clock, customer):
    price = recurring_price(sandbox.client, product_name="Console Pro", unit_amount=4_900)
    subscription = subscribe(sandbox.client, customer=customer, price=price.id)
    clock.advance(days=3)
    sandbox.client.v1.subscriptions.cancel(subscription.id)

    assert texts(customer, "subscription") == ["subscription canceled on 2026-11-23"]


# Invoices, credit notes and the balance ---------------------------------------------------------


def test_invoices_say_their_status_newest_first_and_leave_drafts_out(sandbox, clock, customer):
    voided = open_invoice(sandbox.client, customer=customer, lines=LINES)
    sandbox.client.v1.invoices.void_invoice(voided.id)
    clock.advance(hours=1)
    due = open_invoice(sandbox.client, customer=customer, lines=[("Seats", 4_000)],
                       days_until_due=11)
    clock.advance(hours=1)
    paid = paid_invoice(sandbox.client, customer=customer, lines=LINES)
    clock.advance(hours=1)
    draft_invoice(sandbox.client, customer=customer, lines=LINES)

    assert texts(customer, "invoice_status") == [
        f"invoice {invoice_name(paid)} of 100.00 USD paid on 2026-11-20",
        f"invoice {invoice_name(due)} open, 40.00 USD due on 2026-12-01",
        f"invoice {invoice_name(voided)} voided on 2026-11-20",
    ]


def test_an_unpaid_invoice_is_overdue_after_its_due_date_or_uncollectible(sandbox, clock,
                                                                          customer):
    overdue = open_invoice(sandbox.client, customer=customer, lines=[("Seats", 4_000)],
                           days_until_due=11)
    clock.advance(hours=1)
    written_off = open_invoice(sandbox.client, customer=customer, lines=[("Seats", 4_000)])
    sandbox.client.v1.invoices.mark_uncollectible(written_off.id)

    facts = [fact for fact in facts_of(customer, now=START + timedelta(days=12))
             if fact.kind == "invoice_status"]

    assert facts == [
        Fact("invoice_status", f"invoice {invoice_name(written_off)} marked uncollectible on "
             "2026-11-20, 40.00 USD unpaid", "invoice_dispute"),
        Fact("invoice_status",
             f"invoice {invoice_name(overdue)} open, 40.00 USD overdue since 2026-12-01",
             "failed_payment"),
    ]


def test_a_credit_note_says_where_the_credit_went(sandbox, clock, customer):
    # Open first: finalizing an invoice would spend the credit balance the notes make.
    unpaid = open_invoice(sandbox.client, customer=customer, lines=LINES)
    paid = paid_invoice(sandbox.client, customer=customer, lines=LINES)
    sandbox.client.v1.credit_notes.create(params={"invoice": paid.id, "amount": 2_500,
                                                  "credit_amount": 2_500})
    clock.advance(days=1)
    sandbox.client.v1.credit_notes.create(params={"invoice": paid.id, "amount": 3_000,
                                                  "refund_amount": 1_000,
                                                  "credit_amount": 2_000})
    clock.advance(days=1)
    sandbox.client.v1.credit_notes.create(params={"invoice": unpaid.id, "amount": 500})

    assert texts(customer, "credit_note") == [
        f"credit note of 5.00 USD issued 2026-11-22 on invoice {unpaid.number}: "
        "taken off the amount due",
        f"credit note of 30.00 USD issued 2026-11-21 on invoice {paid.number}: "
        "10.00 USD refunded, 20.00 USD credited to the customer balance",
        f"credit note of 25.00 USD issued 2026-11-20 on invoice {paid.number}: "
        "credited to the customer balance",
    ]
    assert texts(customer, "balance") == [
        "customer has 45.00 USD of credit toward the next invoices"]


def test_a_customer_balance_is_credit_or_debt(sandbox, clock, customer):
    balance = sandbox.client.v1.customers.balance_transactions
    balance.create(customer, params={"amount": -2_000, "currency": "usd"})
    assert texts(customer, "balance") == [
        "customer has 20.00 USD of credit toward the next invoices"]

    balance.create(customer, params={"amount": 3_500, "currency": "usd"})
    assert texts(customer, "balance") == ["customer owes 15.00 USD, added to the next invoice"]


# All of it together ---------------------------------------------------------------------------


def customer_with_everything(sandbox, clock, customer):
    """Every kind of fact, from charges on every test card; returns the charge ids."""
    charges = [charge(sandbox.client, customer=customer, amount=1_600) for _ in range(2)]
    charges.append(charge(sandbox.client, customer=customer, amount=900,
                          payment_method="pm_card_createDispute"))
    charges.append(charge(sandbox.client, customer=customer, amount=700,
                          payment_method="pm_card_refundFail"))
    wait_until_failed(sandbox, refund(sandbox, charges[-1], 700).id)
    price = recurring_price(sandbox.client, product_name="Console Pro", unit_amount=4_900)
    subscription = subscribe(sandbox.client, customer=customer, price=price.id)
    sandbox.client.v1.subscriptions.update(subscription.id,
                                           params={"cancel_at_period_end": True})
    paid = paid_invoice(sandbox.client, customer=customer, lines=LINES)
    sandbox.client.v1.credit_notes.create(params={"invoice": paid.id, "amount": 2_500,
                                                  "credit_amount": 2_500})
    return charges


def test_facts_come_most_useful_first(sandbox, clock, customer):
    customer_with_everything(sandbox, clock, customer)

    kinds = [fact.kind for fact in facts_of(customer)]

    assert kinds == ["duplicate_charge", "dispute", "refund", "subscription",
                     "invoice_status", "invoice_status", "credit_note", "balance"]


def test_no_fact_gives_card_payment_method_or_contact_details(sandbox, clock, customer):
    charge_ids = customer_with_everything(sandbox, clock, customer)
    cards = [sandbox.client.v1.charges.retrieve(charge_id).payment_method_details.card
             for charge_id in charge_ids]
    secrets = {EMAIL, "Ada Lovelace", *(card.last4 for card in cards),
               *(card.brand for card in cards)}

    for fact in facts_of(customer):
        assert not STRIPE_ID.search(fact.text), fact.text
        for secret in secrets:
            # Whole words only: a random Stripe id may happen to contain "4242".
            assert not re.search(rf"\b{re.escape(secret)}\b", fact.text, re.IGNORECASE), \
                (secret, fact.text)


# The suggested playbook -----------------------------------------------------------------------

DUPLICATE = Fact("duplicate_charge", "2 charges of 16.00 USD within 3 minutes: likely "
                 "duplicate", Category.DUPLICATE_CHARGE)
REFUND = Fact("refund", "refund of 16.00 USD issued 2026-11-20; arrives in 5–10 business days",
              Category.REFUND_REQUEST)
SUBSCRIPTION = Fact("subscription", "subscription past due", Category.FAILED_PAYMENT)


def test_a_likely_duplicate_suggests_the_duplicate_playbook_whatever_the_case_says():
    assert suggested_category([REFUND, DUPLICATE], "refund_request") == "duplicate_charge"


def test_otherwise_the_case_keeps_its_own_category():
    assert suggested_category([SUBSCRIPTION, REFUND], "plan_change") == "plan_change"
    assert suggested_category([], "tax") == "tax"


def test_a_case_filed_as_other_takes_the_most_useful_facts_category():
    assert suggested_category([SUBSCRIPTION, REFUND], "other") == "failed_payment"
    assert suggested_category([], "other") == "other"


def test_taxed_invoices_and_credit_notes_say_the_tax_they_include(sandbox, clock, customer):
    vat = tax_rate(sandbox.client, display_name="VAT", percentage=20, inclusive=False)
    gst = tax_rate(sandbox.client, display_name="GST", percentage=10, inclusive=True)
    with_vat = paid_invoice(sandbox.client, customer=customer, lines=[("Pro plan", 5_000)],
                            tax_rates=[vat.id])
    clock.advance(hours=1)
    with_gst = open_invoice(sandbox.client, customer=customer, lines=[("Seats", 1_100)],
                            tax_rates=[gst.id], days_until_due=11)
    clock.advance(hours=1)
    sandbox.client.v1.credit_notes.create(params={
        "invoice": with_vat.id, "credit_amount": 1_200,
        "lines": [{"type": "invoice_line_item", "invoice_line_item": with_vat.lines.data[0].id,
                   "amount": 1_000}]})

    assert texts(customer, "invoice_status") == [
        f"invoice {invoice_name(with_gst)} open, 11.00 USD including 10% GST due on 2026-12-01",
        f"invoice {invoice_name(with_vat)} of 60.00 USD including 20% VAT paid on 2026-11-20",
    ]
    [note] = texts(customer, "credit_note")
    assert note.startswith("credit note of 12.00 USD including 20% VAT issued 2026-11-20")
