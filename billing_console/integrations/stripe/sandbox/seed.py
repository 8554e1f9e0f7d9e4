"""Fill a Stripe account with the console's demo data, through Stripe API calls only, so
the same seeder can fill a real Stripe test-mode account as well as the sandbox.

Every demo customer (`demo_customers()`) gets a monthly or annual subscription, paid from
a test card, and a one-off charge; between them the customers also have paid, open,
draft, void and uncollectible invoices, a declined charge, true duplicate charges (behind
every "Charged twice" ticket, one with a declined charge between the two), a seat removed
after it was billed (behind a plan change escalation), a charge above the 500.00 approval
limit (behind a refund request), a disputed charge, a partial refund, a refund that will
fail, and a credit note. A third of
them pay VAT on top of their subscription and invoices, a third pay prices with GST
included, and a third pay no tax.

Seeding again is safe: a customer that already exists (found by email) is left as it is,
and prices and tax rates are found again by their lookup keys.
"""

from billing_console.integrations.demo_customers import demo_customers

from . import builders

SEED_TAG = {"seeded_by": "billing-console-demo"}
PLANS = (
    # (lookup key, product, monthly or yearly amount in cents, interval, seats)
    ("console_pro_monthly", "Console Pro", 4900, "month", 1),
    ("console_pro_annual", "Console Pro", 49000, "year", 1),
    ("console_team_monthly", "Console Team", 1900, "month", 5),
)
INVOICE_STATES = ("paid", "open", "draft", "void", "uncollectible", "paid_out_of_band")
TAX_RATES = (
    # (lookup key, display name, percent, inclusive, jurisdiction and country, tax type);
    # by turns customers are untaxed, pay GST included, or pay VAT on top.
    None,
    ("gst_au", "GST", 10, True, "AU", "gst"),
    ("vat_gb", "VAT", 20, False, "GB", "vat"),
)


