"""What the console drafts from the money moved on a case: the reply on the refund form,
filled in with the facts (first name, amount, charge, card, arrival), the reply templates
for a refund still on its way, and the resolution form after a refund."""

import html

import pytest

from billing_console.names import stripe_name
from cases.models import ReplyTemplate
from cases.replies import MoneyFacts, first_name, may_see_card
from money_actions.kinds import all_kinds
from refunds.selectors import read_charge
from tests.conftest import api_client
from tests.refunds.conftest import confirm, confirm_key, preview, refund_url, signed_in

pytestmark = pytest.mark.usefixtures("reply_templates")


def charge_named(charge_id):
    return stripe_name(read_charge(charge_id))


def page_text(response):
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def test_the_refund_form_drafts_the_reply_from_the_charge(charged, specialist):
    case, charge_id = charged

    page = page_text(signed_in(specialist).get(refund_url(case, charge_id)))

    assert (f"Hi Ava,\n\nYour refund of 100.00 USD for {charge_named(charge_id)} is on its "
            "way to your card ending 4242. It takes 5–10 business days to appear") in page
    assert "selected>Refund issued</option>" in page


@pytest.mark.parametrize(("name", "greeted"), [
    ("Ava Okafor", "Ava"), ("Ava", "Ava"), ("", "there"), ("  ", "there"),
    ("ava.okafor@example.com", "there")])
def test_a_reply_greets_the_requester_by_their_first_name(name, greeted):
    assert first_name(name) == greeted


def test_tier2_and_finance_never_read_the_cards_last_four(charged, specialist, tier2,
                                                           finance):
    case, _ = charged
    refund = MoneyFacts(resolution_code="refunded", amount=2_500, currency="usd",
                        target_name="the charge of 100.00 USD on 1 Dec 2026",
                        target_noun="charge", card_last4="4242")
    template = ReplyTemplate.objects.get(name="Refund issued")

    def reply_for(user):
        return template.render_for(case, refund, sees_card=may_see_card(user))

    assert "your card ending 4242" in reply_for(specialist)
    for user in (tier2, finance):
        assert "4242" not in reply_for(user) and "to your card." in reply_for(user)


def test_a_refund_waiting_for_finance_is_on_its_way_in_the_reply(pending, specialist):
    response = api_client(specialist).get(f"/api/v1/cases/{pending.case_id}/reply-templates/")

    bodies = {template["name"]: template["body"] for template in response.json()["results"]}
    reply = bodies["Refund issued"]
    assert (f"Your refund of 40.00 USD for {charge_named(pending.stripe_target_id)} is on its "
            "way to your card.") in reply
    assert "We have refunded" not in reply


@pytest.mark.django_db(transaction=True)
def test_after_a_refund_the_resolution_form_is_drafted_from_it(charged, sandbox, specialist,
                                                               eager_tasks):
    case, charge_id = charged
    client = signed_in(specialist)
    key = confirm_key(preview(client, case, charge_id).content.decode())
    assert confirm(client, case, charge_id, key).status_code == 302

    page = page_text(client.get(f"/cases/{case.pk}/"))

    assert '<option value="refunded" selected>Refunded</option>' in page
    assert (f"Refund of 25.00 USD on {charge_named(charge_id)}. Customer was double billed "
            "for March.</textarea>") in page
    assert "selected>Refund issued</option>" in page
    assert "Hi Ava,\n\nYour refund of 25.00 USD for" in page


@pytest.mark.django_db(transaction=True)
def test_a_reply_sent_with_the_refund_leaves_the_resolution_reply_empty(
        charged, sandbox, specialist, eager_tasks):
    case, charge_id = charged
    client = signed_in(specialist)
    key = confirm_key(preview(client, case, charge_id).content.decode())
    confirm(client, case, charge_id, key, customer_reply="Your refund is on its way.")

    page = page_text(client.get(f"/cases/{case.pk}/"))

    assert "The customer already has the reply sent with the refund of 25.00 USD." in page
    assert '<option value="refunded" selected>Refunded</option>' in page
    assert 'name="public_reply" cols="40" rows="6" maxlength="5000" id="id_public_reply">\n' \
           "</textarea>" in page
    assert "selected>Refund issued</option>" not in page


def test_each_kind_resolves_a_case_with_what_it_did():
    codes = {kind.slug: kind.resolution_code for kind in all_kinds()}

    assert codes["refund"] == "refunded"
    assert codes["credit_memo"] == codes["balance_credit"] == "credited"
    assert codes["invoice_void"] == codes["invoice_edit"] == "invoice_adjusted"
    assert codes["subscription_change"] == codes["subscription_cancel"] == \
        codes["subscription_cancel_refund"] == "subscription_changed"
    assert codes["credit_memo_void"] == codes["balance_debit"] == ""



def test_a_partial_refund_warns_of_a_reply_naming_the_whole_remainder(charged, specialist):
    case, charge_id = charged
    client = signed_in(specialist)
    drafted = "Hi Ava,\n\nYour refund of 100.00 USD is on its way."

    partial = page_text(preview(client, case, charge_id, customer_reply=drafted))
    whole = page_text(preview(client, case, charge_id, amount="100.00",
                              customer_reply=drafted))

    assert ("The reply to the customer says 100.00 USD, but this refund is 25.00 USD: edit "
            "the reply before you confirm.") in partial
    assert "The reply to the customer says" not in whole
