"""Properties: partial refunds never add up past the charge; minor units round-trip."""

import contextlib
import uuid

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing_console.exceptions import ApplicationError
from billing_console.integrations.stripe.types import Charge
from billing_console.money import decimal_places, format_amount, to_minor_units
from cases.models import StripeLink
from money_actions.models import MoneyAction
from refunds.services import refund_request
from tests.cases.factories import make_case

CAPTURED = st.integers(min_value=1, max_value=200_000)
ATTEMPTS = st.lists(st.integers(min_value=-1_000, max_value=250_000), max_size=12)


def _charge(captured, customer):
    return Charge(id=f"ch_{uuid.uuid4().hex}", customer=customer, payment_intent=None,
                  amount=captured, amount_captured=captured, amount_refunded=0,
                  currency="usd", status="succeeded", paid=True, refunded=False,
                  disputed=False, description=None, failure_code=None, failure_message=None,
                  created=int(timezone.now().timestamp()))


@pytest.mark.django_db
@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(captured=CAPTURED, attempts=ATTEMPTS)
def test_no_sequence_of_partial_refunds_exceeds_the_charge(specialist, captured, attempts):
    customer = f"cus_{uuid.uuid4().hex[:12]}"
    case = make_case(stripe_customer_id=customer, stripe_link=StripeLink.VERIFIED)
    charge = _charge(captured, customer)
    for amount in attempts:
        with contextlib.suppress(ApplicationError):
            refund_request(case=case, charge=charge, amount=amount,
                           stripe_reason="requested_by_customer", reason_code="courtesy",
                           note="Partial refund.", actor=specialist)
        accepted = MoneyAction.objects.filter(stripe_target_id=charge.id)
        assert sum(action.amount for action in accepted) <= captured


@given(amount=st.integers(min_value=0, max_value=10**12),
       currency=st.sampled_from(["usd", "eur", "jpy", "krw", "kwd"]))
def test_minor_units_round_trip_through_formatting(amount, currency):
    text = format_amount(amount, currency).rsplit(" ", 1)[0]

    assert to_minor_units(text, currency) == amount
    assert decimal_places(currency) == {"jpy": 0, "krw": 0, "kwd": 3}.get(currency, 2)
