"""The pages for credit memos, invoice adjustments, balance moves and subscription
changes: offered next to their object, previewed with the policy's verdict, confirmed
once; a status Stripe refuses is a message on the form."""

import html
import re
from datetime import UTC, datetime

import pytest

from billing_console.integrations.stripe.sandbox.builders import recurring_price, subscribe
from money_actions.models import MoneyAction, State
from tests.credit_memos.conftest import credit_notes
from tests.refunds.conftest import confirm_key, signed_in

pytestmark = pytest.mark.django_db(transaction=True)
REASON = {"reason_code": "service_issue", "note": "Outage on 3 March."}


def run(client, url, fields):
    """Preview, then confirm twice with the preview's key: (preview page, confirm answers)."""
    preview = client.post(url, {**fields, **REASON, "preview": "1"})
    assert preview.status_code == 200, _form_errors(preview)
    key = confirm_key(preview.content.decode())
    answers = [client.post(url, {**fields, **REASON, "request_key": key, "confirm": "1"})
               for _ in range(2)]
    return preview.content.decode(), answers


def _form_errors(response):
    return re.findall(r'class="(?:error|message error)"[^>]*>(.*?)<', response.content.decode())


def test_the_stripe_panel_offers_each_action_next_to_its_object(invoices, case, sandbox,
                                                                customer, specialist):
    price = recurring_price(sandbox.client, product_name="Basic", unit_amount=1_000)
    subscription = subscribe(sandbox.client, customer=customer.id, price=price.id)

    panel = signed_in(specialist).get(f"/cases/{case.pk}/stripe/").content.decode()

    assert f"/actions/credit-memo/{case.pk}/{invoices['paid'].id}/" in panel
    assert f"/actions/invoice/{case.pk}/{invoices['open'].id}/invoice_void/" in panel
    assert f"/actions/invoice/{case.pk}/{invoices['open'].id}/invoice_uncollectible/" in panel
    assert f"/actions/invoice/{case.pk}/{invoices['draft'].id}/invoice_edit/" in panel
    assert f"/actions/invoice/{case.pk}/{invoices['paid'].id}/invoice_void/" not in panel
    assert f"/actions/subscription/{case.pk}/{subscription.id}/subscription_change/" in panel
    assert f"/actions/balance/{case.pk}/{customer.id}/" in panel


def test_a_credit_memo_from_the_page_is_previewed_and_made_once(invoices, case, sandbox,
                                                                 specialist, eager_tasks):
    invoice = invoices["paid"]
    url = f"/actions/credit-memo/{case.pk}/{invoice.id}/"

    page, answers = run(signed_in(specialist), url, {
        "line_0_amount": "10.00", "line_1_quantity": "1", "settle_to": "refund",
        "stripe_reason": "order_change", "custom_amount": "", "memo": ""})

    assert "Within policy" in page and "50.00 USD" in page
    assert "refund to the payment method" in page
    assert [answer.status_code for answer in answers] == [302, 302]
    action = MoneyAction.objects.get()
    assert (action.kind, action.state, action.amount) == ("credit_memo", State.SUCCEEDED,
                                                          5_000)
    [note] = credit_notes(sandbox, invoice)
    assert note.amount == 5_000


def test_a_status_stripe_refuses_is_a_message_on_the_form(invoices, case, specialist):
    url = f"/actions/invoice/{case.pk}/{invoices['paid'].id}/invoice_void/"

    response = signed_in(specialist).post(url, {**REASON, "preview": "1"})

    assert response.status_code == 400
    assert "Stripe voids only open or uncollectible invoices; this one is paid." in \
        response.content.decode()


def test_a_write_off_from_the_page(invoices, case, sandbox, specialist, eager_tasks):
    invoice = invoices["open"]

    page, _ = run(signed_in(specialist),
                  f"/actions/invoice/{case.pk}/{invoice.id}/invoice_uncollectible/", {})

    assert "100.00 USD" in page
    assert MoneyAction.objects.get().state == State.SUCCEEDED
    assert sandbox.client.v1.invoices.retrieve(invoice.id).status == "uncollectible"


def test_a_draft_changed_from_the_page(invoices, case, sandbox, specialist, eager_tasks):
    invoice = invoices["draft"]

    run(signed_in(specialist), f"/actions/invoice/{case.pk}/{invoice.id}/invoice_edit/", {
        "remove": [invoice.lines.data[1].id], "add_0_description": "Seats × 2",
        "add_0_amount": "20.00", "finalize": "on"})

    after = sandbox.client.v1.invoices.retrieve(invoice.id)
    assert (after.status, after.total) == ("open", 8_000)


