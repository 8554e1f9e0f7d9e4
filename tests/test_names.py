"""What people read instead of codes: reason labels, a case's name, Stripe objects' names and
statuses, labels inside sentences, Stripe ids in text, the audit trail's actions."""

import re
from pathlib import Path

import pytest

from billing_console.integrations.stripe import types
from billing_console.names import (
    action_label,
    audit_actions,
    audit_kinds,
    in_sentence,
    plan_change_name,
    plan_changes_name,
    reason_label,
    stripe_ids_named,
    stripe_name,
    stripe_status,
    ticket_name,
)
from money_actions.kinds import Event, slugs
from money_actions.models import ReasonCode

NOV_30_2026 = 1_796_040_000  # 2026-11-30 12:00 UTC


@pytest.mark.parametrize("code,label", [
    ("requested_by_customer", "Requested by the customer"),
    ("product_unsatisfactory", "Product unsatisfactory"),
    ("expired_or_canceled_card", "Expired or canceled card"),
    ("some_new_code", "Some new code"),
    ("Stripe refused: Card declined.", "Stripe refused: Card declined."),
    ("", ""),
])
def test_stripes_codes_have_labels_and_a_message_stays_as_written(code, label):
    assert reason_label(code, console={}) == label


def test_the_consoles_reason_codes_read_as_admins_named_them(db, refund_policy):
    ReasonCode.objects.filter(code="duplicate_charge").update(label="Charged twice")

    assert reason_label("duplicate_charge") == "Charged twice"
    assert reason_label("courtesy") == "Courtesy"


def test_a_case_is_named_by_its_ticket_number():
    assert ticket_name(6) == "Ticket #6"


def _invoice(number, total=0):
    return types.Invoice(
        id="in_1Abcdefgh", customer="cus_1", number=number, status="open", currency="usd",
        subtotal=total, total=total, amount_due=0, amount_paid=0, amount_remaining=0,
        starting_balance=0, ending_balance=None, pre_payment_credit_notes_amount=0,
        post_payment_credit_notes_amount=0, billing_reason=None, collection_method=None,
        subscription=None, created=NOV_30_2026, due_date=None, hosted_invoice_url=None)


def test_stripe_objects_are_named_as_people_know_them():
    charge = types.Charge(
        id="ch_1Abcdefgh", customer="cus_1", payment_intent=None, amount=3_000,
        amount_captured=3_000, amount_refunded=0, currency="usd", status="succeeded",
        paid=True, refunded=False, disputed=False, description=None, failure_code=None,
        failure_message=None, created=NOV_30_2026)
    item = types.SubscriptionItem(
        id="si_1", price="price_1Abcdefgh", product="prod_1", unit_amount=4_900,
        currency="usd", interval="month", interval_count=1, quantity=3,
        current_period_start=None, current_period_end=None, product_name="Console Pro")
    subscription = types.Subscription(
        id="sub_1Abcdefgh", customer="cus_1", status="active", currency="usd",
        collection_method="charge_automatically", cancel_at_period_end=False, cancel_at=None,
        canceled_at=None, ended_at=None, start_date=NOV_30_2026, latest_invoice=None,
        items=(item,))

    assert stripe_name(charge) == "the charge of 30.00 USD on 30 Nov 2026"
    assert stripe_name(_invoice("ACME-0012")) == "invoice ACME-0012"
    assert stripe_name(_invoice(None, 16_250)) == "the draft invoice of 30 Nov 2026 · 162.50 USD"
    assert stripe_name(subscription) == "the subscription to Console Pro monthly × 3"


def test_a_plan_change_names_both_its_sides_each_with_its_quantity():
    item = types.SubscriptionItem(
        id="si_1", price="price_1Abcdefgh", product="prod_1", unit_amount=1_900,
        currency="usd", interval="month", interval_count=1, quantity=1,
        current_period_start=None, current_period_end=None, product_name="Console Team")
    annual = types.Price(id="price_2Abcdefgh", product="prod_2", product_name="Console Pro",
                         unit_amount=49_000, currency="usd", interval="year", interval_count=1)

    assert plan_change_name(item, annual, 3) == "Console Team monthly × 1 → Console Pro annual × 3"
    assert plan_change_name(item, None, 5) == \
        "Console Team monthly × 1 → Console Team monthly × 5"


