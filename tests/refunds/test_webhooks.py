"""Stripe refund webhooks keep refund rows true, and record refunds made elsewhere."""

import time

import pytest

from audit.models import AuditEvent, Source
from cases.models import State as CaseState
from cases.models import StripeLink
from money_actions.models import LedgerEntry, MoneyAction, State
from money_actions.webhooks import on_charge_refunded, on_refund
from tests.cases.factories import make_case
from tests.refunds.conftest import new_charge, post_refund, refund_body


class Delivery:
    """What the inbox hands a handler: the stored event, naming one object."""

    def __init__(self, object_id, event_type="refund.updated", idempotency_key=None):
        self.event_id, self.event_type = f"evt_{object_id}", event_type
        self.payload = {"data": {"object": {"id": object_id}},
                        "request": {"id": None, "idempotency_key": idempotency_key}}


@pytest.mark.django_db(transaction=True)
def test_a_refund_that_fails_after_succeeding_is_failed_and_reopens_the_case(
        sandbox, specialist, eager_tasks):
    customer, charge_id = new_charge(sandbox, payment_method="pm_card_refundFail")
    case = make_case(stripe_customer_id=customer, stripe_link=StripeLink.VERIFIED,
                     state=CaseState.RESOLVED)
    action_id = post_refund(specialist, refund_body(case, charge_id)).json()["id"]
    action = MoneyAction.objects.get(pk=action_id)
    assert action.state == State.SUCCEEDED

    time.sleep(1)  # the sandbox fails such refunds half a second after they succeed
    on_refund(Delivery(action.stripe_object_id))

    action.refresh_from_db()
    assert action.state == State.FAILED
    assert action.failure_reason == "expired_or_canceled_card"
    failed = AuditEvent.objects.get(object_id=action_id, action="refund.failed")
    assert failed.outcome == "failure" and failed.source == Source.STRIPE
    case.refresh_from_db()
    assert case.state == CaseState.IN_PROGRESS
    # People read Stripe's reason in words; the row keeps Stripe's code.
    assert case.events.filter(kind="money", body__contains="Expired or canceled card").exists()
    assert "failed after it had succeeded: Expired or canceled card" in action.finance_flag


def test_a_refund_made_in_the_dashboard_is_recorded_once_as_external(sandbox, db):
    customer, charge_id = new_charge(sandbox)
    case = make_case(stripe_customer_id=customer, stripe_link=StripeLink.VERIFIED)
    refund = sandbox.client.v1.refunds.create(params={"charge": charge_id, "amount": 700})

    on_charge_refunded(Delivery(charge_id, "charge.refunded"))
    on_charge_refunded(Delivery(charge_id, "charge.refunded"))

    external = LedgerEntry.objects.get(stripe_id=refund.id)
    assert (external.amount, external.case, external.status) == (700, case, "succeeded")
    assert external.outside_console and external.given_back == 700
    event = AuditEvent.objects.get(stripe_object_id=refund.id)
    assert event.action == "refund.external" and event.source == Source.STRIPE
    assert event.case_id == case.pk
    assert case.events.filter(kind="money", data__stripe_object_id=refund.id).exists()


def test_a_console_refund_is_not_mistaken_for_an_external_one(charged, sandbox, specialist,
                                                              django_capture_on_commit_callbacks,
                                                              eager_tasks):
    case, charge_id = charged
    with django_capture_on_commit_callbacks(execute=True):
        post_refund(specialist, refund_body(case, charge_id))

    on_charge_refunded(Delivery(charge_id, "charge.refunded"))

    assert not LedgerEntry.objects.filter(money_action__isnull=True).exists()
    assert MoneyAction.objects.get().state == State.SUCCEEDED
