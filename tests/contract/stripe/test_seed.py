"""The demo seeder, run twice against a sandbox of its own."""

import pytest

from billing_console.integrations.demo_customers import demo_customers
from billing_console.integrations.stripe.sandbox import build_server
from billing_console.integrations.stripe.sandbox.seed import seed_demo
from billing_console.integrations.zendesk.sandbox.seed import seed_demo as seed_zendesk

from .conftest import API_KEY, start_in_thread, stop


@pytest.fixture(scope="module")
def seeded():
    server = build_server("127.0.0.1", 0)
    url = start_in_thread(server)
    first = seed_demo(url, API_KEY)
    again = seed_demo(url, API_KEY)
    yield server.state, first, again
    stop(server)


def _all(state, kind):
    return list(state.objects.get(kind, {}).values())


def test_it_seeds_every_demo_customer_once_even_when_run_twice(seeded):
    state, first, again = seeded

    assert first == again
    assert set(first) == {email for _, email in demo_customers()}
    assert len(_all(state, "customer")) == len(demo_customers())


def test_the_seed_covers_what_a_specialist_meets(seeded):
    state, _, _ = seeded

    invoice_states = {invoice["status"] for invoice in _all(state, "invoice")}
    intervals = {sub["items"]["data"][0]["price"]["recurring"]["interval"]
                 for sub in _all(state, "subscription")}
    charges = _all(state, "charge")
    descriptions = [(c["customer"], c["description"], c["amount"]) for c in charges]
    assert invoice_states == {"paid", "open", "draft", "void", "uncollectible"}
    assert intervals == {"month", "year"}
    assert {"succeeded", "failed"} <= {charge["status"] for charge in charges}
    assert any(descriptions.count(entry) > 1 for entry in descriptions), "no duplicate charge"
    assert _all(state, "dispute")
    assert any(r["amount"] < state.objects["charge"][r["charge"]]["amount"]
               for r in _all(state, "refund")), "no partial refund"
    assert _all(state, "credit_note")


def test_the_seed_taxes_a_third_with_vat_a_third_with_gst_and_a_third_not(seeded):
    state, _, _ = seeded

    rates = {rate["id"]: rate for rate in _all(state, "tax_rate")}
    kinds = {(rate["display_name"], rate["percentage"], rate["inclusive"], rate["jurisdiction"])
             for rate in rates.values()}
    by_subscription = [tuple(rate["display_name"] for rate in sub["default_tax_rates"])
                       for sub in _all(state, "subscription")]
    taxed_invoices = {(invoice["status"], tax["tax_behavior"]) for invoice in _all(state, "invoice")
                      for tax in invoice["total_taxes"]}
    assert kinds == {("VAT", 20, False, "GB"), ("GST", 10, True, "AU")}  # not again on a rerun
    assert sorted(set(by_subscription)) == [(), ("GST",), ("VAT",)]
    assert by_subscription.count(("VAT",)) == by_subscription.count(("GST",)) == \
        by_subscription.count(()) == len(demo_customers()) // 3
    assert {("paid", "exclusive"), ("paid", "inclusive"), ("open", "exclusive"),
            ("open", "inclusive")} <= taxed_invoices


@pytest.fixture(scope="module")
def demo_tickets(seeded):
    """The Zendesk seed run against the Stripe seed's customers, as `make run` does: each
    escalated ticket with its requester's Stripe charges and whether it names the customer."""
    from tests.contract.zendesk.conftest import EMAIL, TOKEN, RunningSandbox, start
    from tests.contract.zendesk.conftest import stop as stop_zendesk

    state, customers, _ = seeded
    server, thread = start()
    zendesk = RunningSandbox(server)
    try:
        seed_zendesk(zendesk.url, EMAIL, TOKEN, customers)
        ids = ",".join(map(str, range(1, 101)))
        tickets = zendesk.call("GET", f"/api/v2/tickets/show_many.json?ids={ids}")[1]["tickets"]
        requesters = ",".join({str(ticket["requester_id"]) for ticket in tickets})
        emails = {user["id"]: user["email"] for user in zendesk.call(
            "GET", f"/api/v2/users/show_many.json?ids={requesters}")[1]["users"]}
    finally:
        stop_zendesk(server, thread)
    charges = _all(state, "charge")
    return [(ticket, [c for c in charges if c["customer"] == customers.get(
                emails[ticket["requester_id"]])])
            for ticket in tickets if "billing_escalation" in ticket["tags"]]


def test_every_charged_twice_escalation_has_a_true_duplicate_behind_it(demo_tickets):
    """Two succeeded charges of one amount within the policy's first window (24 hours), so
    the case page suggests a refund from the first run."""
    def duplicated(charges):
        paid = sorted((c["currency"], c["amount"], c["created"]) for c in charges
                      if c["status"] == "succeeded")
        return any(first[:2] == second[:2] and second[2] - first[2] <= 24 * 3600
                   for first, second in zip(paid, paid[1:], strict=False))

    charged_twice = [charges for ticket, charges in demo_tickets
                     if "duplicate_charge" in ticket["tags"]]
    assert len(charged_twice) == 7
    assert all(duplicated(charges) for charges in charged_twice)


def test_a_refund_request_is_for_a_charge_above_the_approval_limit(demo_tickets):
    assert any(charge["amount"] > 50_000 and charge["status"] == "succeeded"
               for ticket, charges in demo_tickets if "refund_request" in ticket["tags"]
               for charge in charges)


def test_a_customer_is_found_only_by_email(demo_tickets):
    """Some escalations never name the Stripe customer: the console finds it by email."""
    assert any(charges and not any(field["value"] for field in ticket["custom_fields"])
               for ticket, charges in demo_tickets)
