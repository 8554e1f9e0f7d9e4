"""Taxes as Stripe charges them, through the real `stripe` SDK against the sandbox: tax
rates, taxed invoices, their previews and credit notes. Amounts in cents."""

import pytest

from billing_console.integrations.stripe.sandbox.builders import (
    InvalidRequestError,
    draft_invoice,
    open_invoice,
    paid_invoice,
    recurring_price,
    subscribe,
    tax_rate,
)


@pytest.fixture
def vat(sandbox):
    return tax_rate(sandbox.client, display_name="VAT", percentage=20, inclusive=False,
                    jurisdiction="GB", country="GB", tax_type="vat")


@pytest.fixture
def included_vat(sandbox):
    return tax_rate(sandbox.client, display_name="VAT", percentage=20, inclusive=True,
                    jurisdiction="DE")


def _taxes(entries):
    """(amount, behaviour, rate id, taxable amount) of each `taxes` / `total_taxes` entry."""
    return [(tax.amount, tax.tax_behavior, tax.tax_rate_details.tax_rate, tax.taxable_amount)
            for tax in entries]


def _totals(document):
    return (document.subtotal, document.subtotal_excluding_tax, document.total,
            document.total_excluding_tax)


def _credit_line(invoice, **credit):
    return {"type": "invoice_line_item", "invoice_line_item": invoice.lines.data[0].id,
            **credit}


# Tax rates ---------------------------------------------------------------------------------


def test_a_tax_rate_is_kept_as_created_and_only_its_labels_change(sandbox, vat):
    client = sandbox.client

    updated = client.v1.tax_rates.update(vat.id, params={
        "display_name": "UK VAT", "active": False, "metadata": {"ledger": "2200"}})
    with pytest.raises(InvalidRequestError) as refused:
        client.v1.tax_rates.update(vat.id, params={"percentage": 5})

    assert (vat.percentage, vat.effective_percentage, vat.inclusive) == (20, 20, False)
    assert (vat.jurisdiction, vat.country, vat.tax_type, vat.rate_type) == (
        "GB", "GB", "vat", None)
    assert (updated.display_name, updated.active, updated.metadata.to_dict()) == (
        "UK VAT", False, {"ledger": "2200"})
    assert client.v1.tax_rates.retrieve(vat.id).percentage == 20
    assert refused.value.param == "percentage"


def test_tax_rates_are_listed_by_active_and_inclusive(sandbox, vat, included_vat):
    client = sandbox.client
    client.v1.tax_rates.update(vat.id, params={"active": False})

    inclusive = client.v1.tax_rates.list(params={"inclusive": True, "limit": 100}).data
    active = client.v1.tax_rates.list(params={"active": True, "limit": 100}).data

    assert included_vat.id in {rate.id for rate in inclusive}
    assert all(rate.inclusive for rate in inclusive)
    assert vat.id not in {rate.id for rate in active}


def test_it_refuses_a_tax_rate_without_display_name_or_inclusive(sandbox):
    for missing in ("display_name", "inclusive"):
        params = {"display_name": "GST", "percentage": 10, "inclusive": True}
        del params[missing]
        with pytest.raises(InvalidRequestError) as refused:
            sandbox.client.v1.tax_rates.create(params=params)
        assert refused.value.param == missing


def test_an_inactive_rate_cannot_tax_a_new_item(sandbox, customer, vat):
    sandbox.client.v1.tax_rates.update(vat.id, params={"active": False})

    with pytest.raises(InvalidRequestError) as refused:
        draft_invoice(sandbox.client, customer=customer.id, lines=[("Seats", 5000)],
                      tax_rates=[vat.id])

    assert refused.value.param == "tax_rates"


# Invoices ----------------------------------------------------------------------------------


def test_an_exclusive_rate_adds_its_tax_on_top(sandbox, customer, vat):
    invoice = open_invoice(sandbox.client, customer=customer.id, lines=[("Seats", 5000)],
                           tax_rates=[vat.id])

    line = invoice.lines.data[0]
    assert _totals(invoice) == (5000, 5000, 6000, 5000)
    assert _taxes(invoice.total_taxes) == [(1000, "exclusive", vat.id, 5000)]
    assert _taxes(line.taxes) == [(1000, "exclusive", vat.id, 5000)]
    assert line.taxes[0].type == "tax_rate_details"
    assert (invoice.amount_due, invoice.amount_remaining) == (6000, 6000)
    item = sandbox.client.v1.invoice_items.retrieve(line.parent.invoice_item_details.invoice_item)
    assert [rate.id for rate in item.tax_rates] == [vat.id]


