"""Stripe's `created` filter on the refund, credit note and event lists, as the
reconciliation reads them: an exact time, or the bounds gt, gte, lt and lte."""

from billing_console.integrations.stripe import gateway
from billing_console.integrations.stripe.sandbox.builders import charge, open_invoice
from tests.contract.stripe.conftest import API_KEY, send


def ids(listing):
    return {obj.id for obj in listing}


def test_refunds_are_listed_by_when_they_were_created(sandbox, customer):
    charge_id = charge(sandbox.client, customer=customer.id, amount=3_000)
    refund = sandbox.client.v1.refunds.create(params={"charge": charge_id, "amount": 500})
    at = refund.created

    assert refund.id in ids(gateway.refunds_created(created_gte=at, created_lt=at + 1))
    assert refund.id not in ids(gateway.refunds_created(created_gte=at + 1, created_lt=at + 9))
    assert refund.id not in ids(gateway.refunds_created(created_gte=at - 9, created_lt=at))
    exact = sandbox.client.v1.refunds.list(params={"created": at, "limit": 100})
    assert refund.id in ids(exact.data)
    around = sandbox.client.v1.refunds.list(params={"created": {"gt": at - 1, "lte": at},
                                                    "limit": 100})
    assert refund.id in ids(around.data)


def test_credit_notes_and_events_are_listed_by_when_they_were_created(sandbox, customer):
    invoice = open_invoice(sandbox.client, customer=customer.id, lines=[("Seats", 4_000)])
    note = sandbox.client.v1.credit_notes.create(params={"invoice": invoice.id,
                                                         "amount": 1_000})
    voided = sandbox.client.v1.invoices.void_invoice(invoice.id)
    at = note.created

    assert note.id in ids(gateway.credit_notes_created(created_gte=at, created_lt=at + 1))
    assert note.id not in ids(gateway.credit_notes_created(created_gte=at + 1,
                                                           created_lt=at + 9))
    events = gateway.events_created(types=["invoice.voided", "invoice.marked_uncollectible"],
                                    created_gte=voided.status_transitions.voided_at,
                                    created_lt=voided.status_transitions.voided_at + 1)
    assert voided.id in {event.object_id for event in events}
    assert {event.type for event in events} == {"invoice.voided"}


def test_an_unknown_bound_is_refused_as_stripe_refuses_it(sandbox):
    status, _, body = send(f"{sandbox.url}/v1/refunds?created[since]=5",
                           headers={"Authorization": f"Bearer {API_KEY}"})

    assert status == 400
    assert body["error"]["param"] == "created[since]"
    assert body["error"]["message"] == "Received unknown parameter: created[since]"


def test_a_bound_that_is_not_a_number_is_refused(sandbox):
    status, _, body = send(f"{sandbox.url}/v1/events?created[gte]=yesterday",
                           headers={"Authorization": f"Bearer {API_KEY}"})

    assert status == 400
    assert (body["error"]["code"], body["error"]["param"]) == ("parameter_invalid_integer",
                                                              "created[gte]")
