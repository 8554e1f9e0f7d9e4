"""The state machine's rules that the API does not reach: withdrawing a request."""

import pytest

from audit.models import AuditEvent
from billing_console.exceptions import ApplicationError
from money_actions.models import MoneyAction, State
from money_actions.services import money_action_cancel
from tests.refunds.conftest import post_refund, refund_body


@pytest.fixture
def action(charged, sandbox, specialist):
    case, charge_id = charged
    return MoneyAction.objects.get(pk=post_refund(
        specialist, refund_body(case, charge_id, stripe_reason="fraudulent")).json()["id"])


def test_a_waiting_request_can_be_withdrawn_and_is_audited(action, specialist):
    money_action_cancel(action_id=action.pk, actor=specialist, note="Customer changed mind.")

    action.refresh_from_db()
    assert action.state == State.CANCELED
    event = AuditEvent.objects.get(object_id=str(action.pk), action="refund.canceled")
    assert (event.reason, event.amount) == ("Customer changed mind.", action.amount)


def test_a_settled_request_cannot_be_withdrawn(action, specialist):
    MoneyAction.objects.filter(pk=action.pk).update(state=State.SUCCEEDED)

    with pytest.raises(ApplicationError) as refused:
        money_action_cancel(action_id=action.pk, actor=specialist)

    assert refused.value.status == 409
