"""An invoice is given back once, whichever road the money takes (a refund of its charge,
a credit memo), and the ledger keeps each Stripe object as its own: found by trying to
break the money core, each with the input that broke it."""

import pytest

from audit.models import AuditEvent
from billing_console.integrations.stripe import gateway
from billing_console.integrations.stripe.sandbox.builders import (
    create_customer,
    open_invoice,
    paid_invoice,
)
from cases.models import StripeLink
from money_actions.ledger import customer_given_back
from money_actions.models import LedgerEntry, MoneyAction, State
from tests.cases.factories import make_case
from tests.conftest import signed_in
from tests.credit_memos.conftest import deliver, memo_body, post_memo
from tests.credit_memos.test_cancel_with_refund import wait_until_failed
from tests.refunds.conftest import api_client, post_refund, refund_body, refunds_created

pytestmark = pytest.mark.django_db(transaction=True)

ADJUSTMENTS = "/api/v1/invoice-adjustments/"
PLAN = [("Plan", 10_000)]


@pytest.fixture
def paid(sandbox, customer):
    """A 100.00 invoice paid by card, and the charge that paid it."""
    invoice = paid_invoice(sandbox.client, customer=customer.id, lines=PLAN)
    return invoice, gateway.invoice_charge(invoice_id=invoice.id)


def state_of(response):
    assert response.status_code == 201, response.json()
    return MoneyAction.objects.get(pk=response.json()["id"]).state


# One invoice, given back once ---------------------------------------------------------


def test_a_refunded_charge_leaves_nothing_to_credit_on_its_invoice(
        paid, case, specialist, eager_tasks):
    invoice, charge = paid
    assert state_of(post_refund(specialist, refund_body(case, charge.id, amount=10_000))) \
        == State.SUCCEEDED

    response = post_memo(specialist, memo_body(case, invoice, amount=10_000))

    assert response.status_code == 409
    assert response.json()["code"] == "amount_above_creditable"
    assert "refunded outside credit notes" in response.json()["message"]


def test_an_invoice_credited_to_the_balance_leaves_nothing_to_refund_on_its_charge(
        paid, case, specialist, eager_tasks):
    invoice, charge = paid
    assert state_of(post_memo(specialist, memo_body(case, invoice, amount=10_000))) \
        == State.SUCCEEDED

    response = post_refund(specialist, refund_body(case, charge.id, amount=10_000))

    assert response.status_code == 409
    assert response.json()["code"] == "amount_above_refundable"


def test_a_refund_waiting_for_approval_holds_its_share_of_the_charge(
        paid, case, specialist, eager_tasks):
    invoice, charge = paid
    waiting = post_refund(specialist, refund_body(case, charge.id, amount=8_000,
                                                  stripe_reason="fraudulent"))
    assert state_of(waiting) == State.PENDING_APPROVAL

    response = post_memo(specialist, memo_body(case, invoice, amount=5_000,
                                               settle_to="refund"))

    assert response.status_code == 409
    assert response.json()["code"] == "amount_above_creditable"


def test_a_write_off_then_a_void_let_the_customer_off_once(sandbox, customer, case,
                                                          specialist, eager_tasks):
    invoice = open_invoice(sandbox.client, customer=customer.id, lines=PLAN)
    body = {"case_id": case.pk, "invoice_id": invoice.id, "reason_code": "billing_error",
            "note": "Never used."}
    for kind in ("invoice_uncollectible", "invoice_void"):
        assert state_of(post_memo(specialist, {**body, "kind": kind}, ADJUSTMENTS)) == \
            State.SUCCEEDED

    assert customer_given_back(customer.id, "usd", 30) == 10_000


