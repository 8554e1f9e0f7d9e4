"""Credit memos through the API, against the Stripe sandbox: the preview, every way of
crediting and settling, the refusals, policy and approval, and voids."""

import pytest

from audit.models import AuditEvent, Source
from cases.models import WriteBack
from money_actions.models import MoneyAction, State
from tests.credit_memos.conftest import credit_notes, memo_body, post_memo
from tests.refunds.conftest import api_client, signed_in

pytestmark = pytest.mark.django_db(transaction=True)
PREVIEW = "/api/v1/credit-memos/preview/"


def lines_of(invoice):
    return [line.id for line in invoice.lines.data]


@pytest.mark.parametrize("state, settle_to, expected", [
    # An open invoice: the credit lowers what is due; nothing is left to settle.
    ("open", "customer_balance", {"pre_payment_amount": 2_500, "post_payment_amount": 0}),
    # A paid invoice: all of it is settled, to the balance, the card or out of band.
    ("paid", "customer_balance", {"post_payment_amount": 2_500, "credit_amount": 2_500}),
    ("paid", "refund", {"post_payment_amount": 2_500, "refund_amount": 2_500}),
    ("paid", "out_of_band", {"post_payment_amount": 2_500, "out_of_band_amount": 2_500}),
])
def test_the_preview_equals_what_stripe_then_creates(invoices, case, sandbox, specialist,
                                                     eager_tasks, state, settle_to, expected):
    invoice = invoices[state]
    body = memo_body(case, invoice, settle_to=settle_to)

    preview = post_memo(specialist, body, PREVIEW)
    assert preview.status_code == 200, preview.json()
    shown = preview.json()
    assert {key: shown[key] for key in expected} == expected
    assert (shown["amount"], shown["total"], shown["tax"]) == (2_500, 2_500, 0)
    assert not credit_notes(sandbox, invoice)

    created = post_memo(specialist, body)
    assert created.status_code == 201, created.json()
    action = MoneyAction.objects.get(pk=created.json()["id"])
    assert action.state == State.SUCCEEDED
    [note] = credit_notes(sandbox, invoice)
    assert note.id == action.stripe_object_id
    assert (note.amount, note.total, note.pre_payment_amount, note.post_payment_amount) == (
        shown["amount"], shown["total"], shown["pre_payment_amount"],
        shown["post_payment_amount"])
    assert (note.out_of_band_amount or 0) == shown["out_of_band_amount"]
    assert sum(refund.amount_refunded for refund in note.refunds) == shown["refund_amount"]


def test_lines_are_credited_by_amount_or_by_quantity(invoices, case, sandbox, specialist,
                                                     eager_tasks):
    invoice = invoices["paid"]
    plan, seats = lines_of(invoice)
    body = memo_body(case, invoice, amount=None, lines=[
        {"invoice_line_item": plan, "amount": 1_000},
        {"invoice_line_item": seats, "quantity": 1}])

    created = post_memo(specialist, body)

    assert created.status_code == 201, created.json()
    [note] = credit_notes(sandbox, invoice)
    assert note.amount == 1_000 + 4_000 and len(note.lines.data) == 2


@pytest.mark.parametrize("state, message", [
    ("draft", "This invoice is draft"),
])
def test_an_invoice_whose_status_does_not_allow_it_is_refused_in_words(
        invoices, case, sandbox, specialist, state, message):
    response = post_memo(specialist, memo_body(case, invoices[state]))

    assert response.status_code == 409
    assert response.json()["code"] == "invoice_status" and message in response.json()["message"]
    assert not MoneyAction.objects.exists()


def test_a_void_invoice_is_refused(invoices, case, sandbox, specialist):
    sandbox.client.v1.invoices.void_invoice(invoices["open"].id)

    response = post_memo(specialist, memo_body(case, invoices["open"]))

    assert response.status_code == 409 and "This invoice is void" in response.json()["message"]


# A body the schema refuses is a 400 naming the field; one a rule refuses, a 409 naming it.
@pytest.mark.parametrize("overrides, status, code", [
    ({"amount": 10_001}, 409, "amount_above_creditable"),
    ({"amount": 0}, 400, "amount"),
    ({"amount": -100}, 400, "amount"),
    ({"amount": "25.00"}, 400, "amount"),
    ({"amount": None}, 409, "lines"),
    ({"settle_to": "pocket"}, 400, "settle_to"),
    ({"stripe_reason": "because"}, 400, "stripe_reason"),
    ({"reason_code": "made_up"}, 409, "reason_code"),
    ({"note": " "}, 409, "note_required"),
    ({"note": ""}, 400, "note"),
])
def test_bad_input_is_refused_with_no_stripe_call(invoices, case, sandbox, specialist,
                                                  overrides, status, code):
    response = post_memo(specialist, memo_body(case, invoices["paid"], **overrides))

    assert response.status_code == status, response.json()
    assert (code in response.json()["errors"]) if status == 400 \
        else response.json()["code"] == code
    assert not credit_notes(sandbox, invoices["paid"]) and not MoneyAction.objects.exists()


