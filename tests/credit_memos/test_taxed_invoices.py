"""Money actions on taxed invoices, against the Stripe sandbox: each credit, settlement,
refund, void and write-off is right to the cent, on the totals including tax that Stripe
records, and the pages show the tax.

The customer pays 20% VAT on top (exclusive) or 10% GST inside the price (inclusive)."""

import re
from decimal import Decimal

import pytest
from django.utils import timezone

from billing_console.integrations.stripe import gateway
from billing_console.integrations.stripe.sandbox.builders import (
    open_invoice,
    paid_invoice,
    tax_rate,
)
from billing_console.integrations.stripe.sandbox.tax_rates import line_taxes
from billing_console.integrations.stripe.types import TaxRate, tax_on_top
from finance.models import Match, ReconciliationItem
from finance.periods import Period
from finance.reconciliation import reconciliation_run
from finance.summaries import money_given_back
from money_actions.models import LedgerEntry, MoneyAction, State
from tests.credit_memos.conftest import credit_notes, memo_body, post_memo
from tests.credit_memos.test_action_pages import basic_to_pro, run
from tests.refunds.conftest import post_refund, refund_body, signed_in

pytestmark = pytest.mark.django_db(transaction=True)
PREVIEW = "/api/v1/credit-memos/preview/"
ADJUSTMENTS = "/api/v1/invoice-adjustments/"


@pytest.fixture
def vat(sandbox):
    return tax_rate(sandbox.client, display_name="VAT", percentage=20, inclusive=False,
                    jurisdiction="GB", country="GB", tax_type="vat")


@pytest.fixture
def gst(sandbox):
    return tax_rate(sandbox.client, display_name="GST", percentage=10, inclusive=True,
                    jurisdiction="AU", country="AU", tax_type="gst")


def taxed(sandbox, customer, rate, builder=paid_invoice, lines=(("Pro plan", 5_000),)):
    return builder(sandbox.client, customer=customer.id, lines=list(lines),
                   tax_rates=[rate.id])


def line_credit(case, invoice, amount=None, quantity=None, **overrides):
    line = {"invoice_line_item": invoice.lines.data[0].id}
    line.update({"amount": amount} if amount is not None else {"quantity": quantity})
    return memo_body(case, invoice, amount=None, lines=[line], **overrides)


def test_an_exclusive_rate_is_added_on_top_of_the_credited_line(sandbox, customer, case, vat,
                                                                specialist, eager_tasks):
    invoice = taxed(sandbox, customer, vat)
    assert (invoice.subtotal, invoice.total) == (5_000, 6_000)
    body = line_credit(case, invoice, amount=1_000)

    shown = post_memo(specialist, body, PREVIEW).json()
    created = post_memo(specialist, body)

    assert (shown["subtotal"], shown["tax"], shown["total"]) == (1_000, 200, 1_200)
    assert created.status_code == 201, created.json()
    action = MoneyAction.objects.get(pk=created.json()["id"])
    [note] = credit_notes(sandbox, invoice)
    assert (action.state, action.amount, note.amount, note.total) == (
        State.SUCCEEDED, 1_200, 1_200, 1_200)
    assert [tax.amount for tax in note.total_taxes] == [200]
    balance = sandbox.client.v1.customers.retrieve(customer.id).balance
    assert balance == -1_200  # the whole credit, tax included, to the customer balance
    assert LedgerEntry.objects.get(stripe_id=note.id).tax == 200


def seats_invoice(sandbox, customer, vat):
    """A paid invoice for 4 seats at 10.00 with 20% VAT on top: 48.00."""
    client = sandbox.client
    seat = client.v1.prices.create(params={"unit_amount": 1_000, "currency": "usd",
                                           "product_data": {"name": "Seat"}})
    draft = client.v1.invoices.create(params={"customer": customer.id})
    client.v1.invoice_items.create(params={"customer": customer.id, "invoice": draft.id,
                                           "price": seat.id, "quantity": 4,
                                           "tax_rates": [vat.id]})
    client.v1.invoices.finalize_invoice(draft.id)
    return client.v1.invoices.pay(draft.id)


SETTLED = {
    "customer_balance": lambda sandbox, note: -sandbox.client.v1.customers.retrieve(
        note.customer).balance,
    "refund": lambda sandbox, note: sum(refund.amount_refunded for refund in note.refunds),
    "out_of_band": lambda sandbox, note: note.out_of_band_amount,
}


