"""Requesting refunds through the API: within policy, above it, bad amounts, replays."""

import pytest

from audit.models import AuditEvent
from cases.models import WriteBack
from money_actions.models import MoneyAction, State
from tests.refunds.conftest import (
    api_client,
    new_charge,
    post_refund,
    refund_body,
    refunds_created,
    stripe_refunds,
)


@pytest.mark.django_db(transaction=True)
def test_it_refunds_within_policy_at_once(charged, sandbox, specialist, eager_tasks):
    case, charge_id = charged
    response = post_refund(specialist, refund_body(case, charge_id, amount=5_000))

    assert response.status_code == 201, response.json()
    action = MoneyAction.objects.get(pk=response.json()["id"])
    assert action.state == State.SUCCEEDED
    assert [refund.id for refund in stripe_refunds(sandbox, charge_id)] == [
        action.stripe_object_id]
    assert action.stripe_request_id.startswith("req_")
    write_back = WriteBack.objects.get(case=case)
    # Written for the customer's agent: the charge by its amount and day, the reason in words.
    assert write_back.note.startswith("Refunded 50.00 USD of the charge of 100.00 USD on ")
    assert "(courtesy)" in write_back.note and "re_" not in write_back.note
    assert write_back.add_tags == ["billing_refunded"]


@pytest.mark.django_db(transaction=True)
def test_every_transition_is_audited_with_amount_charge_and_refund(
        charged, sandbox, specialist, eager_tasks):
    case, charge_id = charged
    action_id = post_refund(specialist, refund_body(case, charge_id)).json()["id"]

    events = AuditEvent.objects.filter(object_id=action_id).order_by("id")
    assert [event.action for event in events] == [
        "refund.requested", "refund.auto_approved", "refund.submitted", "refund.succeeded"]
    succeeded = events.last()
    assert (succeeded.amount, succeeded.currency, succeeded.case_id) == (2_500, "USD", case.pk)
    assert succeeded.stripe_object_id.startswith("re_")
    assert succeeded.stripe_request_id.startswith("req_")
    assert succeeded.after["target"] == charge_id
    assert (events.first().actor_username, events.first().ip_address) == (
        "specialist", "127.0.0.1")


@pytest.mark.django_db(transaction=True)
def test_a_refund_above_the_limit_waits_for_finance(charged, sandbox, specialist, finance,
                                                     eager_tasks):
    case, _ = charged
    _, big_charge = new_charge(sandbox, amount=90_000, customer=case.stripe_customer_id)
    response = post_refund(specialist, refund_body(case, big_charge, amount=60_000))

    assert response.json()["state"] == State.PENDING_APPROVAL
    assert not refunds_created(sandbox)
    verdict = next(v for v in response.json()["policy_verdicts"]
                   if v["rule"] == "currency_limit")
    assert verdict["needs_approval"] and "500.00 USD" in verdict["explanation"]

    approved = api_client(finance).post(f"/api/v1/money-actions/{response.json()['id']}/approve/",
                                        {"note": "Checked with the account manager."})
    assert approved.status_code == 200, approved.json()
    assert approved.json()["state"] == State.SUCCEEDED
    assert approved.json()["approved_by"] == "finance"
    assert len(refunds_created(sandbox)) == 1


# A body the schema refuses is a 400 naming the field; one a rule refuses, a 409 naming it.
@pytest.mark.parametrize("overrides, status, code", [
    ({"amount": 10_001}, 409, "amount_above_refundable"),
    ({"amount": 0}, 400, "amount"),
    ({"amount": -500}, 400, "amount"),
    ({"amount": 12.5}, 400, "amount"),
    ({"amount": "1250"}, 400, "amount"),
    ({"amount": True}, 400, "amount"),
    ({"amount": 10**15}, 400, "amount"),
    ({"currency": "eur"}, 409, "currency"),
    ({"currency": "dollars"}, 400, "currency"),
    ({"note": "  "}, 409, "note_required"),
    ({"note": ""}, 400, "note"),
    ({"reason_code": "because"}, 409, "reason_code"),
    ({"stripe_reason": "bored"}, 400, "stripe_reason"),
], ids=["over-refund", "zero", "negative", "fraction", "string", "bool", "absurd",
        "wrong-currency", "not-a-currency", "blank-note", "no-note", "unknown-reason-code",
        "unknown-stripe-reason"])
def test_it_refuses_a_bad_request_with_a_clear_answer_and_no_stripe_refund(
        charged, sandbox, specialist, overrides, status, code):
    case, charge_id = charged
    response = post_refund(specialist, refund_body(case, charge_id, **overrides))

    assert response.status_code == status
    if status == 400:
        assert response.json()["code"] == "invalid" and code in response.json()["errors"]
    else:
        assert response.json()["code"] == code
    assert response.json()["message"]
    assert not refunds_created(sandbox)
    assert not MoneyAction.objects.exists()


def test_it_refuses_a_charge_of_another_customer(charged, sandbox, specialist):
    case, _ = charged
    _, strangers_charge = new_charge(sandbox)
    response = post_refund(specialist, refund_body(case, strangers_charge))

    assert response.status_code == 409 and response.json()["code"] == "charge"


def test_it_counts_requests_waiting_for_approval_against_the_charge(
        charged, sandbox, specialist):
    case, charge_id = charged
    first = post_refund(specialist, refund_body(case, charge_id, amount=8_000,
                                                stripe_reason="fraudulent"))
    assert first.json()["state"] == State.PENDING_APPROVAL

    second = post_refund(specialist, refund_body(case, charge_id, amount=2_001))
    assert second.status_code == 409
    assert second.json()["code"] == "amount_above_refundable"


def test_a_replay_with_the_same_key_and_body_gets_the_first_answer(
        charged, sandbox, specialist):
    case, charge_id = charged
    body = refund_body(case, charge_id)
    first = post_refund(specialist, body, key="retry-me")
    replay = post_refund(specialist, body, key="retry-me")

    assert first.status_code == replay.status_code == 201
    assert replay.json() == first.json()
    assert replay["Idempotent-Replayed"] == "true"
    assert MoneyAction.objects.count() == 1


def test_a_replay_with_the_same_key_and_another_body_gets_409(charged, sandbox, specialist):
    case, charge_id = charged
    post_refund(specialist, refund_body(case, charge_id), key="retry-me")
    other = post_refund(specialist, refund_body(case, charge_id, amount=1_000), key="retry-me")

    assert other.status_code == 409
    assert other.json()["code"] == "idempotency_key_reused"
    assert MoneyAction.objects.count() == 1


def test_a_key_whose_request_failed_can_be_retried(charged, sandbox, specialist):
    case, charge_id = charged
    body = refund_body(case, charge_id, amount=99_999)
    assert post_refund(specialist, body, key="k1").status_code == 409
    assert post_refund(specialist, body, key="k1").status_code == 409
    assert not MoneyAction.objects.exists()


def test_a_case_not_linked_to_a_customer_moves_no_money(sandbox, specialist, db):
    from tests.cases.factories import make_case

    _, charge_id = new_charge(sandbox)
    case = make_case(stripe_customer_id="")

    response = post_refund(specialist, refund_body(case, charge_id))

    assert response.status_code == 409 and response.json()["code"] == "customer"
    assert not refunds_created(sandbox)
