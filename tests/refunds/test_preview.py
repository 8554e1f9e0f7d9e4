"""The preview shown before confirming: remainder, verdicts in words, duplicates."""

from datetime import timedelta

import pytest
from django.utils import timezone

from billing_console.integrations.stripe.types import Charge
from money_actions.models import LedgerEntry, RoleLimit
from refunds.selectors import refund_verdicts
from tests.refunds.conftest import api_client, new_charge, refund_body, refunds_created


def preview(user, body):
    return api_client(user).post("/api/v1/refunds/preview/", body, format="json")


def test_the_preview_shows_the_remainder_each_verdict_and_what_the_customer_gets(
        charged, sandbox, specialist):
    case, charge_id = charged
    response = preview(specialist, refund_body(case, charge_id, amount=5_000))

    body = response.json()
    assert response.status_code == 200
    assert body["refundable_remainder"] == 10_000
    assert body["needs_approval"] is False
    assert {v["rule"] for v in body["verdicts"]} == {
        "currency_limit", "role_limit", "charge_age", "customer_total", "fraud"}
    assert all(v["explanation"] for v in body["verdicts"])
    assert body["customer_gets"].startswith("50.00 USD back")
    assert not refunds_created(sandbox)


@pytest.mark.parametrize("overrides, status, code", [
    ({"currency": "eur"}, 409, "currency"),
    ({"amount": 10_001}, 409, "amount_above_refundable"),
    ({"reason_code": "because"}, 409, "reason_code"),
    ({"amount": "25.00"}, 400, "invalid"),
])
def test_the_preview_refuses_what_the_create_refuses(charged, sandbox, specialist, overrides,
                                                     status, code):
    case, charge_id = charged
    body = refund_body(case, charge_id, **overrides)

    previewed = preview(specialist, body)
    created = api_client(specialist).post("/api/v1/refunds/", body, format="json")

    assert previewed.status_code == created.status_code == status
    assert previewed.json()["code"] == created.json()["code"] == code
    assert not refunds_created(sandbox)


def test_the_preview_suggests_duplicate_for_a_charge_repeated_within_a_day(
        charged, sandbox, specialist):
    case, charge_id = charged
    _, twin = new_charge(sandbox, customer=case.stripe_customer_id)

    body = preview(specialist, refund_body(case, twin)).json()

    assert body["duplicate_charges"] == [charge_id]
    assert body["suggested_stripe_reason"] == "duplicate"


def test_a_currency_without_a_limit_always_needs_approval(charged, sandbox, specialist):
    case, _ = charged
    _, yen_charge = new_charge(sandbox, amount=5_000, currency="jpy",
                               customer=case.stripe_customer_id)

    body = preview(specialist, refund_body(case, yen_charge, amount=100)).json()

    verdict = next(v for v in body["verdicts"] if v["rule"] == "currency_limit")
    assert body["needs_approval"] and verdict["needs_approval"]
    assert "JPY has no auto-approve limit" in verdict["explanation"]


def _charge(**fields):
    defaults = {"id": "ch_x", "customer": "cus_x", "payment_intent": None, "amount": 90_000,
                "amount_captured": 90_000, "amount_refunded": 0, "currency": "usd",
                "status": "succeeded", "paid": True, "refunded": False, "disputed": False,
                "description": None, "failure_code": None, "failure_message": None,
                "created": int(timezone.now().timestamp())}
    return Charge(**{**defaults, **fields})


def _verdict(verdicts, rule):
    return next(verdict for verdict in verdicts if verdict.rule == rule)


@pytest.mark.django_db
def test_a_role_limit_sends_a_refund_above_it_to_approval(specialist):
    RoleLimit.objects.create(role="billing_specialist", currency="usd", limit=10_000)
    verdicts = refund_verdicts(charge=_charge(), amount=20_000,
                               stripe_reason="requested_by_customer", requester=specialist)

    assert _verdict(verdicts, "role_limit").needs_approval
    assert "100.00 USD" in _verdict(verdicts, "role_limit").explanation


@pytest.mark.django_db
def test_an_old_charge_needs_approval_and_warns(specialist):
    old = int((timezone.now() - timedelta(days=200)).timestamp())
    verdict = _verdict(refund_verdicts(charge=_charge(created=old), amount=100,
                                       stripe_reason="requested_by_customer",
                                       requester=specialist), "charge_age")

    assert verdict.needs_approval and verdict.warning
    assert "200 days old" in verdict.explanation


@pytest.mark.django_db
def test_the_customer_total_counts_refunds_made_outside_the_console(specialist):
    LedgerEntry.objects.create(entry_type="refund", stripe_id="re_ext", amount=180_000,
                               stripe_customer_id="cus_x", given_back=180_000, currency="usd",
                               status="succeeded", learnt_from="webhook",
                               stripe_created_at=timezone.now())
    verdict = _verdict(refund_verdicts(charge=_charge(), amount=30_000,
                                       stripe_reason="requested_by_customer",
                                       requester=specialist), "customer_total")

    assert verdict.needs_approval
    assert "2,100.00 USD" in verdict.explanation
