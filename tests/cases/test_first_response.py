"""The SLA's first response is met by the first public reply the customer gets, once
Zendesk has taken it; nothing else the console does to a case tells the customer anything."""

import pytest

from cases.models import Case, ResolutionCode, State, WriteBack
from cases.services import case_add_note, case_resolve, case_transition
from tests.cases.factories import make_case

REPLY = "Hello Ava, we have refunded the second charge."


@pytest.fixture
def ticket_case(db, zendesk_sandbox):
    ticket = zendesk_sandbox.create_ticket(subject="Charged twice")
    return make_case(zendesk_ticket_id=ticket["id"])


def _responded_at(case):
    return Case.objects.get(pk=case.pk).first_responded_at


def _public_comments(sandbox, ticket_id):
    _, body = sandbox.call("GET", f"/api/v2/tickets/{ticket_id}/comments.json")
    return [comment["body"] for comment in body["comments"] if comment["public"]]


def test_a_state_change_is_no_first_response(ticket_case, specialist, eager_tasks,
                                             django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        case_transition(case=ticket_case, to_state=State.IN_PROGRESS, actor=specialist)
        case_transition(case=ticket_case, to_state=State.WAITING_CUSTOMER, actor=specialist)

    assert WriteBack.objects.filter(case=ticket_case, status=WriteBack.Status.SENT).count() == 2
    assert _responded_at(ticket_case) is None


def test_an_internal_note_is_no_first_response(ticket_case, specialist, eager_tasks,
                                               django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        case_add_note(case=ticket_case, body="Checked Stripe.", actor=specialist,
                      post_to_zendesk=True)

    assert WriteBack.objects.get(case=ticket_case).status == WriteBack.Status.SENT
    assert _responded_at(ticket_case) is None


def test_resolving_without_a_reply_is_no_first_response(ticket_case, specialist, eager_tasks,
                                                        django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        case_resolve(case=ticket_case, code=ResolutionCode.EXPLAINED,
                     summary="Explained the proration.", actor=specialist)

    assert _responded_at(ticket_case) is None


def test_a_public_reply_meets_the_first_response_once_zendesk_takes_it(
        ticket_case, zendesk_sandbox, specialist, eager_tasks,
        django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        case_resolve(case=ticket_case, code=ResolutionCode.REFUNDED,
                     summary="Refunded the duplicate.", public_reply=REPLY, actor=specialist)
    assert _responded_at(ticket_case) is None  # the customer has heard nothing yet

    for callback in callbacks:
        callback()

    reply = WriteBack.objects.get(case=ticket_case, public=True)
    assert reply.status == WriteBack.Status.SENT
    assert _responded_at(ticket_case) == reply.sent_at
    assert _public_comments(zendesk_sandbox, ticket_case.zendesk_ticket_id)[-1] == REPLY


def test_a_later_reply_keeps_the_first_one(ticket_case, specialist, eager_tasks,
                                           django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        case_resolve(case=ticket_case, code=ResolutionCode.REFUNDED,
                     summary="Refunded.", public_reply=REPLY, actor=specialist)
    first = _responded_at(ticket_case)
    with django_capture_on_commit_callbacks(execute=True):
        case_transition(case=ticket_case, to_state=State.IN_PROGRESS, actor=specialist)
        case_resolve(case=ticket_case, code=ResolutionCode.REFUNDED,
                     summary="Refunded again.", public_reply="One more thing.",
                     actor=specialist)

    assert first is not None and _responded_at(ticket_case) == first
