"""A refusal of who asks, on the pages or through the API, is on the audit trail as every
refusal is: a decision on one's own request, a withdrawal or change of someone else's."""

import pytest

from audit.models import AuditEvent, Outcome, Source
from billing_console.access import Role
from money_actions.models import MoneyAction, State
from tests.conftest import make_user
from tests.refunds.conftest import api_client, post_refund, refund_body, signed_in


@pytest.fixture
def own_pending(charged, sandbox):
    """A refund waiting for approval, asked by someone who is finance too."""
    case, charge_id = charged
    both = make_user("maker-checker", Role.SPECIALIST, Role.FINANCE)
    response = post_refund(both, refund_body(case, charge_id, stripe_reason="fraudulent"))
    return both, MoneyAction.objects.get(pk=response.json()["id"])


def _denials():
    return list(AuditEvent.objects.filter(action="access.denied"))


@pytest.mark.parametrize("decision", ["approve", "reject"])
def test_deciding_on_ones_own_request_through_the_api_is_audited(own_pending, decision):
    both, action = own_pending

    response = api_client(both).post(f"/api/v1/money-actions/{action.pk}/{decision}/",
                                     {"note": "Looks fine."}, format="json")

    assert response.status_code == 403 and response.json()["code"] == "own_request"
    [denied] = _denials()
    assert (denied.actor, denied.source, denied.outcome) == (both, Source.API, Outcome.DENIED)
    assert (denied.object_type, denied.object_id) == ("money_action", str(action.pk))
    assert (denied.case_id, denied.zendesk_ticket_id) == (
        action.case_id, action.case.zendesk_ticket_id)
    assert denied.reason == "You cannot decide on your own request; someone else must."
    assert MoneyAction.objects.get(pk=action.pk).state == State.PENDING_APPROVAL


def test_deciding_on_ones_own_request_on_the_approvals_page_is_audited(own_pending):
    both, action = own_pending

    signed_in(both).post(f"/approvals/{action.pk}/approve/", {"note": "Looks fine."})

    [denied] = _denials()
    assert (denied.actor, denied.source, denied.object_id) == (
        both, Source.CONSOLE, str(action.pk))


def test_withdrawing_someone_elses_request_is_audited(pending, second_specialist):
    response = api_client(second_specialist).post(
        f"/api/v1/money-actions/{pending.pk}/withdraw/", {}, format="json")

    assert response.status_code == 403 and response.json()["code"] == "not_requester"
    [denied] = _denials()
    assert (denied.actor, denied.object_id) == (second_specialist, str(pending.pk))
    assert denied.reason == "Only the person who requested it can withdraw it."


def test_a_refusal_of_the_request_itself_is_no_denial(pending, finance):
    """A note missing is a rule about the request, not about who asks."""
    response = api_client(finance).post(f"/api/v1/money-actions/{pending.pk}/reject/",
                                        {"note": ""}, format="json")

    assert response.status_code == 409 and not _denials()
