"""Maker-checker: who may approve, what the database enforces, and what voids an approval."""

import pytest
from django.db import IntegrityError, transaction

from billing_console.access import Role
from money_actions.models import MoneyAction, State
from money_actions.services import money_action_begin_submission
from refunds.selectors import read_charge
from refunds.services import refund_change_amount
from tests.conftest import make_user
from tests.refunds.conftest import api_client, post_refund, refund_body, refunds_created


def test_a_requester_approving_their_own_refund_gets_403(charged, sandbox):
    case, charge_id = charged
    both = make_user("maker-checker", Role.SPECIALIST, Role.FINANCE)
    action_id = post_refund(both, refund_body(case, charge_id, stripe_reason="fraudulent")
                            ).json()["id"]

    response = api_client(both).post(f"/api/v1/money-actions/{action_id}/approve/", {"note": "ok"})

    assert response.status_code == 403
    assert response.json()["code"] == "own_request"
    assert MoneyAction.objects.get(pk=action_id).state == State.PENDING_APPROVAL


def test_the_database_refuses_an_approver_who_is_the_requester(pending):
    with pytest.raises(IntegrityError), transaction.atomic():
        MoneyAction.objects.filter(pk=pending.pk).update(approved_by=pending.requested_by)


def test_the_database_refuses_a_negative_amount(pending):
    with pytest.raises(IntegrityError), transaction.atomic():
        MoneyAction.objects.filter(pk=pending.pk).update(amount=-1)


def test_an_admin_may_approve(pending, admin_user):
    response = api_client(admin_user).post(f"/api/v1/money-actions/{pending.pk}/approve/")

    assert response.status_code == 200
    assert response.json()["state"] == State.APPROVED


def test_finance_rejects_with_a_note_and_the_case_timeline_says_so(pending, finance):
    response = api_client(finance).post(f"/api/v1/money-actions/{pending.pk}/reject/",
                                        {"note": "Not fraud: the customer used the card."})

    assert response.status_code == 200
    assert response.json()["state"] == State.CANCELED
    assert response.json()["rejected_by"] == "finance"
    timeline = pending.case.events.filter(kind="money").first()
    assert "rejected by finance" in timeline.body


def test_a_rejection_needs_a_note(pending, finance):
    response = api_client(finance).post(f"/api/v1/money-actions/{pending.pk}/reject/")

    assert response.status_code == 409 and response.json()["code"] == "note_required"


def test_a_decided_refund_cannot_be_decided_again(pending, finance, admin_user):
    api_client(finance).post(f"/api/v1/money-actions/{pending.pk}/approve/")
    again = api_client(admin_user).post(f"/api/v1/money-actions/{pending.pk}/reject/",
                                        {"note": "no"})

    assert again.status_code == 409


def test_changing_the_amount_voids_the_approval(pending, finance, sandbox):
    api_client(finance).post(f"/api/v1/money-actions/{pending.pk}/approve/")
    pending.refresh_from_db()
    assert pending.state == State.APPROVED

    changed = refund_change_amount(action=pending, charge=read_charge(pending.stripe_target_id),
                                   amount=3_000, actor=pending.requested_by)

    assert changed.state == State.PENDING_APPROVAL
    assert changed.approved_by is None and changed.approved_amount is None
    assert money_action_begin_submission(action_id=pending.pk) is None
    assert not refunds_created(sandbox)


def test_the_submission_refuses_an_amount_the_approval_does_not_cover(pending, finance):
    api_client(finance).post(f"/api/v1/money-actions/{pending.pk}/approve/")
    MoneyAction.objects.filter(pk=pending.pk).update(amount=9_000)

    assert money_action_begin_submission(action_id=pending.pk) is None
    action = MoneyAction.objects.get(pk=pending.pk)
    assert (action.state, action.approved_by) == (State.PENDING_APPROVAL, None)


def test_a_specialist_cannot_approve(pending, second_specialist):
    response = api_client(second_specialist).post(f"/api/v1/money-actions/{pending.pk}/approve/")

    assert response.status_code == 403


@pytest.mark.parametrize("method, path", [
    ("post", "/api/v1/refunds/"),
    ("post", "/api/v1/refunds/preview/"),
    ("get", "/api/v1/refunds/{id}/"),
    ("post", "/api/v1/money-actions/{id}/approve/"),
    ("post", "/api/v1/money-actions/{id}/reject/"),
])
def test_tier2_gets_403_everywhere(pending, tier2, method, path):
    client = api_client(tier2)
    response = getattr(client, method)(path.format(id=pending.pk), {}, format="json")

    assert response.status_code == 403