def test_the_plan_changes_between_two_states_of_a_subscription_name_what_changed():
    def item(item_id, product, quantity, interval="month"):
        return types.SubscriptionItem(
            id=item_id, price=f"price_{product}", product=product, unit_amount=1_900,
            currency="usd", interval=interval, interval_count=1, quantity=quantity,
            current_period_start=None, current_period_end=None, product_name=product)

    seats, team = item("si_1", "Seats", 2), item("si_2", "Console Team", 1)

    assert plan_changes_name((seats, team), (seats, item("si_2", "Console Team", 5))) == \
        "Console Team monthly × 1 → Console Team monthly × 5"
    assert plan_changes_name((seats, team), (seats, item("si_3", "Console Pro", 3, "year"))) \
        == "Console Team monthly × 1 → Console Pro annual × 3"
    assert plan_changes_name((seats, team), (seats, team)) == ""
    assert plan_changes_name((seats,), (seats, team)) == ""


@pytest.mark.parametrize("status,words", [
    ("past_due", "Past due"), ("paid", "Paid"), ("succeeded", "Succeeded"),
    ("requires_action", "Needs action"), ("warning_needs_response", "Inquiry: needs a response"),
    ("some_new_status", "Some new status"), ("", ""),
])
def test_stripes_statuses_read_as_words(status, words):
    assert stripe_status(status) == words


@pytest.mark.parametrize("label,inside", [
    ("Submitting to Stripe", "submitting to Stripe"),
    ("Waiting for approval", "waiting for approval"),
    ("Tax / VAT", "tax / VAT"),
    ("Stripe event", "Stripe event"),
    ("SLA targets", "SLA targets"),
])
def test_a_label_inside_a_sentence_keeps_its_proper_names(label, inside):
    assert in_sentence(label) == inside


def test_stripe_ids_in_text_are_named_or_said_as_what_they_are():
    text = ("Stripe customer cus_Z3gG9bTZxAxYbUivv5O6FlRg matched; the refund re_1AbcdEFG of "
            "in_qCnoPr9gPazw9JttPRLgGvQT failed; in_progress stays a word.")

    assert stripe_ids_named(text, {"cus_Z3gG9bTZxAxYbUivv5O6FlRg": "Kemi Adeyemi"}) == (
        "Stripe customer Kemi Adeyemi matched; the refund a refund of an invoice failed; "
        "in_progress stays a word.")
    assert stripe_ids_named("Invoice write-off of 170.00 USD outside the console "
                            "(in_qCnoPr9gPazw9JttPRLgGvQT, uncollectible).") == (
        "Invoice write-off of 170.00 USD outside the console (Uncollectible).")


def test_every_audit_action_has_words_the_money_kinds_included():
    actions = audit_actions()

    assert action_label("auth.login") == "Signed in"
    assert action_label("subscription_change.requested") == "Plan change requested"
    assert action_label("refund.auto_approved") == "Refund approved by the policy"
    assert action_label("invoice_uncollectible.external") == \
        "Invoice write-off made outside the console"
    assert action_label("bench.some_thing") == "Bench: some thing"
    assert {f"{slug}.{event}" for slug in slugs() for event in Event} <= set(actions)
    assert audit_kinds()["subscription_change"] == "Plan change"


def test_every_action_the_code_records_has_words():
    """An action the code records, written as a literal ("case.assigned") where an event
    is recorded, is one of those named; money kinds' actions are named by their registry."""
    root = Path(__file__).resolve().parent.parent
    sources = [path.read_text() for path in root.glob("*/**/*.py")
               if path.parts[len(root.parts)] not in {"tests", "bench", ".venv"}]
    written = {literal for text in sources for literal in re.findall(
        r'(?:action=|record\(|_audit\(|_record\()[^()"]*"([a-z][a-z_]*\.[a-z][a-z_]*)"', text)}

    assert len(written) > 30
    assert written - set(audit_actions()) == set(), (
        "Name each in billing_console.names.AUDIT_ACTIONS, or register the app's own from "
        "its AppConfig.ready with billing_console.names.register_audit_actions.")
