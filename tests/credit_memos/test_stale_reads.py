"""Credit memos asked after others on the same invoice: what the console's own memos have
credited counts even where the invoice was read before they went through, and a line
credited before has only what is left of it to credit, as Stripe counts it."""

import pytest

from billing_console.exceptions import ApplicationError
from credit_memos import rules
from credit_memos.selectors import CreditSpec, read_invoice
from credit_memos.services import credit_memo_request
from money_actions.models import MoneyAction, State
from tests.credit_memos.conftest import memo_body, post_memo
from tests.refunds.conftest import api_client

pytestmark = pytest.mark.django_db(transaction=True)


def ask(case, specialist, invoice, paid, amount):
    return credit_memo_request(case=case, invoice=invoice, paid=paid,
                               spec=CreditSpec(invoice_id=invoice.id, amount=amount),
                               reason_code="service_issue", note="The same credit again.",
                               actor=specialist)


def test_a_memo_issued_after_the_invoice_was_read_still_counts(invoices, case, specialist,
                                                                eager_tasks):
    invoice = invoices["paid"]  # 100.00
    stale = read_invoice(invoice.id)  # what a second request read, before its lock
    paid = rules.paid_by(stale)
    first = post_memo(specialist, memo_body(case, invoice, amount=10_000))
    assert MoneyAction.objects.get(pk=first.json()["id"]).state == State.SUCCEEDED

    with pytest.raises(ApplicationError) as refused:
        ask(case, specialist, stale, paid, 10_000)

    assert refused.value.code == "amount_above_creditable"
    assert MoneyAction.objects.count() == 1


def test_a_voided_memo_no_longer_counts(invoices, case, specialist, eager_tasks):
    invoice = invoices["open"]  # 100.00, owed
    memo = post_memo(specialist, memo_body(case, invoice, amount=10_000)).json()["id"]
    voided = api_client(specialist).post(f"/api/v1/credit-memos/{memo}/void/",
                                         {"reason_code": "billing_error", "note": "Undo."},
                                         format="json")
    assert voided.json()["state"] == State.SUCCEEDED
    fresh = read_invoice(invoice.id)

    action = ask(case, specialist, fresh, None, 10_000)

    assert action.amount == 10_000


def test_a_line_credited_before_is_refused_above_what_it_has_left(invoices, case, specialist,
                                                                  eager_tasks):
    invoice = invoices["paid"]
    seats = invoice.lines.data[1].id  # 40.00; the invoice is 100.00
    first = post_memo(specialist, memo_body(case, invoice, amount=None, lines=[
        {"invoice_line_item": seats, "amount": 3_000}]))
    assert MoneyAction.objects.get(pk=first.json()["id"]).state == State.SUCCEEDED

    # 20.00 more on the seats line: within the invoice's 70.00 left, above the line's 10.00.
    second = post_memo(specialist, memo_body(case, invoice, amount=None, lines=[
        {"invoice_line_item": seats, "amount": 2_000}]))

    assert second.status_code == 409, second.json()
    assert "has left to credit: 10.00 USD of its 40.00 USD" in second.json()["message"]
    assert MoneyAction.objects.count() == 1
    third = post_memo(specialist, memo_body(case, invoice, amount=None, lines=[
        {"invoice_line_item": seats, "amount": 1_000}]))
    assert third.status_code == 201, third.json()
