"""Every object the sandbox returns has every top-level field that Stripe's own fixtures
(stripe/openapi `fixtures3.json`) have for that resource, with a compatible JSON type. The
objects are taxed, so their tax fields are checked with values in them."""

import json
import uuid

import pytest
from django.conf import settings

from billing_console.integrations.stripe.sandbox.builders import (
    charge,
    create_customer,
    paid_invoice,
    recurring_price,
    subscribe,
    tax_rate,
)

FIXTURES = settings.BASE_DIR.parent / "shared" / "reference" / "stripe" / "fixtures3.json"
RESOURCES = ("customer", "charge", "payment_intent", "refund", "invoice", "invoiceitem",
             "credit_note", "customer_balance_transaction", "subscription", "event")
# Beyond what the gateway reads: objects the seeder makes, and objects nested in others.
MORE_RESOURCES = ("dispute", "price", "product", "tax_rate")
NESTED = {
    # resource: (the object holding it, the list field it sits in)
    "line_item": ("invoice", "lines"),
    "credit_note_line_item": ("credit_note", "lines"),
    "subscription_item": ("subscription", "items"),
}
# The fields that carry tax, by resource. `…tax_rates` hold tax rate objects; `…taxes` hold
# entries shaped as TAX_ENTRY.
TAX_FIELDS = {
    "invoice": ("default_tax_rates", "subtotal", "subtotal_excluding_tax", "total",
                "total_excluding_tax", "total_taxes"),
    "line_item": ("taxes",),
    "credit_note": ("subtotal", "subtotal_excluding_tax", "total", "total_excluding_tax",
                    "total_taxes"),
    "credit_note_line_item": ("tax_rates", "taxes"),
    "invoiceitem": ("tax_rates",),
    "subscription": ("default_tax_rates",),
}
# One entry of `taxes` or `total_taxes`. fixtures3.json holds null there, so this is the
# entry of Stripe's API reference (the credit note line example, API 2025-03-31.basil on).
TAX_ENTRY = {"amount": 152, "tax_behavior": "exclusive",
             "tax_rate_details": {"tax_rate": "txr_1Nn7fB2eZvKYlo2CcbF7zzmD"},
             "taxability_reason": "not_available", "taxable_amount": 799,
             "type": "tax_rate_details"}

pytestmark = pytest.mark.skipif(
    not FIXTURES.exists(),
    reason=f"Stripe's reference fixtures are not here ({FIXTURES}); they come with the "
           "shared reference folder, which CI has.")


@pytest.fixture(scope="module")
def reference():
    return json.loads(FIXTURES.read_text())["resources"]


@pytest.fixture(scope="module")
def paths(sandbox_handle):
    """One sandbox object of each resource, by its API path."""
    client = sandbox_handle.client
    customer = create_customer(client, name="Fidelity", email=f"{uuid.uuid4()}@example.com",
                               payment_method="pm_card_visa")
    charge_id = charge(client, customer=customer.id, amount=2000)
    disputed = charge(client, customer=customer.id, amount=900,
                      payment_method="pm_card_createDispute")
    refund = client.v1.refunds.create(params={"charge": charge_id, "amount": 500})
    vat = tax_rate(client, display_name="VAT", percentage=20, inclusive=False,
                   jurisdiction="GB", tax_type="vat")
    invoice = paid_invoice(client, customer=customer.id, lines=[("Seats", 3000)],
                           default_tax_rates=[vat.id])
    note = client.v1.credit_notes.create(params={"invoice": invoice.id, "credit_amount": 840,
                                                 "lines": [{"type": "invoice_line_item",
                                                            "invoice_line_item":
                                                                invoice.lines.data[0].id,
                                                            "amount": 700}]})
    item = client.v1.invoice_items.create(params={"customer": customer.id, "amount": 100,
                                                  "currency": "usd", "tax_rates": [vat.id]})
    price = recurring_price(client, product_name="Fidelity plan", unit_amount=1500)
    subscription = subscribe(client, customer=customer.id, price=price.id,
                             default_tax_rates=[vat.id])
    balance = client.v1.customers.balance_transactions.list(customer.id).data[0]
    event = client.v1.events.list(params={"limit": 1}).data[0]
    intent = client.v1.charges.retrieve(charge_id).payment_intent
    dispute = client.v1.disputes.list(params={"charge": disputed}).data[0]
    return {
        "customer": f"/v1/customers/{customer.id}", "charge": f"/v1/charges/{charge_id}",
        "payment_intent": f"/v1/payment_intents/{intent}", "refund": f"/v1/refunds/{refund.id}",
        "invoice": f"/v1/invoices/{invoice.id}", "invoiceitem": f"/v1/invoiceitems/{item.id}",
        "credit_note": f"/v1/credit_notes/{note.id}",
        "customer_balance_transaction":
            f"/v1/customers/{customer.id}/balance_transactions/{balance.id}",
        "subscription": f"/v1/subscriptions/{subscription.id}",
        "event": f"/v1/events/{event.id}",
        "dispute": f"/v1/disputes/{dispute.id}",
        "price": f"/v1/prices/{price.id}", "product": f"/v1/products/{price.product}",
        "tax_rate": f"/v1/tax_rates/{vat.id}",
    }


