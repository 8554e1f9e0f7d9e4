"""Invoice adjustments through the API, against the Stripe sandbox: each kind done once,
each refused in Stripe's words where the invoice's status does not allow it."""

import pytest

from audit.models import AuditEvent
from money_actions.models import MoneyAction, State
from tests.credit_memos.conftest import post_memo

pytestmark = pytest.mark.django_db(transaction=True)
PATH = "/api/v1/invoice-adjustments/"


def adjustment(case, kind, **fields):
    return {"case_id": case.pk, "kind": kind, "reason_code": "billing_error",
            "note": "Invoiced in error.", **fields}


def invoice_now(sandbox, invoice):
    return sandbox.client.v1.invoices.retrieve(invoice.id)


@pytest.mark.parametrize("kind, state, result", [
    ("invoice_void", "open", "void"),
    ("invoice_uncollectible", "open", "uncollectible"),
    ("invoice_paid_out_of_band", "open", "paid"),
])
def test_each_status_change_happens_once(invoices, case, sandbox, specialist, eager_tasks,
                                         kind, state, result):
    invoice = invoices[state]

    response = post_memo(specialist, adjustment(case, kind, invoice_id=invoice.id), PATH)

    assert response.status_code == 201, response.json()
    action = MoneyAction.objects.get(pk=response.json()["id"])
    assert (action.state, action.amount) == (State.SUCCEEDED, 10_000)
    assert invoice_now(sandbox, invoice).status == result
    assert AuditEvent.objects.filter(object_id=action.pk,
                                     action=f"{action.kind}.succeeded").exists()


@pytest.mark.parametrize("kind, state, message", [
    ("invoice_void", "paid", "Stripe voids only open or uncollectible invoices; this one is paid. "
                     "A paid invoice is credited with a credit memo instead."),
    ("invoice_void", "draft", "this one is draft"),
    ("invoice_uncollectible", "paid", "Stripe writes off (marks uncollectible) only open "
                                   "invoices; this one is paid."),
    ("invoice_uncollectible", "draft", "this one is draft"),
    ("invoice_paid_out_of_band", "paid", "Stripe marks paid only open or uncollectible invoices"),
    ("invoice_edit", "open", "Stripe adds and removes items, and finalizes, only on draft "
                           "invoices; this one is open."),
    ("invoice_edit", "paid", "this one is paid"),
])
def test_a_status_that_does_not_allow_it_is_refused_in_words(invoices, case, sandbox,
                                                             specialist, kind, state, message):
    response = post_memo(specialist, adjustment(case, kind, invoice_id=invoices[state].id),
                         PATH)

    assert response.status_code == 409
    assert response.json()["code"] == "invoice_status"
    assert message in response.json()["message"]
    assert not MoneyAction.objects.exists()


def test_a_second_change_waits_for_the_first(invoices, case, sandbox, specialist):
    invoice = invoices["open"]
    first = post_memo(specialist, adjustment(case, "invoice_uncollectible", invoice_id=invoice.id),
                      PATH)
    assert first.status_code == 201  # no worker here: it stays in flight

    second = post_memo(specialist, adjustment(case, "invoice_void", invoice_id=invoice.id), PATH)

    assert second.status_code == 409 and second.json()["code"] == "in_flight"


def test_a_draft_gets_items_added_and_removed_then_is_finalized(invoices, case, sandbox,
                                                                specialist, eager_tasks):
    invoice = invoices["draft"]
    seats = invoice.lines.data[1].id

    response = post_memo(specialist, adjustment(
        case, "invoice_edit", invoice_id=invoice.id, remove=[seats],
        add=[{"description": "Corrected seats × 2", "amount": 2_000}]), PATH)

    assert response.status_code == 201, response.json()
    action = MoneyAction.objects.get(pk=response.json()["id"])
    assert (action.state, action.amount) == (State.SUCCEEDED, 4_000)  # the removed line
    after = invoice_now(sandbox, invoice)
    assert after.status == "open" and after.total == 6_000 + 2_000
    assert sorted(line.description for line in after.lines.data) == [
        "Corrected seats × 2", "Pro plan, March"]


def test_a_draft_change_submitted_again_repeats_nothing(invoices, case, sandbox, specialist,
                                                       eager_tasks):
    invoice = invoices["draft"]
    response = post_memo(specialist, adjustment(
        case, "invoice_edit", invoice_id=invoice.id, remove=[invoice.lines.data[1].id],
        add=[{"description": "Setup fee", "amount": 500}], finalize=False), PATH)
    action = MoneyAction.objects.get(pk=response.json()["id"])

    action.kind_def.executor.submit(action)  # as a lost worker's retry would

    assert invoice_now(sandbox, invoice).total == 6_000 + 500


