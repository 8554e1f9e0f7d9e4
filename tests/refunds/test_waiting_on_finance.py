"""A case follows its money actions' approvals: it waits on finance while one waits for
approval, and goes back to where it was once finance has decided; and an action within
policy is approved by the policy, not by the person who asked for it."""

import pytest

from audit.models import POLICY_ROLE, AuditEvent, Source
from cases.models import Case, CaseEvent, State, WriteBack
from cases.services import case_transition
from tests.refunds.conftest import api_client, post_refund, refund_body, signed_in


def _fraud_refund(case, charge_id, user, amount=1_000):
    """A refund that needs approval whatever its amount (fraud always does)."""
    response = post_refund(user, refund_body(case, charge_id, amount=amount,
                                             stripe_reason="fraudulent"))
    assert response.json()["state"] == "pending_approval", response.json()
    return response.json()["id"]


def _state(case):
    return Case.objects.get(pk=case.pk).state


def _set_state(case, state):
    Case.objects.filter(pk=case.pk).update(state=state)


def test_a_request_needing_approval_puts_the_case_on_waiting_on_finance(charged, specialist):
    case, charge_id = charged
    _set_state(case, State.IN_PROGRESS)

    _fraud_refund(case, charge_id, specialist)

    assert _state(case) == State.WAITING_FINANCE
    entry = CaseEvent.objects.filter(case=case, kind=CaseEvent.Kind.STATE).first()
    assert entry.body.startswith("In progress → Waiting on finance: Refund of 10.00 USD")
    event = AuditEvent.objects.get(action="case.state_changed", case_id=case.pk)
    assert (event.after, event.source) == ({"state": "waiting_finance"}, Source.SYSTEM)
    assert WriteBack.objects.filter(case=case, zendesk_status="hold").exists()


@pytest.mark.parametrize("decide", ["approve", "reject", "withdraw"])
def test_a_decision_puts_the_case_back_in_the_state_it_was_in(charged, specialist, finance,
                                                              decide):
    case, charge_id = charged
    _set_state(case, State.TRIAGED)
    action_id = _fraud_refund(case, charge_id, specialist)
    decider = specialist if decide == "withdraw" else finance

    response = api_client(decider).post(f"/api/v1/money-actions/{action_id}/{decide}/",
                                        {"note": "Decided."})

    assert response.status_code == 200, response.json()
    assert _state(case) == State.TRIAGED
    back = CaseEvent.objects.filter(case=case, kind=CaseEvent.Kind.STATE).first()
    assert back.body.startswith("Waiting on finance → Triaged: Refund of 10.00 USD")


def test_the_case_waits_until_every_approval_is_decided(charged, specialist, finance):
    case, charge_id = charged
    _set_state(case, State.IN_PROGRESS)
    first = _fraud_refund(case, charge_id, specialist)
    second = _fraud_refund(case, charge_id, specialist, amount=2_000)

    api_client(finance).post(f"/api/v1/money-actions/{first}/reject/", {"note": "No."})
    assert _state(case) == State.WAITING_FINANCE

    api_client(finance).post(f"/api/v1/money-actions/{second}/reject/", {"note": "No."})
    assert _state(case) == State.IN_PROGRESS


def test_a_case_a_person_put_on_waiting_on_finance_stays_there(charged, specialist, finance):
    case, charge_id = charged
    _set_state(case, State.IN_PROGRESS)
    case_transition(case=case, to_state=State.WAITING_FINANCE, actor=specialist)
    action_id = _fraud_refund(case, charge_id, specialist)

    api_client(finance).post(f"/api/v1/money-actions/{action_id}/reject/", {"note": "No."})

    assert _state(case) == State.WAITING_FINANCE


def test_a_resolved_case_is_not_reopened_by_a_request(charged, specialist):
    case, charge_id = charged
    _set_state(case, State.RESOLVED)

    _fraud_refund(case, charge_id, specialist)

    assert _state(case) == State.RESOLVED


def test_a_request_within_policy_leaves_the_case_as_it_is(charged, specialist):
    case, charge_id = charged
    _set_state(case, State.IN_PROGRESS)

    post_refund(specialist, refund_body(case, charge_id))

    assert _state(case) == State.IN_PROGRESS


def test_an_action_within_policy_is_approved_by_the_policy_not_the_requester(charged,
                                                                            specialist):
    case, charge_id = charged

    action_id = post_refund(specialist, refund_body(case, charge_id)).json()["id"]

    event = AuditEvent.objects.get(object_id=action_id, action="refund.auto_approved")
    assert (event.actor_id, event.actor_username, event.actor_role, event.source) == (
        None, "", POLICY_ROLE, Source.SYSTEM)
    assert event.reason == "Within policy: no approval needed."
    assert event.requested_by == "specialist"  # still found under its requester
    assert not AuditEvent.objects.filter(object_id=action_id, action="refund.approved",
                                         actor_username="specialist").exists()


def test_the_trail_shows_an_auto_approval_as_the_policys(charged, specialist, finance):
    case, charge_id = charged
    action_id = post_refund(specialist, refund_body(case, charge_id)).json()["id"]
    event = AuditEvent.objects.get(object_id=action_id, action="refund.auto_approved")

    page = signed_in(finance).get(f"/audit/{event.pk}/").content.decode()

    assert "Money policy" in page
    assert "Within policy: no second person was needed." in page
