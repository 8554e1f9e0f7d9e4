"""A reply template's placeholders are filled in once, over the template alone: what
Zendesk says of the requester is never itself filled in, whatever the placeholders' order."""

import pytest

from cases.models import ReplyTemplate
from cases.replies import MoneyFacts
from tests.cases.factories import make_case

pytestmark = pytest.mark.django_db

NAME = "<script>x</script>{amount}{card} \"Evil\" O'Hara {first_name} {ticket_id}"
REFUND = MoneyFacts(resolution_code="refunded", amount=49_000, currency="usd",
                    target_name="the charge of 490.00 USD on 1 Dec 2026",
                    target_noun="charge", card_last4="4242")


@pytest.mark.parametrize("body", [
    "Hi {requester_name}, {amount} is on its way to {card}.",
    "{amount} is on its way to {card}, {requester_name}.",
    "{ticket_id}: {first_name}, {requester_name}",
])
def test_placeholders_in_the_requesters_name_are_never_filled_in(body):
    case = make_case(requester_name=NAME)
    template = ReplyTemplate(name="Refund issued", body=body)

    reply = template.render_for(case, REFUND, sees_card=True)

    assert NAME in reply
    assert reply.count("490.00 USD") == body.count("{amount}")
    assert reply.count("4242") == body.count("{card}")
    assert reply.count(str(case.zendesk_ticket_id)) == body.count("{ticket_id}")


def test_a_first_name_that_looks_like_a_placeholder_stays_as_written():
    case = make_case(requester_name="{amount} Okafor")
    template = ReplyTemplate(name="Refund issued", body="Hi {first_name}, {amount} is back.")

    assert template.render_for(case, REFUND) == "Hi {amount}, 490.00 USD is back."
