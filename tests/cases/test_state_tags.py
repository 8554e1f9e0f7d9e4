"""The Zendesk ticket carries one of the console's state tags, its case's state now: each
write-back of a state adds its tag and removes the others, and every other tag of the
ticket stays, on the ticket and on a follow-up that carries a note its closed ticket would
not take."""

import pytest

from cases.models import ResolutionCode, State, WriteBack
from cases.services import case_resolve, case_transition
from tests.cases.factories import make_case

OTHER_TAGS = {"vip", "billing_escalation"}


@pytest.fixture
def ticket_case(db, zendesk_sandbox):
    ticket = zendesk_sandbox.create_ticket(subject="Charged twice", tags=sorted(OTHER_TAGS))
    return make_case(zendesk_ticket_id=ticket["id"], requester_zendesk_id=ticket["requester_id"],
                     subject="Charged twice")


def _tags(sandbox, ticket_id):
    _, body = sandbox.call("GET", f"/api/v2/tickets/{ticket_id}.json")
    return set(body["ticket"]["tags"])


def test_the_ticket_ends_with_its_cases_state_tag_alone_and_its_other_tags(
        ticket_case, zendesk_sandbox, specialist, eager_tasks,
        django_capture_on_commit_callbacks):
    ticket_id = ticket_case.zendesk_ticket_id
    seen = []
    for state in (State.TRIAGED, State.WAITING_FINANCE, State.IN_PROGRESS):
        with django_capture_on_commit_callbacks(execute=True):
            case_transition(case=ticket_case, to_state=state, actor=specialist)
        seen.append(_tags(zendesk_sandbox, ticket_id))
    with django_capture_on_commit_callbacks(execute=True):
        case_resolve(case=ticket_case, code=ResolutionCode.EXPLAINED,
                     summary="Explained the proration.", actor=specialist)

    assert seen == [OTHER_TAGS | {f"billing_console_{state}"}
                    for state in ("triaged", "waiting_finance", "in_progress")]
    assert _tags(zendesk_sandbox, ticket_id) == OTHER_TAGS | {"billing_console_resolved"}
    assert set(WriteBack.objects.values_list("status", flat=True)) == {WriteBack.Status.SENT}


def test_a_follow_up_of_a_closed_ticket_drops_its_old_state_tag(
        ticket_case, zendesk_sandbox, specialist, eager_tasks,
        django_capture_on_commit_callbacks):
    ticket_id = ticket_case.zendesk_ticket_id
    zendesk_sandbox.call("PUT", f"/api/v2/tickets/{ticket_id}.json", {"ticket": {
        "additional_tags": ["billing_console_in_progress"], "status": "closed"}})
    ticket_case.state = State.IN_PROGRESS
    ticket_case.save(update_fields=["state"])

    with django_capture_on_commit_callbacks(execute=True):
        case_transition(case=ticket_case, to_state=State.WAITING_CUSTOMER, actor=specialist)

    follow_up_id = WriteBack.objects.get().follow_up_ticket_id
    assert _tags(zendesk_sandbox, follow_up_id) == OTHER_TAGS | {
        "billing_console_waiting_customer", "billing_console_follow_up"}
