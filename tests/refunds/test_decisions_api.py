"""The refund decisions and amount change through the API, and where API decisions say
they came from. (The approvals page's own tests are in tests/finance/.)"""

import pytest

from audit.models import AuditEvent, Source
from money_actions.models import MoneyAction, State
from tests.refunds.conftest import api_client


def test_api_decisions_are_audited_as_coming_from_the_api(pending, finance):
    api_client(finance).post(f"/api/v1/money-actions/{pending.pk}/approve/", {"note": "ok"})

    assert AuditEvent.objects.get(action="refund.requested").source == Source.API
    assert AuditEvent.objects.get(action="refund.approved").source == Source.API


def test_changing_the_amount_through_the_api_voids_the_approval(pending, finance,
                                                                specialist):
    api_client(finance).post(f"/api/v1/money-actions/{pending.pk}/approve/")

    response = api_client(specialist).post(f"/api/v1/refunds/{pending.pk}/amount/",
                                           {"amount": 3_000}, format="json")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["state"], body["amount"], body["approved_by"]) == (
        State.PENDING_APPROVAL, 3_000, None)
    assert AuditEvent.objects.filter(action="refund.amended", source=Source.API).exists()


@pytest.mark.parametrize("amount", [0, -1, "3000"])
def test_a_new_amount_that_is_not_one_is_a_400(pending, specialist, amount):
    response = api_client(specialist).post(f"/api/v1/refunds/{pending.pk}/amount/",
                                           {"amount": amount}, format="json")

    assert response.status_code == 400 and "amount" in response.json()["errors"]
    assert MoneyAction.objects.get(pk=pending.pk).amount == 4_000


def test_a_new_amount_above_what_is_left_is_a_409(pending, specialist):
    response = api_client(specialist).post(f"/api/v1/refunds/{pending.pk}/amount/",
                                           {"amount": 10_001}, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "amount_above_refundable"
    assert MoneyAction.objects.get(pk=pending.pk).amount == 4_000


def test_only_the_requester_changes_the_amount(pending, second_specialist):
    response = api_client(second_specialist).post(f"/api/v1/refunds/{pending.pk}/amount/",
                                                  {"amount": 3_000}, format="json")

    assert response.status_code == 403 and response.json()["code"] == "not_requester"
