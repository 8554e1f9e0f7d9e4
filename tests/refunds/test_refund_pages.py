"""The refund pages: the link on the Stripe panel, the form, the preview, and a confirm
that requests once however often it is sent; bad input is a message, never a Stripe call."""

import pytest

from audit.models import AuditEvent, Source
from cases.models import WriteBack
from money_actions.models import MoneyAction, State
from tests.refunds.conftest import (
    confirm,
    confirm_key,
    new_charge,
    preview,
    refund_url,
    refunds_created,
    signed_in,
)


def test_the_stripe_panel_offers_a_refund_on_each_refundable_charge(charged, specialist,
                                                                     finance):
    case, charge_id = charged

    panel = signed_in(specialist).get(f"/cases/{case.pk}/stripe/").content.decode()
    assert f'href="{refund_url(case, charge_id)}"' in panel
    finance_panel = signed_in(finance).get(f"/cases/{case.pk}/stripe/").content.decode()
    assert refund_url(case, charge_id) not in finance_panel


def test_the_form_starts_from_the_whole_refundable_remainder(charged, specialist):
    case, charge_id = charged

    page = signed_in(specialist).get(refund_url(case, charge_id)).content.decode()

    assert 'value="100.00"' in page
    assert "100.00 USD" in page and "Preview the refund" in page


def test_the_preview_explains_every_rule_and_refunds_nothing(charged, sandbox, specialist):
    case, charge_id = charged

    response = preview(signed_in(specialist), case, charge_id)

    page = response.content.decode()
    assert response.status_code == 200
    assert "Within policy" in page and "Within the auto-approve limit of 500.00 USD" in page
    for rule in ("Currency limit", "Role limit", "Charge age", "Customer total", "Fraud"):
        assert rule in page
    assert "25.00 USD back on the card" in page
    assert not refunds_created(sandbox) and not MoneyAction.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_confirming_refunds_and_the_ticket_gets_the_public_reply(charged, sandbox,
                                                                 specialist, eager_tasks):
    case, charge_id = charged
    client = signed_in(specialist)
    key = confirm_key(preview(client, case, charge_id).content.decode())

    response = confirm(client, case, charge_id, key, customer_reply="Your refund is on its way.")

    assert response.status_code == 302 and response.url == f"/cases/{case.pk}/"
    action = MoneyAction.objects.get()
    assert (action.state, action.amount) == (State.SUCCEEDED, 2_500)
    assert len(refunds_created(sandbox)) == 1
    replies = WriteBack.objects.filter(case=case, public=True)
    assert [reply.note for reply in replies] == ["Your refund is on its way."]
    requested = AuditEvent.objects.get(action="refund.requested")
    assert requested.source == Source.CONSOLE


@pytest.mark.django_db(transaction=True)
def test_a_second_confirm_with_the_same_key_requests_nothing_more(charged, sandbox,
                                                                  specialist, eager_tasks):
    case, charge_id = charged
    client = signed_in(specialist)
    key = confirm_key(preview(client, case, charge_id, amount="100.00").content.decode())

    first = confirm(client, case, charge_id, key, amount="100.00")
    second = confirm(client, case, charge_id, key, amount="100.00")

    assert first.status_code == second.status_code == 302
    assert MoneyAction.objects.count() == 1
    assert len(refunds_created(sandbox)) == 1


def test_a_refund_above_the_limit_says_it_waits_for_finance(charged, sandbox, specialist):
    case, _ = charged
    _, big_charge = new_charge(sandbox, amount=90_000, customer=case.stripe_customer_id)
    client = signed_in(specialist)
    page = preview(client, case, big_charge, amount="600.00").content.decode()
    assert "Needs approval" in page and "Above the auto-approve limit of 500.00 USD" in page

    response = confirm(client, case, big_charge, confirm_key(page), amount="600.00",
                       follow=True)

    assert "It needs approval and waits for finance" in response.content.decode()
    assert MoneyAction.objects.get().state == State.PENDING_APPROVAL
    assert not refunds_created(sandbox)


@pytest.mark.parametrize("amount, currency, message", [
    ("100.01", "usd", "more than the 100.00 USD this charge can still refund"),
    ("0", "usd", "more than zero"),
    ("-5", "usd", "Enter a positive amount"),
    ("12.345", "usd", "USD amounts have 2 decimal places at most"),
    ("twelve", "usd", "is not an amount"),
    ("99999999999", "usd", "not plausible"),
    ("10.00", "eur", "The charge is in USD, not EUR"),
])
def test_a_bad_amount_is_a_clear_message_and_no_stripe_call(charged, sandbox, specialist,
                                                            amount, currency, message):
    case, charge_id = charged
    client = signed_in(specialist)

    for response in (preview(client, case, charge_id, amount=amount, currency=currency),
                     confirm(client, case, charge_id, "4b0d6c8e-8f5e-4c49-9d7e-1d2f3a4b5c6d",
                             amount=amount, currency=currency)):
        assert response.status_code == 400
        assert message in response.content.decode()
    assert not refunds_created(sandbox) and not MoneyAction.objects.exists()


def test_a_missing_note_or_reason_is_marked_on_the_form(charged, specialist):
    case, charge_id = charged

    response = preview(signed_in(specialist), case, charge_id, note="", reason_code="")

    page = response.content.decode()
    assert response.status_code == 400
    assert "Write a note saying why." in page and "Choose an internal reason." in page


def test_stripe_being_down_is_a_message_on_the_case(charged, sandbox, specialist):
    case, charge_id = charged
    sandbox.inject("/v1/charges", 500, count=20)

    response = signed_in(specialist).get(refund_url(case, charge_id), follow=True)

    assert "Stripe is not answering right now" in response.content.decode()


@pytest.mark.parametrize("role", ["tier2", "finance", "admin_user"])
def test_only_specialists_reach_the_refund_pages(charged, request, role):
    case, charge_id = charged
    client = signed_in(request.getfixturevalue(role))

    assert client.get(refund_url(case, charge_id)).status_code == 403
    assert preview(client, case, charge_id).status_code == 403
