"""A money action's note: one length limit on the pages and in the API, and the note (with
the reason and any reply to the customer) on the confirm page before money moves."""

import html
import json

import pytest

from billing_console.notes import NOTE_MAX_CHARS
from money_actions.models import MoneyAction
from tests.refunds.conftest import (
    api_client,
    post_refund,
    preview,
    refund_body,
    refunds_created,
    signed_in,
)

TOO_LONG = "n" * (NOTE_MAX_CHARS + 1)


def test_the_api_refuses_a_note_longer_than_the_limit(charged, sandbox, specialist):
    case, charge_id = charged

    response = post_refund(specialist, refund_body(case, charge_id, note=TOO_LONG))

    assert response.status_code == 400
    assert "5000 characters" in response.json()["message"]
    assert not MoneyAction.objects.exists() and not refunds_created(sandbox)


def test_the_api_refuses_a_reply_to_the_customer_longer_than_the_limit(charged, specialist):
    case, charge_id = charged

    response = post_refund(specialist, refund_body(case, charge_id, customer_reply=TOO_LONG))

    assert response.status_code == 400
    assert not MoneyAction.objects.exists()


def test_the_api_takes_a_note_at_the_limit(charged, specialist):
    case, charge_id = charged

    response = post_refund(specialist, refund_body(case, charge_id,
                                                   note="n" * NOTE_MAX_CHARS))

    assert response.status_code == 201, response.json()
    assert len(MoneyAction.objects.get().note) == NOTE_MAX_CHARS


def test_the_page_refuses_a_note_longer_than_the_limit(charged, specialist):
    case, charge_id = charged

    response = preview(signed_in(specialist), case, charge_id, note=TOO_LONG)

    assert response.status_code == 400
    assert "at most 5000 characters" in response.content.decode()


def test_a_decision_note_longer_than_the_limit_is_refused(pending, finance):
    response = api_client(finance).post(f"/api/v1/money-actions/{pending.pk}/reject/",
                                        json.dumps({"note": TOO_LONG}),
                                        content_type="application/json")

    assert response.status_code == 400
    assert MoneyAction.objects.get(pk=pending.pk).state == "pending_approval"


def test_the_confirm_page_shows_the_note_reason_and_reply_before_money_moves(
        charged, sandbox, specialist):
    case, charge_id = charged
    note = "Customer was double billed for March <b>twice</b>.\nSee ticket."

    page = preview(signed_in(specialist), case, charge_id, note=note,
                   customer_reply="Your refund is on its way.").content.decode()

    shown = page[page.index('id="preview-note"'):page.index('id="confirm-form"')]
    assert html.escape("Customer was double billed for March <b>twice</b>.") in shown
    assert "See ticket." in shown
    assert "Courtesy" in shown  # the reason's label, not its code
    assert "Your refund is on its way." in shown
    assert not refunds_created(sandbox) and not MoneyAction.objects.exists()


@pytest.mark.parametrize("field", ["note", "customer_reply"])
def test_the_confirm_page_carries_what_it_shows(charged, specialist, field):
    """What is confirmed is what was shown: the note goes back in the confirm form."""
    case, charge_id = charged

    page = preview(signed_in(specialist), case, charge_id,
                   **{field: "Shown and sent."}).content.decode()

    form = page[page.index('id="confirm-form"'):]
    assert f'name="{field}" value="Shown and sent."' in form
