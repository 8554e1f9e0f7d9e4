"""Money moves only for the customer a case is verified to be linked to, when it is asked
for, when it is approved or amended, and just before it is sent: the link can change while
an action waits (the ticket names another customer, an email match replaces it)."""

import pytest

from cases.models import Case, StripeLink
from money_actions.models import MoneyAction, State
from tests.conftest import api_client
from tests.refunds.conftest import new_charge, post_refund, refund_body, refunds_created

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("link, customer", [
    (StripeLink.NAMED, "cus_SomeoneElse"),
    (StripeLink.UNVERIFIED, "cus_SomeoneElse"),
    (StripeLink.AMBIGUOUS, ""),
    (StripeLink.NONE, ""),
])
def test_an_action_is_not_approved_once_its_link_changed(
        pending, finance, sandbox, eager_tasks, link, customer):
    Case.objects.filter(pk=pending.case_id).update(stripe_link=link,
                                                   stripe_customer_id=customer)

    response = api_client(finance).post(f"/api/v1/money-actions/{pending.pk}/approve/",
                                        {"note": "ok"})

    assert response.status_code in (400, 409)  # 409 on a link to confirm, 400 on none
    pending.refresh_from_db()
    assert pending.state == State.PENDING_APPROVAL
    assert not refunds_created(sandbox)


def test_a_request_lowered_into_policy_after_its_link_changed_is_not_sent(
        charged, sandbox, specialist, eager_tasks):
    case, _ = charged
    _, big_charge = new_charge(sandbox, amount=100_000, customer=case.stripe_customer_id)
    response = post_refund(specialist, refund_body(case, big_charge, amount=60_000))
    assert response.json()["state"] == State.PENDING_APPROVAL
    Case.objects.filter(pk=case.pk).update(stripe_link=StripeLink.NAMED,
                                           stripe_customer_id="cus_SomeoneElse")

    amended = api_client(specialist).post(
        f"/api/v1/refunds/{response.json()['id']}/amount/", {"amount": 1_000})

    assert amended.status_code == 409
    assert not refunds_created(sandbox)


def test_an_approved_action_whose_link_changed_before_sending_goes_back(
        pending, finance, sandbox, django_capture_on_commit_callbacks):
    """Approved, then re-linked before the worker takes it: not sent, back to a person."""
    from money_actions import tasks

    with django_capture_on_commit_callbacks(execute=False):
        api_client(finance).post(f"/api/v1/money-actions/{pending.pk}/approve/",
                                 {"note": "ok"})
    Case.objects.filter(pk=pending.case_id).update(stripe_link=StripeLink.UNVERIFIED)

    tasks.submit_money_action.apply(args=[str(pending.pk)])

    action = MoneyAction.objects.get(pk=pending.pk)
    assert action.state == State.PENDING_APPROVAL
    assert action.policy_verdicts[-1]["rule"] == "customer_link"
    assert not refunds_created(sandbox)
