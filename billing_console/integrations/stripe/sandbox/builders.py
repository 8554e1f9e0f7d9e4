"""Build Stripe state through the real `stripe` SDK, one API call at a time: customers,
charges, tax rates, invoices in every status, subscriptions. The demo seeder and the contract tests
arrange their data with these, so both work against real Stripe test mode as well.

These are test and demo helpers; the console itself goes through `gateway.py`.
"""

import stripe

# What the SDK raises for Stripe's 400s and 404s, named here for callers that may not import
# the SDK themselves (only this package imports it).
InvalidRequestError = stripe.InvalidRequestError


def client_for(api_base, api_key):
    return stripe.StripeClient(api_key, base_addresses={"api": api_base})


def create_customer(client, *, name, email, payment_method=None, metadata=None):
    params = {"name": name, "email": email, "metadata": metadata or {}}
    if payment_method:
        # As Stripe's docs do with test cards: attach it and make it the invoices' default.
        params["payment_method"] = payment_method
        params["invoice_settings"] = {"default_payment_method": payment_method}
    return client.v1.customers.create(params=params)


def charge(client, *, customer, amount, payment_method="pm_card_visa", description=None,
           currency="usd", metadata=None):
    """A confirmed payment; returns the charge id, declined or not."""
    params = {"amount": amount, "currency": currency, "customer": customer,
              "payment_method": payment_method, "confirm": True,
              "payment_method_types": ["card"], "metadata": metadata or {}}
    if description:
        params["description"] = description
    try:
        intent = client.v1.payment_intents.create(params=params)
    except stripe.CardError as declined:
        return declined.error.charge
    return intent.latest_charge


def tax_rate(client, *, display_name, percentage, inclusive, jurisdiction=None,
             country=None, tax_type=None, metadata=None):
    """A tax rate; `percentage` is a number of percent (20, 19.5)."""
    params = {"display_name": display_name, "percentage": percentage, "inclusive": inclusive,
              "metadata": metadata or {}}
    optional = {"jurisdiction": jurisdiction, "country": country, "tax_type": tax_type}
    params.update({name: value for name, value in optional.items() if value})
    return client.v1.tax_rates.create(params=params)


def draft_invoice(client, *, customer, lines, collection_method="send_invoice",
                  days_until_due=30, description=None, tax_rates=(), default_tax_rates=()):
    """A draft invoice with one invoice item per (description, amount) in `lines`, each taxed
    at `tax_rates` (ids) if given; `default_tax_rates` tax the lines that have none."""
    params = {"customer": customer, "collection_method": collection_method}
    if collection_method == "send_invoice":
        params["days_until_due"] = days_until_due
    if description:
        params["description"] = description
    if default_tax_rates:
        params["default_tax_rates"] = list(default_tax_rates)
    invoice = client.v1.invoices.create(params=params)
    for line_description, amount in lines:
        item = {"customer": customer, "invoice": invoice.id, "amount": amount,
                "currency": "usd", "description": line_description}
        if tax_rates:
            item["tax_rates"] = list(tax_rates)
        client.v1.invoice_items.create(params=item)
    return client.v1.invoices.retrieve(invoice.id)


def open_invoice(client, *, customer, lines, **options):
    invoice = draft_invoice(client, customer=customer, lines=lines, **options)
    return client.v1.invoices.finalize_invoice(invoice.id)


def paid_invoice(client, *, customer, lines, **options):
    """Paid with the customer's default card, so credit notes on it can refund to it."""
    invoice = open_invoice(client, customer=customer, lines=lines, **options)
    return client.v1.invoices.pay(invoice.id)


def recurring_price(client, *, product_name, unit_amount, interval="month", lookup_key=None):
    params = {"unit_amount": unit_amount, "currency": "usd", "recurring": {"interval": interval},
              "product_data": {"name": product_name}}
    if lookup_key:
        params["lookup_key"] = lookup_key
    return client.v1.prices.create(params=params)


def subscribe(client, *, customer, price, quantity=1, metadata=None, default_tax_rates=()):
    """Billed to the customer's default payment method, taxed at `default_tax_rates` (ids)."""
    params = {"customer": customer, "items": [{"price": price, "quantity": quantity}],
              "metadata": metadata or {}}
    if default_tax_rates:
        params["default_tax_rates"] = list(default_tax_rates)
    return client.v1.subscriptions.create(params=params)
