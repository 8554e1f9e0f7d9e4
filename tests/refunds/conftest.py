"""Fixtures for refund and money-action tests: a Stripe sandbox with its test controls, a
customer with a charge, and the case that names the customer."""

import importlib
import json
import re
import uuid

import pytest
from django.apps import apps as django_apps
from django.db import connection

from billing_console.integrations.stripe.sandbox.builders import charge, create_customer
from cases.models import StripeLink
from money_actions.models import MoneyAction
from tests.cases.factories import make_case
from tests.conftest import api_client, signed_in  # noqa: F401 (the refund tests' clients)

needs_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL: row locks under concurrent requests (set DATABASE_URL)")


@pytest.fixture(autouse=True)
def default_refund_policy(refund_policy):
    """Every refund test runs under the seeded policy."""


@pytest.fixture
def reply_templates(db):
    """The reply templates the data migrations seed; a transactional test's flush empties
    them."""
    importlib.import_module("cases.migrations.0003_reply_templates").create_templates(
        django_apps, None)
    importlib.import_module("cases.migrations.0011_reply_template_facts").with_facts(
        django_apps, None)
    importlib.import_module("cases.migrations.0012_reply_template_for_a_kind").with_kind(
        django_apps, None)


def refunds_created(sandbox):
    """The POSTs that reached Stripe's refund endpoint (faults included)."""
    return [entry for entry in sandbox.requests_to("/v1/refunds") if entry["method"] == "POST"]


def stripe_refunds(sandbox, charge_id):
    return sandbox.client.v1.refunds.list(params={"charge": charge_id, "limit": 100}).data


def new_charge(sandbox, *, amount=10_000, currency="usd", customer=None,
               payment_method="pm_card_visa"):
    """(customer id, charge id) of a fresh succeeded charge."""
    if customer is None:
        suffix = uuid.uuid4().hex[:8]
        customer = create_customer(sandbox.client, name=f"Ada {suffix}",
                                   email=f"ada.{suffix}@example.com").id
    charge_id = charge(sandbox.client, customer=customer, amount=amount, currency=currency,
                       payment_method=payment_method)
    return customer, charge_id


@pytest.fixture
def charged(sandbox, db):
    customer, charge_id = new_charge(sandbox)
    case = make_case(stripe_customer_id=customer, stripe_link=StripeLink.VERIFIED)
    return case, charge_id


@pytest.fixture
def pending(charged, sandbox, specialist):
    """A refund waiting for approval: fraud always needs it."""
    case, charge_id = charged
    response = post_refund(specialist, refund_body(case, charge_id, amount=4_000,
                                                   stripe_reason="fraudulent"))
    assert response.json()["state"] == "pending_approval"
    return MoneyAction.objects.get(pk=response.json()["id"])


def refund_body(case, charge_id, **overrides):
    return {"case_id": case.pk, "charge_id": charge_id, "amount": 2_500,
            "stripe_reason": "requested_by_customer", "reason_code": "courtesy",
            "note": "Customer was double billed for March.", **overrides}


def post_refund(user, body, key=None):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return api_client(user).post("/api/v1/refunds/", json.dumps(body),
                                 content_type="application/json", **headers)


# The refund form of the case page, filled in as a specialist would.
PAGE_FORM = {"amount": "25.00", "currency": "usd", "stripe_reason": "requested_by_customer",
             "reason_code": "courtesy", "note": "Customer was double billed for March.",
             "customer_reply": ""}


def refund_url(case, charge_id):
    return f"/refunds/new/{case.pk}/{charge_id}/"


def confirm_key(preview_html):
    return re.search(r'name="request_key" value="([0-9a-f-]{36})"', preview_html).group(1)


def preview(client, case, charge_id, **fields):
    return client.post(refund_url(case, charge_id), {**PAGE_FORM, **fields, "preview": "1"})


def confirm(client, case, charge_id, key, follow=False, **fields):
    return client.post(refund_url(case, charge_id),
                       {**PAGE_FORM, **fields, "request_key": key, "confirm": "1"},
                       follow=follow)
