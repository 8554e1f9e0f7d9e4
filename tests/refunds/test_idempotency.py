"""An `Idempotency-Key` keeps only an answer given: a request refused (400, 404, 409)
keeps nothing, so the same key with the body corrected goes through, as Stripe's keys do.
And a charge Stripe does not have is a 404, as every id that names nothing."""

import pytest

from money_actions.models import IdempotentRequest, MoneyAction
from tests.refunds.conftest import api_client, post_refund, refund_body, refunds_created


@pytest.mark.parametrize("mistake, status", [
    ({"amount": 0}, 400),
    ({"case_id": 10**9}, 404),
    ({"charge_id": "ch_NoSuchCharge"}, 404),
    ({"reason_code": "because"}, 409),
    ({"amount": 99_999}, 409),
], ids=["bad-amount", "unknown-case", "unknown-charge", "unknown-reason", "over-refund"])
def test_a_refused_request_keeps_nothing_and_its_key_goes_through_corrected(
        charged, sandbox, specialist, mistake, status):
    case, charge_id = charged
    body = refund_body(case, charge_id)

    refused = post_refund(specialist, {**body, **mistake}, key="fix-and-retry")
    assert refused.status_code == status, refused.json()
    assert not IdempotentRequest.objects.exists()

    done = post_refund(specialist, body, key="fix-and-retry")
    again = post_refund(specialist, body, key="fix-and-retry")

    assert done.status_code == again.status_code == 201, done.json()
    assert again["Idempotent-Replayed"] == "true" and again.json() == done.json()
    assert MoneyAction.objects.count() == 1


def test_a_key_that_gave_an_answer_still_refuses_another_body(charged, sandbox, specialist):
    case, charge_id = charged
    assert post_refund(specialist, refund_body(case, charge_id), key="once").status_code == 201

    other = post_refund(specialist, refund_body(case, charge_id, amount=1_000), key="once")

    assert other.status_code == 409 and other.json()["code"] == "idempotency_key_reused"


@pytest.mark.parametrize("key", ["k" * 256, "tab\there"], ids=["too-long", "control"])
def test_a_key_the_schema_refuses_is_a_400(charged, sandbox, specialist, key):
    case, charge_id = charged

    response = post_refund(specialist, refund_body(case, charge_id), key=key)

    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["errors"]
    assert not MoneyAction.objects.exists() and not refunds_created(sandbox)


@pytest.mark.parametrize("path", ["/api/v1/refunds/", "/api/v1/refunds/preview/"])
def test_a_charge_stripe_does_not_have_is_a_404(charged, sandbox, specialist, path):
    case, _ = charged
    response = api_client(specialist).post(
        path, refund_body(case, "ch_NoSuchCharge"), format="json")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert "ch_NoSuchCharge" in response.json()["message"]


def test_a_charge_id_of_10_kb_comes_back_as_its_first_40_characters(charged, sandbox,
                                                                     specialist):
    case, _ = charged
    response = api_client(specialist).post(
        "/api/v1/refunds/", refund_body(case, "ch_" + "x" * 10_000), format="json")

    assert response.status_code == 404
    assert response.json()["message"] == f"Stripe has no charge “ch_{'x' * 37}…”."
