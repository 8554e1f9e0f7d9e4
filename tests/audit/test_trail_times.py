"""The trail's times come from the database's clock, so ids and times rise together however
the hosts' clocks disagree (the period filter reads a period as a range of ids), and a
change made in Stripe's Dashboard is found by its customer."""

import pytest
from django.http import QueryDict

from audit.filters import AuditFilters
from audit.models import AuditEvent
from audit.selectors import filtered_events
from audit.services import record
from cases.models import StripeLink
from money_actions.webhooks import on_charge_refunded
from tests.cases.factories import make_case
from tests.refunds.conftest import new_charge
from tests.refunds.test_webhooks import Delivery

pytestmark = pytest.mark.postgres


def test_an_event_is_timed_by_the_database_not_by_the_host_that_wrote_it(db, monkeypatch):
    first = record(action="case.note_added", case_id=1)
    # A worker whose clock is a day behind writes the next event.
    monkeypatch.setattr("django.utils.timezone.now", lambda: first.created_at.replace(
        year=first.created_at.year - 1))
    second = record(action="case.note_added", case_id=1)

    events = list(AuditEvent.objects.order_by("id"))
    assert [event.created_at for event in events] == sorted(event.created_at
                                                            for event in events)
    assert second.created_at >= first.created_at


def test_a_refund_made_in_the_dashboard_is_found_by_its_customer(sandbox, finance):
    customer, charge_id = new_charge(sandbox)
    make_case(stripe_customer_id=customer, stripe_link=StripeLink.VERIFIED)
    refund = sandbox.client.v1.refunds.create(params={"charge": charge_id, "amount": 700})

    on_charge_refunded(Delivery(charge_id, "charge.refunded"))

    event = AuditEvent.objects.get(stripe_object_id=refund.id)
    found = filtered_events(viewer=finance,
                            filters=AuditFilters.from_query(QueryDict(f"customer={customer}")))
    assert event.action == "refund.external" and event in found