@pytest.mark.parametrize("lines, words", [
    ([{"amount": 5_000}], "more than line"),
    ([{"quantity": 2}], "a quantity of 1"),
    ([{"amount": 4_000}, {"amount": 4_000}], "once"),
])
def test_a_credit_line_stripe_would_refuse_is_refused_when_asked(
        invoices, case, specialist, lines, words):
    seats = invoices["paid"].lines.data[1].id  # 40.00, quantity 1
    body = memo_body(case, invoices["paid"], amount=None,
                     lines=[{"invoice_line_item": seats, **line} for line in lines])

    response = post_memo(specialist, body)

    assert response.status_code == 409
    assert words in response.json()["message"]
    assert not MoneyAction.objects.exists()


# Fresh state, again --------------------------------------------------------------------


def test_approved_again_after_being_sent_back_it_is_read_afresh_again(
        sandbox, charged, pending, finance, eager_tasks):
    _, charge_id = charged
    sandbox.client.v1.refunds.create(params={"charge": charge_id, "amount": 8_000})
    approver = api_client(finance)

    for note in ("ok", "ok again"):
        approver.post(f"/api/v1/money-actions/{pending.pk}/approve/", {"note": note},
                      format="json")
        pending.refresh_from_db()
        assert pending.state == State.PENDING_APPROVAL

    assert len(refunds_created(sandbox)) == 1  # the Dashboard's


def test_a_changed_amount_is_counted_once_in_the_customers_total(pending, specialist):
    response = api_client(specialist).post(f"/api/v1/refunds/{pending.pk}/amount/",
                                           {"amount": 3_000}, format="json")

    [total] = [verdict for verdict in response.json()["policy_verdicts"]
               if verdict["rule"] == "customer_total"]
    assert "comes to 30.00 USD" in total["explanation"]


# The ledger keeps each object as its own -----------------------------------------------


def test_a_dashboard_refund_is_never_taken_for_the_consoles(charged, sandbox, specialist,
                                                            eager_tasks):
    case, charge_id = charged
    dashboard = sandbox.client.v1.refunds.create(params={"charge": charge_id, "amount": 2_000})
    action = MoneyAction.objects.get(pk=post_refund(
        specialist, refund_body(case, charge_id, amount=3_000)).json()["id"])
    own = action.stripe_object_id

    deliver(sandbox, "charge.refunded")
    deliver(sandbox, "refund.created")

    action.refresh_from_db()
    assert action.stripe_object_id == own
    assert LedgerEntry.objects.get(stripe_id=dashboard.id).money_action_id is None
    assert AuditEvent.objects.filter(action="refund.external",
                                     stripe_object_id=dashboard.id).count() == 1
    assert customer_given_back(case.stripe_customer_id, "usd", 30) == 5_000


def test_a_dashboard_refund_stays_counted_beside_a_memos_refund(paid, case, sandbox,
                                                                specialist, eager_tasks):
    invoice, charge = paid
    sandbox.client.v1.refunds.create(params={"charge": charge.id, "amount": 2_000})
    deliver(sandbox, "refund.created")
    assert state_of(post_memo(specialist, memo_body(case, invoice, amount=3_000,
                                                    settle_to="refund"))) == State.SUCCEEDED

    for event_type in ("refund.created", "charge.refunded", "credit_note.created"):
        deliver(sandbox, event_type)

    assert customer_given_back(case.stripe_customer_id, "usd", 30) == 5_000


def test_a_dashboard_credit_notes_refund_arriving_first_is_told_once(paid, case, sandbox):
    invoice, _ = paid
    sandbox.client.v1.credit_notes.create(params={"invoice": invoice.id, "amount": 3_000,
                                                  "refund_amount": 3_000})

    for event_type in ("refund.created", "charge.refunded", "credit_note.created"):
        deliver(sandbox, event_type)

    assert customer_given_back(case.stripe_customer_id, "usd", 30) == 3_000
    assert list(AuditEvent.objects.filter(action__endswith=".external")
                .values_list("action", flat=True)) == ["credit_memo.external"]


# Bad input -----------------------------------------------------------------------------