def json_kind(value):
    if value is None:
        return None
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return {str: "string", list: "array", dict: "object"}[type(value)]


def compatible(expected, actual):
    """Null is compatible with anything: Stripe's fields are nullable where the fixture
    happens to hold a value, and the fixture holds null where ours has one."""
    return None in (json_kind(expected), json_kind(actual)) or \
        json_kind(expected) == json_kind(actual)


def assert_same_shape(resource, expected, actual):
    assert actual["object"] == expected["object"]
    assert_same_fields(resource, expected, actual)


def assert_same_fields(resource, expected, actual):
    missing = sorted(set(expected) - set(actual))
    assert not missing, f"{resource} lacks {missing}"
    clashing = {field: (json_kind(expected[field]), json_kind(actual[field]))
                for field in expected if not compatible(expected[field], actual[field])}
    assert not clashing, f"{resource} fields with other JSON types (stripe, sandbox): {clashing}"


@pytest.mark.parametrize("resource", RESOURCES + MORE_RESOURCES)
def test_the_sandbox_returns_every_field_stripe_has(resource, reference, paths,
                                                    sandbox_handle):
    assert_same_shape(resource, reference[resource], sandbox_handle.get_json(paths[resource]))


@pytest.mark.parametrize("resource", NESTED)
def test_objects_nested_in_lists_have_every_field_stripe_has(resource, reference, paths,
                                                             sandbox_handle):
    holder, field = NESTED[resource]
    nested = sandbox_handle.get_json(paths[holder])[field]

    assert_same_shape("list", {"object": "list", "data": [], "has_more": False, "url": ""},
                      nested)
    assert_same_shape(resource, reference[resource], nested["data"][0])


def _resource(resource, paths, sandbox_handle):
    """The sandbox's object of this resource, read at its path or from the list holding it."""
    if resource in NESTED:
        holder, field = NESTED[resource]
        return sandbox_handle.get_json(paths[holder])[field]["data"][0]
    return sandbox_handle.get_json(paths[resource])


@pytest.mark.parametrize("resource", TAX_FIELDS)
def test_tax_fields_have_stripes_shape_with_values_in_them(resource, reference, paths,
                                                           sandbox_handle):
    taxed = _resource(resource, paths, sandbox_handle)

    for field in TAX_FIELDS[resource]:
        assert field in reference[resource], f"fixtures3.json's {resource} has no {field}"
        assert taxed[field], f"{resource}.{field} is empty on a taxed object"
        if field.endswith("tax_rates"):
            for rate in taxed[field]:
                assert_same_shape(f"{resource}.{field}[]", reference["tax_rate"], rate)
        elif field.endswith("taxes"):
            for tax in taxed[field]:
                assert_same_fields(f"{resource}.{field}[]", TAX_ENTRY, tax)
                assert_same_fields(f"{resource}.{field}[].tax_rate_details",
                                   TAX_ENTRY["tax_rate_details"], tax["tax_rate_details"])


def test_compatibility_allows_null_but_not_a_different_type():
    assert compatible({"a": 1}, None) and compatible(None, "x") and compatible(1, 2.5)
    assert not compatible("1", 1) and not compatible(True, 1) and not compatible([], {})