def test_an_inclusive_rate_holds_its_tax_inside_the_amount(sandbox, customer, included_vat):
    invoice = open_invoice(sandbox.client, customer=customer.id, lines=[("Seats", 6000)],
                           tax_rates=[included_vat.id])

    assert _totals(invoice) == (6000, 5000, 6000, 5000)
    assert _taxes(invoice.total_taxes) == [(1000, "inclusive", included_vat.id, 5000)]
    assert invoice.amount_due == 6000


def test_default_rates_tax_the_lines_without_rates_of_their_own(sandbox, customer, vat):
    client = sandbox.client
    gst = tax_rate(client, display_name="GST", percentage=10, inclusive=True,
                   jurisdiction="AU")
    invoice = draft_invoice(client, customer=customer.id, lines=[("Setup", 1100)],
                            default_tax_rates=[gst.id])
    client.v1.invoice_items.create(params={"customer": customer.id, "invoice": invoice.id,
                                           "amount": 5000, "currency": "usd",
                                           "tax_rates": [vat.id]})

    invoice = client.v1.invoices.finalize_invoice(invoice.id)

    assert [rate.id for rate in invoice.default_tax_rates] == [gst.id]
    assert [_taxes(line.taxes) for line in invoice.lines.data] == [
        [(100, "inclusive", gst.id, 1000)], [(1000, "exclusive", vat.id, 5000)]]
    assert _totals(invoice) == (6100, 6000, 7100, 6000)
    assert _taxes(invoice.total_taxes) == [(100, "inclusive", gst.id, 1000),
                                           (1000, "exclusive", vat.id, 5000)]


def test_a_draft_takes_new_default_rates_and_a_finalized_invoice_refuses_them(
        sandbox, customer, vat):
    client = sandbox.client
    draft = draft_invoice(client, customer=customer.id, lines=[("Seats", 5000)])

    taxed = client.v1.invoices.update(draft.id, params={"default_tax_rates": [vat.id]})
    client.v1.invoices.finalize_invoice(draft.id)
    with pytest.raises(InvalidRequestError) as refused:
        client.v1.invoices.update(draft.id, params={"default_tax_rates": ""})

    assert (draft.total, taxed.total) == (5000, 6000)
    assert refused.value.code == "invoice_not_editable"


@pytest.mark.parametrize(("percentage", "inclusive", "amount", "tax"), [
    (19, False, 333, 63),     # 63.27 rounds down
    (5, False, 10, 1),        # 0.5 rounds half up (banker's rounding would give 0)
    (19, True, 333, 53),      # 333 / 1.19 = 279.83, so 280 is taxable and 53 is tax
    (7.5, False, 1999, 150),  # 149.925 rounds up; a percentage need not be whole
    (20, False, -1001, -200),  # a credit rounds as the charge it mirrors: -200.2
])
def test_tax_is_rounded_to_the_cent_halves_up(sandbox, customer, percentage, inclusive,
                                             amount, tax):
    rate = tax_rate(sandbox.client, display_name="Tax", percentage=percentage,
                    inclusive=inclusive)

    invoice = draft_invoice(sandbox.client, customer=customer.id, lines=[("Item", amount)],
                            tax_rates=[rate.id])

    assert [entry.amount for entry in invoice.lines.data[0].taxes] == [tax]


def test_tax_is_rounded_line_by_line_before_it_is_summed(sandbox, customer):
    rate = tax_rate(sandbox.client, display_name="VAT", percentage=19, inclusive=False)

    invoice = draft_invoice(sandbox.client, customer=customer.id,
                            lines=[("One", 333), ("Two", 333)], tax_rates=[rate.id])

    # 19% of 666 is 126.54; each line's 63.27 rounds to 63 first.
    assert [tax.amount for tax in invoice.total_taxes] == [126]
    assert invoice.total == 666 + 126


# Credit notes ------------------------------------------------------------------------------


def test_a_line_credit_takes_its_exclusive_tax_with_it(sandbox, customer, vat):
    client = sandbox.client
    invoice = open_invoice(client, customer=customer.id, lines=[("Seats", 5000)],
                           tax_rates=[vat.id])

    note = client.v1.credit_notes.create(params={
        "invoice": invoice.id, "lines": [_credit_line(invoice, amount=1000)]})

    line = note.lines.data[0]
    assert (note.amount, note.pre_payment_amount) == (1200, 1200)
    assert _totals(note) == (1000, 1000, 1200, 1000)
    assert _taxes(note.total_taxes) == [(200, "exclusive", vat.id, 1000)]
    assert (line.amount, _taxes(line.taxes)) == (1000, [(200, "exclusive", vat.id, 1000)])
    assert [rate.id for rate in line.tax_rates] == [vat.id]
    assert client.v1.invoices.retrieve(invoice.id).amount_remaining == 6000 - 1200