def test_credits_waiting_for_approval_count_against_the_invoice(invoices, case, sandbox,
                                                                specialist):
    invoice = invoices["paid"]
    first = post_memo(specialist, memo_body(case, invoice, amount=8_000,
                                            stripe_reason="fraudulent"))
    assert first.json()["state"] == State.PENDING_APPROVAL

    second = post_memo(specialist, memo_body(case, invoice, amount=3_000))

    assert second.status_code == 409 and second.json()["code"] == "amount_above_creditable"


def test_above_the_limit_a_credit_waits_for_finance_who_approves_it(
        sandbox, customer, case, specialist, finance, eager_tasks):
    from billing_console.integrations.stripe.sandbox.builders import paid_invoice

    invoice = paid_invoice(sandbox.client, customer=customer.id, lines=[("Annual plan", 90_000)])
    created = post_memo(specialist, memo_body(case, invoice, amount=60_000))
    assert created.json()["state"] == State.PENDING_APPROVAL
    assert not credit_notes(sandbox, invoice)

    page = signed_in(finance).get("/approvals/").content.decode()
    assert "Credit memo of 600.00 USD" in page
    signed_in(finance).post(f"/approvals/{created.json()['id']}/approve/", {"note": "ok"})

    assert MoneyAction.objects.get(pk=created.json()["id"]).state == State.SUCCEEDED
    assert len(credit_notes(sandbox, invoice)) == 1


def test_every_step_is_audited_and_the_ticket_gets_a_note(invoices, case, sandbox,
                                                          specialist, eager_tasks):
    action_id = post_memo(specialist, memo_body(case, invoices["paid"])).json()["id"]

    actions = list(AuditEvent.objects.filter(object_id=action_id).order_by("id")
                   .values_list("action", flat=True))
    assert actions == ["credit_memo.requested", "credit_memo.auto_approved",
                       "credit_memo.submitted", "credit_memo.succeeded"]
    assert AuditEvent.objects.get(object_id=action_id,
                                  action="credit_memo.requested").source == Source.API
    note = WriteBack.objects.get(case=case)
    assert "Credit note of 25.00 USD issued on invoice" in note.note
    assert note.add_tags == ["billing_credit_memo"]


def test_a_credit_memo_is_voided_once(invoices, case, sandbox, specialist, eager_tasks):
    memo_id = post_memo(specialist, memo_body(case, invoices["open"])).json()["id"]
    void_path = f"/api/v1/credit-memos/{memo_id}/void/"
    body = {"reason_code": "billing_error", "note": "Credited the wrong invoice."}

    voided = api_client(specialist).post(void_path, body, format="json")
    again = api_client(specialist).post(void_path, body, format="json")

    assert voided.status_code == 201, voided.json()
    assert voided.json()["state"] == State.SUCCEEDED
    [note] = credit_notes(sandbox, invoices["open"])
    assert note.status == "void"
    assert again.status_code == 409 and again.json()["code"] == "already_voided"
    assert sandbox.client.v1.invoices.retrieve(invoices["open"].id).amount_remaining == 10_000


def test_a_void_of_a_memo_voided_in_the_dashboard_is_refused_before_stripe(
        invoices, case, sandbox, specialist, eager_tasks):
    memo = MoneyAction.objects.get(
        pk=post_memo(specialist, memo_body(case, invoices["open"])).json()["id"])
    sandbox.client.v1.credit_notes.void_credit_note(memo.stripe_object_id)  # in the Dashboard

    voided = api_client(specialist).post(f"/api/v1/credit-memos/{memo.pk}/void/",
                                         {"reason_code": "other", "note": "Undo."},
                                         format="json")

    assert voided.status_code == 409
    assert voided.json()["code"] == "already_voided"
    assert not MoneyAction.objects.filter(kind="credit_memo_void").exists()


@pytest.mark.parametrize("path", ["/api/v1/credit-memos/", PREVIEW])
def test_tier2_and_finance_cannot_request_credit_memos(invoices, case, tier2, finance, path):
    for user in (tier2, finance):
        assert post_memo(user, memo_body(case, invoices["paid"]), path).status_code == 403


def test_finance_decides_any_action_through_the_shared_api(sandbox, customer, case, specialist,
                                                           finance, tier2, eager_tasks):
    from billing_console.integrations.stripe.sandbox.builders import paid_invoice

    invoice = paid_invoice(sandbox.client, customer=customer.id, lines=[("Annual", 90_000)])
    memo = post_memo(specialist, memo_body(case, invoice, amount=60_000)).json()
    path = f"/api/v1/money-actions/{memo['id']}/approve/"

    assert api_client(specialist).post(path).status_code == 403
    assert api_client(tier2).post(path).status_code == 403
    approved = api_client(finance).post(path, {"note": "Agreed."}, format="json")

    assert approved.status_code == 200 and approved.json()["kind"] == "credit_memo"
    assert approved.json()["approved_by"] == "finance"
    assert MoneyAction.objects.get(pk=memo["id"]).state == State.SUCCEEDED
    assert len(credit_notes(sandbox, invoice)) == 1
