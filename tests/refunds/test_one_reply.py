"""One public reply per case, whichever form it was written on: a reply written with a
refund and another written when resolving reach the Zendesk ticket once, against the Stripe
and Zendesk sandboxes, with the refund going through the console's own submission."""

import json

import pytest

from cases.models import ResolutionCode, State, StripeLink, WriteBack
from cases.tasks import send_write_back
from money_actions.executors import Outcome
from money_actions.models import MoneyAction
from money_actions.models import State as ActionState
from money_actions.services import money_action_begin_submission, money_action_record_outcome
from refunds.kinds import REFUND
from tests.cases.factories import make_case
from tests.conftest import api_client
from tests.refunds.conftest import confirm, confirm_key, new_charge, preview, signed_in

pytestmark = [pytest.mark.django_db(transaction=True),
              pytest.mark.usefixtures("reply_templates")]

WITH_THE_REFUND = "Your refund of 25.00 USD is on its way."
WHEN_RESOLVING = "We have looked again: all is settled."


@pytest.fixture
def ticketed(sandbox, zendesk_sandbox):
    """A case on a real sandbox ticket, its customer with a charge of 100.00 USD."""
    customer, charge_id = new_charge(sandbox)
    ticket = zendesk_sandbox.create_ticket()
    case = make_case(zendesk_ticket_id=ticket["id"], stripe_customer_id=customer,
                     stripe_link=StripeLink.VERIFIED)
    return case, charge_id


def public_comments(zendesk_sandbox, case):
    status, body = zendesk_sandbox.call(
        "GET", f"/api/v2/tickets/{case.zendesk_ticket_id}/comments.json")
    assert status == 200
    # The first comment is the requester's, who opened the ticket.
    return [comment["body"] for comment in body["comments"][1:] if comment["public"]]


def resolve(client, case, reply):
    return client.post(f"/cases/{case.pk}/resolve/", {
        "code": ResolutionCode.REFUNDED, "summary": "Refunded the duplicate.",
        "public_reply": reply})


def request_refund(client, case, charge_id):
    key = confirm_key(preview(client, case, charge_id).content.decode())
    response = confirm(client, case, charge_id, key, customer_reply=WITH_THE_REFUND)
    assert response.status_code == 302
    return MoneyAction.objects.get(case=case)


def send_write_backs():
    """What a worker does with the write-backs queued while none ran."""
    for write_back in WriteBack.objects.exclude(status=WriteBack.Status.SENT).order_by("pk"):
        send_write_back.apply(args=[write_back.pk])


def test_a_reply_sent_with_the_refund_is_the_only_one_the_ticket_gets(
        ticketed, zendesk_sandbox, specialist, eager_tasks):
    case, charge_id = ticketed
    client = signed_in(specialist)
    assert request_refund(client, case, charge_id).state == ActionState.SUCCEEDED

    page = resolve(client, case, WHEN_RESOLVING)
    api = api_client(specialist).post(
        f"/api/v1/cases/{case.pk}/resolve/", json.dumps({
            "resolution_code": ResolutionCode.REFUNDED, "summary": "Refunded the duplicate.",
            "reply_template": "Refund issued"}), content_type="application/json")

    assert page.status_code == 400
    assert "The customer already has the reply sent with the refund of 25.00 USD. Leave " \
           "the public reply empty, or write to them in Zendesk." in page.content.decode()
    assert (api.status_code, api.json()["code"]) == (409, "reply_already_sent")
    # The form showed the refund's reply while the refund was on its way: sent as it was,
    # it is the one the customer has.
    assert resolve(client, case, WITH_THE_REFUND).status_code == 302
    assert case.__class__.objects.get(pk=case.pk).state == State.RESOLVED
    assert public_comments(zendesk_sandbox, case) == [WITH_THE_REFUND]


def test_a_reply_written_when_resolving_replaces_the_one_the_refund_holds(
        ticketed, sandbox, zendesk_sandbox, specialist):
    """Stripe asks for an action on the refund: the case can be resolved meanwhile, and its
    reply goes with the refund, once, when Stripe has done it."""
    case, charge_id = ticketed
    client = signed_in(specialist)
    action = request_refund(client, case, charge_id)
    money_action_begin_submission(action_id=action.pk)
    money_action_record_outcome(action_id=action.pk,
                                outcome=Outcome(ActionState.REQUIRES_ACTION))

    page = client.get(f"/cases/{case.pk}/").content.decode()
    assert WITH_THE_REFUND in page and 'id="reply-held"' in page
    assert resolve(client, case, WHEN_RESOLVING).status_code == 302
    send_write_backs()
    assert public_comments(zendesk_sandbox, case) == []

    outcome = REFUND.executor.submit(MoneyAction.objects.get(pk=action.pk))
    money_action_record_outcome(action_id=action.pk, outcome=outcome)
    send_write_backs()

    assert MoneyAction.objects.get(pk=action.pk).state == ActionState.SUCCEEDED
    assert public_comments(zendesk_sandbox, case) == [WHEN_RESOLVING]


def test_a_second_refund_starts_without_a_reply_and_cannot_send_a_second(
        ticketed, zendesk_sandbox, specialist, eager_tasks):
    case, charge_id = ticketed
    client = signed_in(specialist)
    assert request_refund(client, case, charge_id).state == ActionState.SUCCEEDED

    form = client.get(f"/refunds/new/{case.pk}/{charge_id}/").content.decode()
    key = confirm_key(preview(client, case, charge_id, amount="10.00").content.decode())
    second = confirm(client, case, charge_id, key, amount="10.00",
                     customer_reply="Your second refund is on its way.")
    send_write_backs()

    assert "Your refund of" not in form.split('id="id_customer_reply"')[1].split("</textarea>")[0]
    assert second.status_code != 302
    assert "The customer already has the reply sent with the refund of 25.00 USD." in \
        second.content.decode()
    assert public_comments(zendesk_sandbox, case) == [WITH_THE_REFUND]


def test_resolving_reads_every_money_action_for_a_reply_already_sent(
        ticketed, zendesk_sandbox, specialist, eager_tasks):
    """A refund with a reply, then three without: the resolution still finds the reply."""
    case, charge_id = ticketed
    client = signed_in(specialist)
    request_refund(client, case, charge_id)
    for _ in range(3):
        key = confirm_key(preview(client, case, charge_id, amount="5.00").content.decode())
        assert confirm(client, case, charge_id, key, amount="5.00").status_code == 302

    api = api_client(specialist).post(
        f"/api/v1/cases/{case.pk}/resolve/", json.dumps({
            "resolution_code": ResolutionCode.REFUNDED, "summary": "Refunded.",
            "reply_template": "Refund issued"}), content_type="application/json")
    send_write_backs()

    assert (api.status_code, api.json()["code"]) == (409, "reply_already_sent")
    assert MoneyAction.objects.filter(case=case, state=ActionState.SUCCEEDED).count() == 4
    assert public_comments(zendesk_sandbox, case) == [WITH_THE_REFUND]