def test_a_balance_move_in_no_currency_is_a_400(case, customer, specialist):
    response = post_memo(specialist, {
        "case_id": case.pk, "kind": "balance_credit", "amount": 1_000, "currency": "abcd",
        "description": "Goodwill", "reason_code": "courtesy", "note": "Sorry."}, ADJUSTMENTS)

    assert response.status_code == 400
    assert "currency" in response.json()["errors"]


def test_an_idempotency_key_with_a_control_character_is_refused(charged, specialist):
    case, charge_id = charged
    response = post_refund(specialist, refund_body(case, charge_id), key="abc\x00def")

    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["errors"]


# Found by trying to break the limits of a charge -------------------------------------------


def test_a_console_credit_memo_voided_in_the_dashboard_frees_its_invoice_once_stripe_says_so(
        paid, case, sandbox, specialist, eager_tasks):
    invoice, charge = paid
    memo = post_memo(specialist, memo_body(case, invoice, amount=10_000))
    assert state_of(memo) == State.SUCCEEDED
    note_id = MoneyAction.objects.get(pk=memo.json()["id"]).stripe_object_id
    sandbox.client.v1.credit_notes.void_credit_note(note_id)

    deliver(sandbox, "credit_note.voided")

    assert state_of(post_refund(specialist, refund_body(case, charge.id, amount=10_000))) \
        == State.SUCCEEDED


def test_the_credit_memo_preview_says_what_a_refund_of_its_charge_left_to_credit(
        paid, case, specialist, eager_tasks):
    invoice, charge = paid
    assert state_of(post_refund(specialist, refund_body(case, charge.id, amount=6_000))) \
        == State.SUCCEEDED

    shown = post_memo(specialist, memo_body(case, invoice, amount=1_000),
                      "/api/v1/credit-memos/preview/")
    page = signed_in(specialist).get(f"/actions/credit-memo/{case.pk}/{invoice.id}/")

    assert shown.json()["creditable_remainder"] == 4_000
    assert page.status_code == 200
    assert "40.00 USD" in page.content.decode()


@pytest.mark.parametrize("settle_to", ["refund", "customer_balance"])
def test_an_invoice_whose_charge_is_disputed_is_not_credited_as_well(sandbox, specialist,
                                                                      settle_to):
    customer = create_customer(sandbox.client, name="Ada Lovelace", email="ada@example.com",
                               payment_method="pm_card_createDispute")
    case = make_case(stripe_customer_id=customer.id, stripe_link=StripeLink.VERIFIED)
    invoice = paid_invoice(sandbox.client, customer=customer.id, lines=PLAN)

    refused = post_memo(specialist, memo_body(case, invoice, amount=1_000,
                                              settle_to=settle_to))

    assert (refused.status_code, refused.json()["code"]) == (409, "charge_disputed")
    assert "which paid this invoice, is disputed" in refused.json()["message"]
    assert not MoneyAction.objects.exists()


def test_a_credit_memos_refund_that_failed_after_it_was_issued_leaves_the_charge_refundable(
        sandbox, specialist, eager_tasks):
    customer = create_customer(sandbox.client, name="Ada Lovelace", email="ada@example.com",
                               payment_method="pm_card_refundFail")
    case = make_case(stripe_customer_id=customer.id, stripe_link=StripeLink.VERIFIED)
    invoice = paid_invoice(sandbox.client, customer=customer.id, lines=PLAN)
    charge = gateway.invoice_charge(invoice_id=invoice.id)
    memo = post_memo(specialist, memo_body(case, invoice, amount=4_000, settle_to="refund"))
    assert state_of(memo) == State.SUCCEEDED
    [refund] = gateway.get_charge(charge_id=charge.id).refunds
    wait_until_failed(sandbox, refund.id)

    deliver(sandbox, "refund.failed")

    # The customer got nothing back on the card: all 100.00 of it can still go back there.
    assert state_of(post_refund(specialist, refund_body(case, charge.id, amount=10_000))) \
        == State.SUCCEEDED
