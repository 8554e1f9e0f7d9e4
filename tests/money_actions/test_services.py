"""Withdrawing a request: the requester alone, before it reaches Stripe, through the API."""

import pytest

from audit.models import AuditEvent
from money_actions.models import MoneyAction, State
from tests.refunds.conftest import api_client, post_refund, refund_body


@pytest.fixture
def action(charged, sandbox, specialist):
    case, charge_id = charged
    return MoneyAction.objects.get(pk=post_refund(
        specialist, refund_body(case, charge_id, stripe_reason="fraudulent")).json()["id"])


def withdraw(user, action, note=""):
    return api_client(user).post(f"/api/v1/money-actions/{action.pk}/withdraw/",
                                 {"note": note}, format="json")


def test_a_waiting_request_can_be_withdrawn_and_is_audited(action, specialist):
    response = withdraw(specialist, action, "Customer changed mind.")

    assert response.status_code == 200 and response.json()["state"] == State.CANCELED
    event = AuditEvent.objects.get(object_id=str(action.pk), action="refund.canceled")
    assert (event.reason, event.amount, event.source) == (
        "Customer changed mind.", action.amount, "api")
    assert "withdrawn by specialist" in action.case.events.filter(kind="money").first().body


def test_only_the_requester_withdraws(action, second_specialist, finance):
    assert withdraw(second_specialist, action).status_code == 403
    assert withdraw(finance, action).status_code == 403
    assert MoneyAction.objects.get(pk=action.pk).state == State.PENDING_APPROVAL


def test_a_settled_request_cannot_be_withdrawn(action, specialist):
    MoneyAction.objects.filter(pk=action.pk).update(state=State.SUCCEEDED)

    response = withdraw(specialist, action)

    assert response.status_code == 409 and response.json()["code"] == "invalid_state"


def test_a_refusal_says_the_state_with_its_proper_names(action, specialist):
    """Before: "This refund is submitting to stripe and cannot be withdrawn."."""
    MoneyAction.objects.filter(pk=action.pk).update(state=State.SUBMITTING)

    response = withdraw(specialist, action)

    assert response.json()["message"] == (
        "This refund is being submitted to Stripe: it can no longer be withdrawn.")


def test_a_stale_tab_deciding_a_settled_refund_is_told_so_in_words(action, finance):
    """Before: "This refund is succeeded and cannot be decided."."""
    MoneyAction.objects.filter(pk=action.pk).update(state=State.SUCCEEDED)

    response = api_client(finance).post(f"/api/v1/money-actions/{action.pk}/approve/",
                                        {"note": "Checked."}, format="json")

    assert response.status_code == 409
    assert response.json()["message"] == (
        "This refund has already succeeded: there is nothing left to decide.")


def test_the_timeline_names_who_withdrew_by_their_name(action, specialist):
    specialist.first_name, specialist.last_name = "Sam", "Specialist"
    specialist.save()

    withdraw(specialist, action, "Customer changed mind.")

    body = action.case.events.filter(kind="money").first().body
    assert "withdrawn by Sam Specialist" in body and "specialist." not in body


def test_the_requester_withdraws_from_the_case_page(action, specialist, second_specialist):
    from tests.refunds.conftest import signed_in

    page = signed_in(specialist).get(f"/cases/{action.case_id}/").content.decode()
    assert f'action="/approvals/{action.pk}/withdraw/"' in page
    other = signed_in(second_specialist).get(f"/cases/{action.case_id}/").content.decode()
    assert "/withdraw/" not in other

    response = signed_in(specialist).post(f"/approvals/{action.pk}/withdraw/", follow=True)

    assert "withdrawn; nothing was sent to Stripe" in response.content.decode()
    assert MoneyAction.objects.get(pk=action.pk).state == State.CANCELED
    refused = signed_in(second_specialist).post(f"/approvals/{action.pk}/withdraw/",
                                                follow=True)
    assert "Only the person who requested it can withdraw it." in refused.content.decode()