@pytest.mark.parametrize("settle_to", SETTLED)
@pytest.mark.parametrize("how, body, total, tax", [
    ("lines", {"amount": 2_500}, 3_000, [500]),
    ("quantity", {"quantity": 1}, 1_200, [200]),
    ("amount", None, 1_200, []),
])
def test_each_way_of_crediting_is_settled_each_way_with_tax(
        sandbox, customer, case, vat, specialist, eager_tasks, settle_to, how, body, total,
        tax):
    invoice = seats_invoice(sandbox, customer, vat) if how == "quantity" else \
        taxed(sandbox, customer, vat)
    assert invoice.total == (4_800 if how == "quantity" else 6_000)
    request = line_credit(case, invoice, settle_to=settle_to, **body) if body else \
        memo_body(case, invoice, amount=1_200, settle_to=settle_to)

    shown = post_memo(specialist, request, PREVIEW).json()
    created = post_memo(specialist, request)

    assert created.status_code == 201, created.json()
    [note] = credit_notes(sandbox, invoice)
    assert (shown["total"], shown["tax"]) == (total, sum(tax))
    assert (note.amount, note.post_payment_amount) == (total, total)
    assert [entry.amount for entry in note.total_taxes] == tax
    assert SETTLED[settle_to](sandbox, note) == total
    assert MoneyAction.objects.get().amount == total


def test_an_inclusive_rate_is_inside_the_credited_line(sandbox, customer, case, gst,
                                                       specialist, eager_tasks):
    invoice = taxed(sandbox, customer, gst, lines=(("Pro plan", 6_600),))
    assert (invoice.subtotal, invoice.total, invoice.total_taxes[0].amount) == (6_600, 6_600, 600)
    body = line_credit(case, invoice, amount=1_100)

    shown = post_memo(specialist, body, PREVIEW).json()
    created = post_memo(specialist, body)

    assert (shown["tax"], shown["total"]) == (100, 1_100)
    assert created.status_code == 201, created.json()
    [note] = credit_notes(sandbox, invoice)
    assert (note.amount, [tax.amount for tax in note.total_taxes]) == (1_100, [100])


def test_an_open_taxed_invoice_owes_the_credit_with_its_tax_less(sandbox, customer, case, vat,
                                                                 specialist, eager_tasks):
    invoice = taxed(sandbox, customer, vat, builder=open_invoice)

    created = post_memo(specialist, line_credit(case, invoice, amount=1_000))

    assert created.status_code == 201, created.json()
    assert MoneyAction.objects.get().amount == 1_200  # what the console counts is Stripe's
    now = sandbox.client.v1.invoices.retrieve(invoice.id)
    assert (now.amount_remaining, now.pre_payment_credit_notes_amount) == (4_800, 1_200)


def test_the_policy_weighs_the_credit_with_its_tax(sandbox, customer, case, vat, specialist):
    # 450.00 is under the 500.00 auto-approval limit; with 20% VAT it is 540.00, over it.
    invoice = taxed(sandbox, customer, vat, lines=(("Annual plan", 45_000),))

    created = post_memo(specialist, line_credit(case, invoice, amount=45_000))

    assert created.json()["state"] == State.PENDING_APPROVAL
    assert MoneyAction.objects.get().amount == 54_000


def test_a_refund_of_a_taxed_invoices_charge_is_a_plain_amount(sandbox, customer, case, vat,
                                                               specialist, eager_tasks):
    invoice = taxed(sandbox, customer, vat)
    charge = gateway.invoice_charge(invoice_id=invoice.id)
    assert charge.amount == 6_000

    response = post_refund(specialist, refund_body(case, charge.id, amount=1_000))

    assert response.status_code == 201, response.json()
    [refund] = sandbox.client.v1.refunds.list(params={"charge": charge.id}).data
    assert refund.amount == 1_000


def test_a_void_gives_the_taxed_credit_back_to_the_invoice(sandbox, customer, case, vat,
                                                           specialist, eager_tasks):
    invoice = taxed(sandbox, customer, vat, builder=open_invoice)
    memo_id = post_memo(specialist, line_credit(case, invoice, amount=1_000)).json()["id"]

    voided = post_memo(specialist, {"reason_code": "billing_error", "note": "Wrong invoice."},
                       f"/api/v1/credit-memos/{memo_id}/void/")

    assert voided.status_code == 201, voided.json()
    assert sandbox.client.v1.invoices.retrieve(invoice.id).amount_remaining == 6_000


def test_a_write_off_lets_off_the_total_with_tax(sandbox, customer, case, vat, specialist,
                                                 eager_tasks):
    invoice = taxed(sandbox, customer, vat, builder=open_invoice)

    response = post_memo(specialist, {"case_id": case.pk, "kind": "invoice_uncollectible",
                                      "invoice_id": invoice.id, "reason_code": "billing_error",
                                      "note": "Cannot be collected."}, ADJUSTMENTS)

    assert response.status_code == 201, response.json()
    assert MoneyAction.objects.get().amount == 6_000
    assert sandbox.client.v1.invoices.retrieve(invoice.id).status == "uncollectible"


