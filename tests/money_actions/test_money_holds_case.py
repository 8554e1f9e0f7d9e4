"""Money on its way holds its case: a case is not resolved or closed while a money action on
it waits for finance or is on its way to Stripe, nor taken off "waiting on finance" by hand
while finance decides, on the page and in the API alike; and the notes the ticket gets
read as sentences, with what finance decides named."""

import json

import pytest

from cases.models import Case, ResolutionCode, State, WriteBack
from credit_memos.kinds import INVOICE_EDIT
from money_actions.models import MoneyAction, ReasonCode
from refunds.kinds import REFUND
from tests.conftest import api_client, signed_in
from tests.refunds.conftest import post_refund, refund_body

RESOLUTION = {"resolution_code": ResolutionCode.REFUNDED,
              "summary": "Refunded the duplicate charge."}
# The `pending` fixture's refund: 40.00 USD, waiting for finance, named with its charge.
WAITS = "A refund of 40.00 USD on {} waits for finance; {} once it is decided, or withdraw it."


def _case_api(user, case, action, body):
    return api_client(user).post(f"/api/v1/cases/{case.pk}/{action}/", json.dumps(body),
                                 content_type="application/json")


def _state(case):
    return Case.objects.get(pk=case.pk).state


def test_a_case_is_not_resolved_while_its_refund_waits_for_finance(pending, specialist):
    case = pending.case

    response = _case_api(specialist, case, "resolve", RESOLUTION)
    page = signed_in(specialist).post(f"/cases/{case.pk}/resolve/", {
        "code": ResolutionCode.REFUNDED, "summary": "Refunded the duplicate charge."})

    refusal = WAITS.format(pending.target_name, "resolve the case")
    assert (response.status_code, response.json()) == (
        409, {"message": refusal, "code": "money_waiting"})
    assert page.status_code == 400 and refusal in page.content.decode()
    assert _state(case) == State.WAITING_FINANCE
    assert not WriteBack.objects.filter(case=case, zendesk_status="solved").exists()


def test_once_the_refund_is_withdrawn_the_case_resolves(pending, specialist):
    api_client(specialist).post(f"/api/v1/money-actions/{pending.pk}/withdraw/",
                                {"note": "Asked the customer first."})

    response = _case_api(specialist, pending.case, "resolve", RESOLUTION)

    assert response.status_code == 200, response.json()
    assert _state(pending.case) == State.RESOLVED


def test_a_case_waiting_on_finance_for_a_refund_is_not_moved_on_by_hand(pending, specialist):
    response = _case_api(specialist, pending.case, "state", {"state": State.IN_PROGRESS})
    page = signed_in(specialist).post(f"/cases/{pending.case.pk}/state/",
                                      {"to_state": State.IN_PROGRESS}, follow=True)

    refusal = WAITS.format(pending.target_name, "move the case to in progress")
    assert (response.status_code, response.json()["message"]) == (409, refusal)
    assert refusal in page.content.decode()
    assert _state(pending.case) == State.WAITING_FINANCE


def test_a_case_is_not_closed_while_its_refund_is_on_its_way_to_stripe(charged, specialist):
    case, charge_id = charged
    refund = post_refund(specialist, refund_body(case, charge_id)).json()
    assert refund["state"] == "approved"  # within policy; its submission not yet run

    charge_named = MoneyAction.objects.get(pk=refund["id"]).target_name

    response = _case_api(specialist, case, "state", {"state": State.CLOSED})

    assert (response.status_code, response.json()) == (409, {
        "message": f"A refund of 25.00 USD on {charge_named} is on its way to Stripe; "
                   "close the case once Stripe has taken it.", "code": "money_waiting"})
    assert _state(case) == State.NEW


def test_the_ticket_hears_what_finance_decides_and_each_state_in_a_sentence(pending,
                                                                             finance):
    case = pending.case
    waiting = WriteBack.objects.get(case=case, zendesk_status="hold")

    api_client(finance).post(f"/api/v1/money-actions/{pending.pk}/reject/", {"note": "No."})

    back = WriteBack.objects.filter(case=case).latest("pk")
    assert waiting.note == ("Billing Console: this case is waiting on finance's approval of "
                            f"a refund of 40.00 USD on {pending.target_name}.")
    assert back.note == ("Billing Console: finance rejected the refund of 40.00 USD on "
                         f"{pending.target_name}: No. This case is new.")
    assert (waiting.zendesk_status, back.zendesk_status) == ("hold", "open")
    # Each state's note sets its tag and takes the others off the ticket.
    assert waiting.add_tags == ["billing_console_waiting_finance"]
    assert back.add_tags == ["billing_console_new"]
    assert {"billing_console_new", "billing_console_resolved"} <= set(waiting.remove_tags)
    assert "billing_console_waiting_finance" in back.remove_tags
    assert "billing_console_new" not in back.remove_tags


@pytest.mark.django_db
def test_the_notes_of_money_keep_proper_names_and_count_in_words():
    ReasonCode.objects.create(code="sla_breach", label="SLA breach credit")
    refund = MoneyAction(kind=REFUND.slug, amount=118_800, currency="usd",
                         reason_code="sla_breach",
                         target_name="the charge of 1,188.00 USD on 30 Nov 2026")
    edit = MoneyAction(kind=INVOICE_EDIT.slug, amount=3_000, currency="usd",
                       reason_code="sla_breach", target_name="invoice ACME-0012",
                       params={"add": [{"description": "Credit", "amount": -3_000}],
                               "remove": [], "finalize": True})

    assert REFUND.success_note(refund) == (
        "Refunded 1,188.00 USD of the charge of 1,188.00 USD on 30 Nov 2026 (SLA breach "
        "credit). It reaches the customer's account in 5–10 business days.")
    assert INVOICE_EDIT.success_note(edit) == (
        "Invoice ACME-0012 changed: 1 item added, then finalized (SLA breach credit).")