# A body the schema refuses is a 400 naming the field; one a rule refuses, a 409 naming it.
@pytest.mark.parametrize("bad, status, code", [
    ({"remove": ["il_missing"]}, 409, "remove"),
    ({"add": [{"description": "Fee", "amount": 0}]}, 400, "add"),
    ({"add": [{"description": " ", "amount": 100}]}, 409, "add"),
    ({"finalize": False}, 409, "add"),
])
def test_a_bad_draft_change_is_refused(invoices, case, sandbox, specialist, bad, status, code):
    response = post_memo(specialist, adjustment(case, "invoice_edit",
                                                invoice_id=invoices["draft"].id, **bad), PATH)

    assert response.status_code == status
    assert (code in response.json()["errors"]) if status == 400 \
        else response.json()["code"] == code


@pytest.mark.parametrize("kind, ending_balance", [("balance_credit", -1_500),
                                                  ("balance_debit", 1_500)])
def test_the_balance_is_credited_or_debited_with_a_description(case, customer, sandbox,
                                                               specialist, eager_tasks,
                                                               kind, ending_balance):
    response = post_memo(specialist, adjustment(case, kind, amount=1_500, currency="usd",
                                                description="Goodwill for the outage"), PATH)

    assert response.status_code == 201, response.json()
    assert MoneyAction.objects.get().state == State.SUCCEEDED
    after = sandbox.client.v1.customers.retrieve(customer.id)
    assert after.balance == ending_balance
    [transaction] = sandbox.client.v1.customers.balance_transactions.list(customer.id).data
    assert transaction.description == "Goodwill for the outage"


@pytest.mark.parametrize("bad, status, code", [
    ({"amount": 0}, 400, "amount"), ({"amount": 12.5}, 400, "amount"),
    ({"description": ""}, 409, "description")])
def test_a_bad_balance_change_is_refused(case, customer, sandbox, specialist, bad, status,
                                         code):
    body = adjustment(case, "balance_credit",
                      **{"amount": 1_500, "currency": "usd", "description": "Goodwill", **bad})

    response = post_memo(specialist, body, PATH)

    assert response.status_code == status
    assert (code in response.json()["errors"]) if status == 400 \
        else response.json()["code"] == code


def test_a_large_write_off_waits_for_finance(sandbox, customer, case, specialist):
    from billing_console.integrations.stripe.sandbox.builders import open_invoice

    invoice = open_invoice(sandbox.client, customer=customer.id, lines=[("Annual", 90_000)])

    response = post_memo(specialist, adjustment(case, "invoice_uncollectible",
                                                invoice_id=invoice.id), PATH)

    assert response.json()["state"] == State.PENDING_APPROVAL
    assert invoice_now(sandbox, invoice).status == "open"


def test_a_draft_change_stripe_refuses_part_way_says_what_was_done(invoices, case, sandbox,
                                                                  specialist, eager_tasks,
                                                                  monkeypatch):
    from billing_console.integrations.stripe.errors import PermanentStripeError

    def refuse(**_):
        raise PermanentStripeError("This invoice can no longer be finalized.")

    monkeypatch.setattr("billing_console.integrations.stripe.gateway.finalize_invoice", refuse)
    invoice = invoices["draft"]

    response = post_memo(specialist, adjustment(
        case, "invoice_edit", invoice_id=invoice.id,
        add=[{"description": "Setup fee", "amount": 500}]), PATH)

    action = MoneyAction.objects.get(pk=response.json()["id"])
    assert action.state == State.FAILED
    assert action.failure_reason == ("Partly done (added “Setup fee”), then Stripe refused: "
                                     "This invoice can no longer be finalized.")


def test_the_reconciler_sends_a_lost_draft_change_again_and_it_is_done_once(
        invoices, case, sandbox, specialist):
    from datetime import timedelta

    from django.utils import timezone

    from money_actions import tasks
    from money_actions.selectors import stuck_after
    from money_actions.services import money_action_begin_submission

    invoice = invoices["draft"]
    action = MoneyAction.objects.get(pk=post_memo(specialist, adjustment(
        case, "invoice_edit", invoice_id=invoice.id, remove=[invoice.lines.data[1].id],
        add=[{"description": "Setup fee", "amount": 500}]), PATH).json()["id"])
    action = money_action_begin_submission(action_id=action.pk)
    action.kind_def.executor.submit(action)  # Stripe acted; the worker died before saying so
    MoneyAction.objects.filter(pk=action.pk).update(
        submitted_at=timezone.now() - stuck_after() - timedelta(minutes=1),
        updated_at=timezone.now() - stuck_after() - timedelta(minutes=1))

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("money_actions.tasks.submit_money_action.delay",
                      lambda action_id: tasks.submit_money_action.apply(args=[action_id]))
        tasks.reconcile_stuck_submissions()

    action.refresh_from_db()
    after = invoice_now(sandbox, invoice)
    assert action.state == State.SUCCEEDED
    assert (after.status, after.total) == ("open", 6_000 + 500)
