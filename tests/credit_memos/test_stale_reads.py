"""Credit memos asked on an invoice read before another memo on it went through: what the
console's own memos have credited counts even where the read does not show it yet."""

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