def test_the_pages_show_the_tax(sandbox, customer, case, vat, gst, specialist, eager_tasks):
    invoice = taxed(sandbox, customer, vat)
    taxed(sandbox, customer, gst, lines=(("Support", 1_100),))
    client = signed_in(specialist)

    panel = client.get(f"/cases/{case.pk}/stripe/").content.decode()
    page, answers = run(client, f"/actions/credit-memo/{case.pk}/{invoice.id}/", {
        "line_0_amount": "10.00", "settle_to": "customer_balance",
        "stripe_reason": "order_change", "custom_amount": "", "memo": ""})

    assert "20% VAT" in panel and "10% GST included" in panel
    assert ">50.00 USD<" in panel and ">10.00 USD<" in panel and ">60.00 USD<" in panel
    assert "10.00 USD + 20% VAT 2.00 USD = 12.00 USD" in page
    assert "total 60.00 USD, credited 12.00 USD" in page
    assert "Confirm credit memo of 12.00 USD" in page
    assert [answer.status_code for answer in answers] == [302, 302]
    panel = client.get(f"/cases/{case.pk}/stripe/").content.decode()
    assert ">12.00 USD<" in panel and ">2.00 USD<" in panel  # the note and its tax


@pytest.mark.parametrize("rates", [
    [("19", False)], [("7.5", False)], [("20", True)], [("10", True), ("5", False)],
])
def test_the_console_taxes_a_credit_as_the_sandbox_taxes_a_line(rates):
    """The console's rule (`tax_on_top`) and the sandbox's (`line_taxes`) are written apart;
    they agree on every amount up to 100.00, halves included."""
    console = [TaxRate(id=f"txr_{n}", display_name="Tax", percentage=Decimal(percentage),
                       inclusive=inclusive) for n, (percentage, inclusive) in enumerate(rates)]
    sandbox = [{"id": rate.id, "percentage": float(rate.percentage),
                "inclusive": rate.inclusive} for rate in console]
    for amount in range(1, 10_001):
        on_top = sum(tax["amount"] for tax in line_taxes(amount, sandbox)
                     if tax["tax_behavior"] == "exclusive")
        assert tax_on_top(amount, console) == on_top, amount


def test_finance_sees_the_tax_apart(sandbox, customer, case, vat, specialist, finance,
                                    eager_tasks):
    invoice = taxed(sandbox, customer, vat)
    created = post_memo(specialist, line_credit(case, invoice, amount=1_000))
    assert created.status_code == 201, created.json()
    today = timezone.now().date()

    [total] = money_given_back(Period(today, today)).by_kind
    run = reconciliation_run(period=Period(today, today))
    summary = signed_in(finance).get(f"/audit/summary/?since={today}&until={today}")

    assert (total.kind, total.amount, total.tax) == ("credit_memo", 1_200, 200)
    assert "<td class=\"num\">2.00 USD</td>" in summary.content.decode()
    [item] = ReconciliationItem.objects.filter(run=run, object_type="credit_note")
    assert (item.match, item.console_amount, item.stripe_amount, item.stripe_tax) == (
        Match.MATCHED, 1_200, 1_200, 200)


def test_a_plan_change_on_a_taxed_subscription_weighs_its_proration_with_tax(
        sandbox, customer, case, vat, specialist, eager_tasks):
    page, subscription = basic_to_pro(sandbox, case, customer, specialist,
                                      default_tax_rates=[vat.id])

    action = MoneyAction.objects.get()
    latest = gateway.get_invoice(invoice_id=sandbox.client.v1.subscriptions.retrieve(
        subscription.id).latest_invoice)
    prorations = [line for line in latest.lines if line.proration]
    net = sum(line.amount for line in prorations)
    tax = sum(tax.amount for line in prorations for tax in line.taxes)
    assert tax and action.amount == abs(net + tax) == latest.total
    shown = re.search(r"Proration</dt><dd>(.*?)</dd>", page).group(1)
    assert shown == (f"The customer pays {action.amount // 100}.{action.amount % 100:02d} USD "
                     f"now, including tax {tax // 100}.{tax % 100:02d} USD")


def test_a_tax_on_top_that_rounds_to_nothing_is_not_called_included():
    from billing_console.integrations.stripe.types import Tax, tax_included

    on_top = Tax(amount=0, taxable_amount=1, inclusive=False, tax_rate="txr_1")
    inside = Tax(amount=1, taxable_amount=10, inclusive=True, tax_rate="txr_2")
    assert not tax_included([on_top]) and not tax_included([on_top, inside])
    assert tax_included([inside]) and not tax_included([])