def test_a_line_credit_on_an_inclusive_rate_holds_its_tax_inside(sandbox, customer,
                                                                 included_vat):
    client = sandbox.client
    invoice = open_invoice(client, customer=customer.id, lines=[("Seats", 6000)],
                           tax_rates=[included_vat.id])

    note = client.v1.credit_notes.create(params={
        "invoice": invoice.id, "lines": [_credit_line(invoice, amount=1200)]})

    assert note.amount == 1200
    assert _totals(note) == (1200, 1000, 1200, 1000)
    assert _taxes(note.lines.data[0].taxes) == [(200, "inclusive", included_vat.id, 1000)]
    assert client.v1.invoices.retrieve(invoice.id).amount_remaining == 6000 - 1200


def test_a_credit_by_quantity_is_taxed_on_the_quantity_credited(sandbox, customer, vat):
    client = sandbox.client
    price = client.v1.prices.create(params={"unit_amount": 1000, "currency": "usd",
                                            "product_data": {"name": "Seat"}})
    invoice = client.v1.invoices.create(params={"customer": customer.id,
                                                "default_tax_rates": [vat.id]})
    client.v1.invoice_items.create(params={"customer": customer.id, "invoice": invoice.id,
                                           "price": price.id, "quantity": 3})
    invoice = client.v1.invoices.finalize_invoice(invoice.id)

    preview = client.v1.credit_notes.preview(params={
        "invoice": invoice.id, "lines": [_credit_line(invoice, quantity=1)]})

    assert invoice.total == 3600
    assert (preview.amount, preview.lines.data[0].amount, preview.lines.data[0].quantity) == (
        1200, 1000, 1)
    assert _taxes(preview.total_taxes) == [(200, "exclusive", vat.id, 1000)]
    assert client.v1.credit_notes.list(params={"invoice": invoice.id}).data == []


def test_a_custom_line_is_taxed_at_the_rates_it_is_given(sandbox, customer, vat):
    invoice = open_invoice(sandbox.client, customer=customer.id, lines=[("Seats", 5000)],
                           tax_rates=[vat.id])

    note = sandbox.client.v1.credit_notes.create(params={
        "invoice": invoice.id, "lines": [{"type": "custom_line_item", "unit_amount": 500,
                                          "quantity": 1, "description": "Goodwill",
                                          "tax_rates": [vat.id]}]})

    assert (note.amount, note.lines.data[0].taxes[0].amount) == (600, 100)


def test_a_paid_taxed_invoice_splits_the_credit_with_its_tax(sandbox, customer, vat):
    client = sandbox.client
    invoice = paid_invoice(client, customer=customer.id, lines=[("Seats", 5000)],
                           tax_rates=[vat.id])
    credit = [_credit_line(invoice, amount=1000)]

    with pytest.raises(InvalidRequestError) as refused:
        client.v1.credit_notes.create(params={"invoice": invoice.id, "lines": credit,
                                              "refund_amount": 1000})
    note = client.v1.credit_notes.create(params={
        "invoice": invoice.id, "lines": credit, "refund_amount": 500, "credit_amount": 400,
        "out_of_band_amount": 300})

    assert "(1000) must equal the credit note's post payment amount (1200)" in (
        refused.value.user_message)
    assert (note.amount, note.post_payment_amount, note.type) == (1200, 1200, "post_payment")
    assert client.v1.refunds.retrieve(note.refunds[0].refund).amount == 500
    assert client.v1.customers.retrieve(customer.id).balance == -400
    assert client.v1.invoices.retrieve(invoice.id).post_payment_credit_notes_amount == 1200


def test_what_is_left_to_credit_counts_tax(sandbox, customer, vat):
    client = sandbox.client
    invoice = paid_invoice(client, customer=customer.id, lines=[("Seats", 5000)],
                           tax_rates=[vat.id])
    client.v1.credit_notes.create(params={
        "invoice": invoice.id, "lines": [_credit_line(invoice, amount=4000)],
        "out_of_band_amount": 4800})

    with pytest.raises(InvalidRequestError) as over_the_line:
        client.v1.credit_notes.create(params={
            "invoice": invoice.id, "lines": [_credit_line(invoice, amount=1001)],
            "out_of_band_amount": 1201})
    with pytest.raises(InvalidRequestError) as over_the_invoice:
        client.v1.credit_notes.create(params={"invoice": invoice.id, "amount": 1201,
                                              "out_of_band_amount": 1201})
    rest = client.v1.credit_notes.create(params={
        "invoice": invoice.id, "lines": [_credit_line(invoice, amount=1000)],
        "out_of_band_amount": 1200})

    assert over_the_line.value.param == "lines[0][amount]"
    assert over_the_invoice.value.param == "amount"
    assert rest.amount == 1200