def seed_demo(api_base: str, api_key: str) -> dict[str, str]:
    """Seed the account at `api_base`; returns each demo customer's id by email."""
    client = builders.client_for(api_base, api_key)
    prices = [_price(client, *plan[:4]) for plan in PLANS]
    rates = [_tax_rate(client, *rate) if rate else None for rate in TAX_RATES]
    ids = {}
    for index, (name, email) in enumerate(demo_customers()):
        existing = client.v1.customers.list(params={"email": email, "limit": 1}).data
        if existing:
            ids[email] = existing[0].id
            continue
        customer = builders.create_customer(client, name=name, email=email,
                                            payment_method="pm_card_visa", metadata=SEED_TAG)
        # Six customers in a row share a kind of tax, so each invoice state meets each kind.
        rate = rates[index // len(INVOICE_STATES) % len(rates)]
        _seed_customer(client, customer, index, prices, [rate.id] if rate else [])
        ids[email] = customer.id
    return ids


def _price(client, lookup_key, product_name, unit_amount, interval):
    found = client.v1.prices.list(params={"lookup_keys": [lookup_key], "limit": 1}).data
    if found:
        return found[0]
    return builders.recurring_price(client, product_name=product_name, unit_amount=unit_amount,
                                    interval=interval, lookup_key=lookup_key)


def _tax_rate(client, lookup_key, display_name, percentage, inclusive, jurisdiction,
              tax_type):
    """The rate seeded before under `lookup_key` (a tax rate has no lookup key of its own,
    so it is kept in its metadata), or a new one."""
    for rate in client.v1.tax_rates.list(params={"active": True, "limit": 100}).data:
        if rate.metadata.to_dict().get("lookup_key") == lookup_key:
            return rate
    return builders.tax_rate(client, display_name=display_name, percentage=percentage,
                             inclusive=inclusive, jurisdiction=jurisdiction,
                             country=jurisdiction, tax_type=tax_type,
                             metadata={**SEED_TAG, "lookup_key": lookup_key})


def _seed_customer(client, customer, index, prices, tax_rates):
    """`tax_rates`: the ids of the rates the customer's subscription and invoices are taxed
    at, if any."""
    plan = index % len(PLANS)
    subscription = builders.subscribe(client, customer=customer.id, price=prices[plan].id,
                                      quantity=PLANS[plan][4], metadata=SEED_TAG,
                                      default_tax_rates=tax_rates)
    _seed_invoice(client, customer, INVOICE_STATES[index % len(INVOICE_STATES)], index,
                  tax_rates)
    add_on = 1500 + 250 * (index % 8)
    builders.charge(client, customer=customer.id, amount=add_on,
                    description="Add-on: extra seats", metadata=SEED_TAG)
    special = SPECIAL_CASES.get(index)
    if special:
        special(client, customer, subscription)
    if index in CHARGED_TWICE:
        # The add-on charged again, seconds later: after the special, so that customer 1's
        # declined charge comes between the two.
        builders.charge(client, customer=customer.id, amount=add_on,
                        description="Add-on: extra seats", metadata=SEED_TAG)


def _seed_invoice(client, customer, state, index, tax_rates):
    lines = [("Professional services", 12000 + 1000 * (index % 5)), ("Onboarding", 5000)]
    made = {"draft": builders.draft_invoice, "paid": builders.paid_invoice}.get(
        state, builders.open_invoice)
    invoice = made(client, customer=customer.id, lines=lines, default_tax_rates=tax_rates)
    if state == "void":
        client.v1.invoices.void_invoice(invoice.id)
    elif state == "uncollectible":
        client.v1.invoices.mark_uncollectible(invoice.id)
    elif state == "paid_out_of_band":
        client.v1.invoices.pay(invoice.id, params={"paid_out_of_band": True})


# The cases a specialist meets, each on one customer -----------------------------------


def _declined_charge(client, customer, subscription):
    builders.charge(client, customer=customer.id, amount=9900, description="Upgrade to Team",
                    payment_method="pm_card_chargeDeclined", metadata=SEED_TAG)


def _seat_removed(client, customer, subscription):
    """A team plan's fifth seat removed after it was billed, with nothing prorated: the
    paid invoice bills one seat more than the subscription has."""
    item = subscription["items"]["data"][0]
    client.v1.subscriptions.update(subscription.id, params={
        "items": [{"id": item.id, "quantity": item.quantity - 1}],
        "proration_behavior": "none"})


def _large_charge(client, customer, subscription):
    """A year of a team plan paid upfront: refunding it needs finance's approval."""
    builders.charge(client, customer=customer.id, amount=118_800,
                    description="Console Team, 12 seats, a year upfront", metadata=SEED_TAG)


def _disputed_charge(client, customer, subscription):
    builders.charge(client, customer=customer.id, amount=14900,
                    description="Annual support pack", payment_method="pm_card_createDispute",
                    metadata=SEED_TAG)


def _partial_refund(client, customer, subscription):
    charge_id = builders.charge(client, customer=customer.id, amount=8000,
                                description="Training workshop", metadata=SEED_TAG)
    client.v1.refunds.create(params={"charge": charge_id, "amount": 3000,
                                     "reason": "requested_by_customer", "metadata": SEED_TAG})


def _failing_refund(client, customer, subscription):
    charge_id = builders.charge(client, customer=customer.id, amount=2500,
                                description="Data export", payment_method="pm_card_refundFail",
                                metadata=SEED_TAG)
    client.v1.refunds.create(params={"charge": charge_id, "metadata": SEED_TAG})


def _credit_note(client, customer, subscription):
    """Credit for a service outage, on the subscription's paid first invoice."""
    client.v1.credit_notes.create(params={
        "invoice": subscription.latest_invoice, "amount": 1000, "credit_amount": 1000,
        "reason": "product_unsatisfactory", "memo": "Outage on the 3rd", "metadata": SEED_TAG})


# By the customer's place in `demo_customers()`. The Zendesk seed files ticket N + 1 for
# customer N (and ticket N + 41 too, while there are tickets): customer 14's is a refund
# request, customer 17's a plan change.
SPECIAL_CASES = {
    1: _declined_charge, 5: _disputed_charge, 7: _partial_refund, 9: _failing_refund,
    11: _credit_note, 13: _declined_charge, 14: _large_charge, 15: _partial_refund,
    17: _seat_removed,
}
# The customers behind the Zendesk seed's "Charged twice" tickets (ticket 37 is the
# mailbox customer 0 shares): each has a true duplicate. tests/contract/stripe/test_seed.py
# holds the two seeds to it.
CHARGED_TWICE = (0, 1, 3, 8, 10, 15, 17, 22, 29)
