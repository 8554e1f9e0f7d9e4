"""Finance's decision reaches the Zendesk ticket: each approval or rejection of a money action
on a case is one internal note, a sentence the ticket's agent reads, which also says where
the case went; and a ticket the console put on hold leaves it for the status its case's state
maps to, with that state's tag alone."""

import pytest

from billing_console.names import in_sentence
from billing_console.notes import note_ending_a_sentence
from cases.models import State, StripeLink, WriteBack
from money_actions.models import MoneyAction
from tests.cases.factories import make_case
from tests.conftest import api_client
from tests.refunds.conftest import new_charge, post_refund, refund_body

REASON = "Paid back in March already."
OTHER_TAGS = {"billing_escalation"}


@pytest.fixture
def ticket_case(db, sandbox, zendesk_sandbox, eager_tasks):
    """A case on a Zendesk ticket that waits on its customer there, as seeded tickets do,
    whose customer has a charge of 100.00 USD."""
    ticket = zendesk_sandbox.create_ticket(status="pending", tags=sorted(OTHER_TAGS))
    customer, charge_id = new_charge(sandbox)
    case = make_case(zendesk_ticket_id=ticket["id"], stripe_customer_id=customer,
                     stripe_link=StripeLink.VERIFIED, zendesk_status="pending")
    return case, charge_id


def _ticket(zendesk_sandbox, case):
    _, body = zendesk_sandbox.call("GET", f"/api/v2/tickets/{case.zendesk_ticket_id}.json")
    return body["ticket"]


def _notes(zendesk_sandbox, case):
    _, body = zendesk_sandbox.call(
        "GET", f"/api/v2/tickets/{case.zendesk_ticket_id}/comments.json")
    return [comment["body"] for comment in body["comments"] if not comment["public"]]


def _fraud_refund(specialist, case, charge_id, amount):
    """A refund that waits for finance whatever its amount (fraud always does)."""
    response = post_refund(specialist, refund_body(case, charge_id, amount=amount,
                                                   stripe_reason="fraudulent"))
    assert response.json()["state"] == "pending_approval", response.json()
    return response.json()["id"]


def _decide(finance, action_id, decision, note=REASON):
    response = api_client(finance).post(f"/api/v1/money-actions/{action_id}/{decision}/",
                                        {"note": note})
    assert response.status_code == 200, response.json()


@pytest.mark.parametrize("before", [State.NEW, State.TRIAGED])
@pytest.mark.parametrize("decision,words", [
    ("reject", f"finance rejected the refund of 40.00 USD on {{}}: {REASON}"),
    ("approve", "finance approved the refund of 40.00 USD on {}; it is on its way to Stripe."),
])
def test_the_ticket_hears_the_decision_once_and_leaves_hold_for_its_states_status(
        ticket_case, zendesk_sandbox, specialist, finance, before, decision, words,
        django_capture_on_commit_callbacks):
    case, charge_id = ticket_case
    case.state = before
    case.save(update_fields=["state"])
    with django_capture_on_commit_callbacks(execute=True):
        action_id = _fraud_refund(specialist, case, charge_id, 4_000)
    assert _ticket(zendesk_sandbox, case)["status"] == "hold"

    with django_capture_on_commit_callbacks(execute=True):
        _decide(finance, action_id, decision)

    ticket = _ticket(zendesk_sandbox, case)
    state_tags = {tag for tag in ticket["tags"] if tag.startswith("billing_console_")}
    assert (ticket["status"], state_tags) == ("open", {f"billing_console_{before.value}"})
    assert set(ticket["tags"]) >= OTHER_TAGS
    decided = [note for note in _notes(zendesk_sandbox, case) if "finance " in note]
    # One note: the decision, then the state the case went back to, said once.
    assert decided[-1] == (f"Billing Console: {words.format(_target_name(action_id))} "
                           f"This case is {in_sentence(before.label)}.")
    assert [note for note in decided if "finance approved" in note
            or "finance rejected" in note] == decided[-1:]
    assert set(WriteBack.objects.values_list("status", flat=True)) == {WriteBack.Status.SENT}


def _target_name(action_id):
    return MoneyAction.objects.get(pk=action_id).target_name


def test_a_decision_on_a_case_still_waiting_on_finance_is_a_note_alone(
        ticket_case, zendesk_sandbox, specialist, finance, django_capture_on_commit_callbacks):
    case, charge_id = ticket_case
    with django_capture_on_commit_callbacks(execute=True):
        first = _fraud_refund(specialist, case, charge_id, 4_000)
        second = _fraud_refund(specialist, case, charge_id, 2_000)

    with django_capture_on_commit_callbacks(execute=True):
        _decide(finance, first, "reject")
    still = _ticket(zendesk_sandbox, case)
    with django_capture_on_commit_callbacks(execute=True):
        _decide(finance, second, "reject", note="Fraud team declined it.")

    target = _target_name(first)
    assert still["status"] == "hold"
    assert _notes(zendesk_sandbox, case)[-2:] == [
        f"Billing Console: finance rejected the refund of 40.00 USD on {target}: {REASON}",
        f"Billing Console: finance rejected the refund of 20.00 USD on {target}: Fraud team "
        "declined it. This case is new."]
    assert _ticket(zendesk_sandbox, case)["status"] == "open"


def test_a_long_reason_reaches_the_ticket_folded(
        ticket_case, zendesk_sandbox, specialist, finance, django_capture_on_commit_callbacks):
    case, charge_id = ticket_case
    with django_capture_on_commit_callbacks(execute=True):
        action_id = _fraud_refund(specialist, case, charge_id, 4_000)
    reason = "The customer\n\nwas refunded twice before. " * 100

    with django_capture_on_commit_callbacks(execute=True):
        _decide(finance, action_id, "reject", note=reason)

    note = _notes(zendesk_sandbox, case)[-1]
    told = note.split(": ", 2)[2]
    assert told.startswith("The customer was refunded twice before. The customer")
    assert "\n" not in note and "… This case is new." in note
    assert len(told) < 350


@pytest.mark.parametrize("text,folded", [
    ("", ""),
    ("Paid back in March", "Paid back in March."),
    ("Paid back?\n  In March!", "Paid back? In March!"),
    ("word " * 100, ("word " * 60).rstrip() + "…"),
])
def test_a_note_ending_a_sentence_is_one_line_of_a_few_hundred_characters(text, folded):
    assert note_ending_a_sentence(text) == folded
