"""Lock order under concurrency, on PostgreSQL: row locks first, the audit chain's lock last,
and a lock conflict that still happens is retried, never a 500."""

import pytest

from audit.selectors import verify_audit_chain
from cases.models import CaseEvent
from money_actions.models import MoneyAction
from tests.conftest import signed_in
from tests.refunds.conftest import (
    needs_postgres,
    new_charge,
    post_refund,
    refund_body,
    stripe_refunds,
)
from tests.refunds.test_concurrency import CALLERS, all_at_once

pytestmark = [needs_postgres, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def answers(responses):
    return [(response.status_code, response.content[:200]) for response in responses]


@pytest.fixture
def charged_200(sandbox, refund_policy):
    from cases.models import StripeLink
    from tests.cases.factories import make_case

    customer, charge_id = new_charge(sandbox, amount=20_000)
    return make_case(stripe_customer_id=customer, stripe_link=StripeLink.VERIFIED), charge_id


def test_twenty_refunds_on_one_charge_get_no_5xx_and_never_promise_more_than_it(
        charged_200, sandbox, specialist, eager_tasks):
    """Each accepted refund goes on to Stripe at once, as a worker takes it, so requests,
    submissions and outcomes all write the trail and the case's timeline together."""
    case, charge_id = charged_200  # 200.00 captured; twenty callers ask 25.00 each

    responses = all_at_once(lambda i: post_refund(
        specialist, refund_body(case, charge_id, amount=2_500), key=f"racer-{i}"))

    statuses = sorted(response.status_code for response in responses)
    assert all(status == 201 or 400 <= status < 500 for status in statuses), answers(responses)
    created = [response.json()["amount"] for response in responses
               if response.status_code == 201]
    assert sum(created) <= 20_000 and len(created) == 8, statuses
    assert sum(MoneyAction.objects.values_list("amount", flat=True)) == sum(created)
    assert sum(refund.amount for refund in stripe_refunds(sandbox, charge_id)) <= 20_000
    assert verify_audit_chain().intact


def test_notes_racing_refunds_on_one_case_get_no_5xx(charged_200, sandbox, specialist):
    """A note locks the case and then writes the trail; a refund writes the trail and then
    the case's timeline (a row that points at the case). Both orders used to meet."""
    case, charge_id = charged_200

    def call(i):
        if i % 2:
            return post_refund(specialist, refund_body(case, charge_id, amount=1_000),
                               key=f"mixed-{i}")
        return signed_in(specialist).post(f"/cases/{case.pk}/notes/", {"body": f"note {i}"})

    responses = all_at_once(call)

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201] * (CALLERS // 2) + [302] * (CALLERS // 2), answers(responses)
    notes = CaseEvent.objects.filter(case=case, kind=CaseEvent.Kind.NOTE).count()
    assert notes == CALLERS // 2
    report = verify_audit_chain()
    assert report.intact and report.checked >= CALLERS


def test_the_webhooks_of_twenty_racing_refunds_all_succeed_at_once(
        charged_200, sandbox, specialist, eager_tasks):
    """Stripe's events of the refunds, handled all at once while more refunds are asked:
    none is left failed, and each refund is in the ledger once, as the console's."""
    from billing_console.integrations import inbox
    from billing_console.integrations.models import InboundEvent
    from money_actions.models import LedgerEntry

    case, charge_id = charged_200
    all_at_once(lambda i: post_refund(
        specialist, refund_body(case, charge_id, amount=2_500), key=f"first-{i}"), 10)
    events = [event for kind in ("refund.created", "charge.refunded")
              for event in sandbox.get_json(f"/v1/events?type={kind}&limit=100")["data"]]

    def handle(i):
        if i >= len(events):
            return post_refund(specialist, refund_body(case, charge_id, amount=2_500),
                               key=f"second-{i}")
        stored, _ = inbox.accept(source="stripe", event_id=events[i]["id"],
                                 event_type=events[i]["type"], payload=events[i])
        return inbox.process(stored.pk)

    all_at_once(handle, len(events) + 4)

    assert not InboundEvent.objects.exclude(status=InboundEvent.Status.PROCESSED).exists()
    refunds = LedgerEntry.objects.filter(entry_type="refund")
    assert refunds.count() == len(stripe_refunds(sandbox, charge_id))
    assert not refunds.filter(money_action__isnull=True).exists()
    assert verify_audit_chain().intact