def test_a_credit_by_amount_alone_is_a_sum_with_tax_and_no_breakdown(sandbox, customer, vat):
    client = sandbox.client
    invoice = open_invoice(client, customer=customer.id, lines=[("Seats", 5000)],
                           tax_rates=[vat.id])

    note = client.v1.credit_notes.create(params={"invoice": invoice.id, "amount": 1200})

    assert (note.amount, note.total, note.subtotal, note.total_taxes) == (1200, 1200, 1200, [])
    assert client.v1.invoices.retrieve(invoice.id).amount_remaining == 4800


def test_a_refund_of_a_taxed_invoice_charge_is_a_plain_amount(sandbox, customer, vat):
    client = sandbox.client
    invoice = paid_invoice(client, customer=customer.id, lines=[("Seats", 5000)],
                           tax_rates=[vat.id])
    payment = client.v1.invoice_payments.list(params={"invoice": invoice.id}).data[0]
    charge_id = client.v1.payment_intents.retrieve(payment.payment.payment_intent).latest_charge

    refund = client.v1.refunds.create(params={"charge": charge_id, "amount": 1000})
    rest = client.v1.refunds.create(params={"charge": charge_id})

    assert client.v1.charges.retrieve(charge_id).amount == 6000
    assert (refund.amount, rest.amount) == (1000, 5000)


# Subscriptions -----------------------------------------------------------------------------


def test_a_subscription_taxes_its_invoices_and_their_preview(sandbox, customer, vat):
    client = sandbox.client
    basic = recurring_price(client, product_name="Basic", unit_amount=3000)
    team = recurring_price(client, product_name="Team", unit_amount=9000)
    subscription = subscribe(client, customer=customer.id, price=basic.id,
                             default_tax_rates=[vat.id])
    item = subscription["items"].data[0]
    when = (item.current_period_start + item.current_period_end) // 2

    first = client.v1.invoices.retrieve(subscription.latest_invoice)
    preview = client.v1.invoices.create_preview(params={
        "subscription": subscription.id, "subscription_details": {
            "items": [{"id": item.id, "price": team.id}], "proration_date": when,
            "proration_behavior": "always_invoice"}})

    assert [rate.id for rate in subscription.default_tax_rates] == [vat.id]
    assert (first.status, first.total, first.amount_paid) == ("paid", 3600, 3600)
    assert _taxes(first.total_taxes) == [(600, "exclusive", vat.id, 3000)]
    credit, charge = preview.lines.data
    assert [tax.amount for tax in credit.taxes] == [round(credit.amount * 0.2)]
    assert [tax.amount for tax in charge.taxes] == [round(charge.amount * 0.2)]
    assert preview.total == credit.amount + charge.amount + sum(
        tax.amount for tax in preview.total_taxes)
    assert [rate.id for rate in preview.default_tax_rates] == [vat.id]


def test_a_subscriptions_prorations_carry_its_tax_rates(sandbox, customer, vat):
    client = sandbox.client
    basic = recurring_price(client, product_name="Basic", unit_amount=3000)
    team = recurring_price(client, product_name="Team", unit_amount=9000)
    subscription = subscribe(client, customer=customer.id, price=basic.id,
                             default_tax_rates=[vat.id])

    updated = client.v1.subscriptions.update(subscription.id, params={
        "items": [{"id": subscription["items"].data[0].id, "price": team.id}],
        "proration_behavior": "always_invoice"})

    invoice = client.v1.invoices.retrieve(updated.latest_invoice)
    assert [[tax.tax_rate_details.tax_rate for tax in line.taxes]
            for line in invoice.lines.data] == [[vat.id], [vat.id]]
    assert invoice.total == invoice.subtotal + sum(tax.amount for tax in invoice.total_taxes)


def test_an_items_own_rates_take_the_place_of_the_subscriptions(sandbox, customer, vat):
    client = sandbox.client
    gst = tax_rate(client, display_name="GST", percentage=10, inclusive=True,
                   jurisdiction="AU")
    basic = recurring_price(client, product_name="Basic", unit_amount=3300)
    subscription = client.v1.subscriptions.create(params={
        "customer": customer.id, "default_tax_rates": [vat.id],
        "items": [{"price": basic.id, "tax_rates": [gst.id]}]})

    first = client.v1.invoices.retrieve(subscription.latest_invoice)
    untaxed = client.v1.invoices.create_preview(params={
        "subscription": subscription.id,
        "subscription_details": {"default_tax_rates": "", "proration_behavior": "none"}})

    assert [rate.id for rate in subscription["items"].data[0].tax_rates] == [gst.id]
    assert _taxes(first.total_taxes) == [(300, "inclusive", gst.id, 3000)]
    assert (first.total, untaxed.total, untaxed.default_tax_rates) == (3300, 3300, [])