def test_a_drafts_change_reads_in_amounts_and_names_the_draft(invoices, case, specialist):
    """Before: "Seats (6000)" beside a checkbox, "Remove these lines" inline after the
    first, the invoice "in_… · Draft", "1 item(s) added, 0 removed, then finalized" and a
    confirm button with no amount."""
    invoice, client = invoices["draft"], signed_in(specialist)
    url = f"/actions/invoice/{case.pk}/{invoice.id}/invoice_edit/"
    day = datetime.fromtimestamp(invoice.created, UTC).strftime("%-d %b %Y")

    form = client.get(url).content.decode()
    preview = html.unescape(client.post(url, {
        **REASON, "preview": "1", "remove": [invoice.lines.data[1].id],
        "add_0_description": "Onboarding", "add_0_amount": "12.50", "finalize": "on"}
    ).content.decode())

    assert "<fieldset><legend>Remove these lines</legend>" in form
    assert "Pro plan, March · 60.00 USD" in form and "(6000)" not in form
    assert f"Draft invoice of {day} · 100.00 USD</a> · Draft" in form
    assert invoice.id not in re.sub(r'(href|value|action)="[^"]*"', "", form)
    assert ("Adds Onboarding · 12.50 USD; removes Extra seats × 4 · 40.00 USD; then "
            "finalizes: the invoice's total becomes 72.50 USD") in preview
    assert "Confirm: change the draft invoice to 72.50 USD" in preview


def test_a_choice_of_several_is_a_fieldset_named_by_its_legend(case, customer, specialist):
    """The same kind: the balance's direction, radio buttons, had its label on the first."""
    form = signed_in(specialist).get(f"/actions/balance/{case.pk}/{customer.id}/")

    assert "<fieldset><legend>Direction</legend>" in form.content.decode()


def test_a_balance_credit_from_the_page(case, customer, sandbox, specialist, eager_tasks):
    page, _ = run(signed_in(specialist), f"/actions/balance/{case.pk}/{customer.id}/", {
        "direction": "balance_credit", "amount": "15.00", "currency": "usd",
        "description": "Goodwill"})

    assert "-15.00 USD" in page  # the balance after
    assert sandbox.client.v1.customers.retrieve(customer.id).balance == -1_500


def basic_to_pro(sandbox, case, customer, specialist, **subscription):
    """A Basic (10.00 a month) subscription changed to Pro (30.00) from the page, invoiced
    at once: (the preview page, the subscription)."""
    basic = recurring_price(sandbox.client, product_name="Basic", unit_amount=1_000)
    pro = recurring_price(sandbox.client, product_name="Pro", unit_amount=3_000)
    subscription = subscribe(sandbox.client, customer=customer.id, price=basic.id,
                             **subscription)
    client = signed_in(specialist)
    url = f"/actions/subscription/{case.pk}/{subscription.id}/subscription_change/"
    form = client.get(url).content.decode()
    proration_date = re.search(r'name="proration_date" value="(\d+)"', form).group(1)
    page, _ = run(client, url, {
        "item_id": subscription["items"].data[0].id, "price_id": pro.id, "quantity": "1",
        "proration_behavior": "always_invoice", "proration_date": proration_date})
    return page, subscription


def test_a_plan_change_from_the_page_prorates_as_previewed(case, customer, sandbox,
                                                           specialist, eager_tasks):
    page, subscription = basic_to_pro(sandbox, case, customer, specialist)

    action = MoneyAction.objects.get()
    assert action.state == State.SUCCEEDED
    shown = f"{action.amount // 100}.{action.amount % 100:02d} USD"
    assert re.search(r"Proration</dt><dd>(.*?)</dd>", page).group(1) == \
        f"The customer pays {shown} now"
    latest = sandbox.client.v1.invoices.retrieve(
        sandbox.client.v1.subscriptions.retrieve(subscription.id).latest_invoice)
    assert latest.total == action.amount
    assert re.search(r"Next invoice</dt><dd>(\S+ USD)", page).group(1) == "30.00 USD"


@pytest.mark.parametrize("role", ["tier2", "finance"])
def test_only_specialists_reach_the_action_pages(invoices, case, customer, request, role):
    client = signed_in(request.getfixturevalue(role))

    for url in (f"/actions/credit-memo/{case.pk}/{invoices['paid'].id}/",
                f"/actions/invoice/{case.pk}/{invoices['open'].id}/invoice_void/",
                f"/actions/balance/{case.pk}/{customer.id}/"):
        assert client.get(url).status_code == 403


def test_a_console_credit_memo_is_voided_from_its_row(invoices, case, sandbox, specialist,
                                                      eager_tasks):
    from tests.credit_memos.conftest import memo_body, post_memo

    invoice = invoices["open"]
    memo = MoneyAction.objects.get(pk=post_memo(specialist, memo_body(case, invoice)).json()["id"])
    dashboard_note = sandbox.client.v1.credit_notes.create(params={"invoice": invoice.id,
                                                                   "amount": 500})
    client = signed_in(specialist)
    panel = client.get(f"/cases/{case.pk}/stripe/").content.decode()
    assert f"/actions/credit-memo/{case.pk}/{memo.stripe_object_id}/void/" in panel
    assert f"/actions/credit-memo/{case.pk}/{dashboard_note.id}/void/" not in panel

    run(client, f"/actions/credit-memo/{case.pk}/{memo.stripe_object_id}/void/", {})

    void = MoneyAction.objects.get(kind="credit_memo_void")
    assert void.state == State.SUCCEEDED
    assert sandbox.client.v1.credit_notes.retrieve(memo.stripe_object_id).status == "void"
