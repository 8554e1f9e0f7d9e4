"""A ticket's life as Zendesk leads it, through the gateway (zenpy) against the sandbox:
closed tickets refuse updates, merges run as jobs, follow-ups name their closed ticket, a
requester's reply reopens a solved ticket, and search finds users by email."""

import time

import pytest

from billing_console.integrations.zendesk import gateway
from billing_console.integrations.zendesk.errors import (
    ZendeskClosedTicket,
    ZendeskPermanentError,
)

CLOSED_REFUSAL = {
    "error": "RecordInvalid",
    "description": "Record validation errors",
    "details": {"status": [{"description": "Status: closed prevents ticket update"}]},
}


def closed_ticket(sandbox, **fields):
    ticket = sandbox.create_ticket(**fields)
    status, _ = sandbox.call("PUT", f"/api/v2/tickets/{ticket['id']}.json",
                             {"ticket": {"status": "closed"}})
    assert status == 200
    return ticket


def comments(sandbox, ticket_id):
    return sandbox.call("GET", f"/api/v2/tickets/{ticket_id}/comments.json")[1]["comments"]


def finished(job, timeout=5):
    deadline = time.monotonic() + timeout
    while not job.is_finished:
        assert time.monotonic() < deadline, f"job {job.id} still {job.status}"
        time.sleep(0.02)
        job = gateway.get_job_status(job.id)
    return job


# --- closed tickets -------------------------------------------------------------------------


def test_a_closed_ticket_refuses_any_update_with_zendesks_422(sandbox):
    ticket = closed_ticket(sandbox)
    path = f"/api/v2/tickets/{ticket['id']}.json"

    status, body = sandbox.call("PUT", path, {"ticket": {"comment": {"body": "One more"}}})
    assert (status, body) == (422, CLOSED_REFUSAL)
    status, body = sandbox.call("PUT", path, {"ticket": {"status": "open"}})
    assert (status, body) == (422, CLOSED_REFUSAL)

    assert sandbox.call("GET", path)[1]["ticket"]["status"] == "closed"
    assert len(comments(sandbox, ticket["id"])) == 1


def test_the_gateway_tells_a_closed_ticket_from_other_refusals(sandbox):
    ticket = closed_ticket(sandbox)
    other = sandbox.create_ticket()

    with pytest.raises(ZendeskClosedTicket) as refused:
        gateway.add_internal_note(ticket["id"], "Refund issued.")
    assert refused.value.status == 422
    with pytest.raises(ZendeskClosedTicket):
        gateway.update_ticket(ticket["id"], add_tags=["billing_console_resolved"])
    with pytest.raises(ZendeskPermanentError) as invalid:
        gateway.update_ticket(other["id"], status="archived")
    assert not isinstance(invalid.value, ZendeskClosedTicket)


# --- merging --------------------------------------------------------------------------------


def test_a_merge_is_a_job_that_closes_the_sources_with_a_note_and_tag(sandbox):
    target = sandbox.create_ticket(subject="Charged twice in May")
    first, second = sandbox.create_ticket(), sandbox.create_ticket(tags=["refund_request"])

    job = gateway.merge_tickets(target["id"], [first["id"], second["id"]],
                                target_comment="Merged the customer's duplicates here.",
                                source_comment=f"Closed and merged into request #{target['id']}.")
    assert job.status == "queued"
    assert (job.total, job.progress) == (2, 0)
    job = finished(job)
    assert (job.status, job.progress) == ("completed", 2)

    for source in (first, second):
        merged = gateway.get_ticket(source["id"])
        assert merged.ticket.status == "closed"
        assert "closed_by_merge" in merged.ticket.tags
        assert merged.ticket.is_merged
        note = merged.comments[-1]
        assert (note.body, note.public) == (
            f"Closed and merged into request #{target['id']}.", False)
    assert "refund_request" in gateway.get_ticket(second["id"]).ticket.tags
    into = gateway.get_ticket(target["id"])
    assert into.ticket.status != "closed"
    assert (into.comments[-1].body, into.comments[-1].public) == (
        "Merged the customer's duplicates here.", False)


def test_a_merge_without_comments_leaves_zendesks_default_notes_naming_the_target(sandbox):
    target = sandbox.create_ticket(subject="Charged twice")
    source = sandbox.create_ticket(subject="Double charge")

    finished(gateway.merge_tickets(target["id"], [source["id"]]))

    [_, note] = comments(sandbox, source["id"])
    assert note["public"] is False
    assert f"merged into request #{target['id']}" in note["body"]
    assert f"Request #{source['id']}" in comments(sandbox, target["id"])[-1]["body"]


def test_a_merge_can_make_its_comments_public(sandbox):
    target, source = sandbox.create_ticket(), sandbox.create_ticket()

    finished(gateway.merge_tickets(target["id"], [source["id"]], target_comment="Merged.",
                                   target_comment_is_public=True))

    assert comments(sandbox, target["id"])[-1]["public"] is True
    assert comments(sandbox, source["id"])[-1]["public"] is False


def test_a_merge_zendesk_refuses_fails_its_job_and_changes_nothing(sandbox):
    target, open_source = sandbox.create_ticket(), sandbox.create_ticket()
    closed_source = closed_ticket(sandbox)

    job = finished(gateway.merge_tickets(target["id"], [open_source["id"], closed_source["id"]]))

    assert job.status == "failed"
    assert "closed prevents ticket update" in job.message
    assert gateway.get_ticket(open_source["id"]).ticket.status != "closed"
    assert len(comments(sandbox, target["id"])) == 1


def test_a_merge_into_a_missing_ticket_is_not_found_and_bad_ids_are_refused(sandbox):
    source = sandbox.create_ticket()

    status, _ = sandbox.call("POST", "/api/v2/tickets/99999/merge", {"ids": [source["id"]]})
    assert status == 404
    status, _ = sandbox.call("POST", f"/api/v2/tickets/{source['id']}/merge", {"ids": []})
    assert status == 400
    status, _ = sandbox.call("GET", "/api/v2/job_statuses/nosuchjob.json")
    assert status == 404


# --- follow-ups -----------------------------------------------------------------------------


def test_a_follow_up_of_a_closed_ticket_names_it_in_via(sandbox):
    original = closed_ticket(sandbox, subject="Refund for May", tags=["billing_escalation"])

    status, body = sandbox.call("POST", "/api/v2/tickets.json", {"ticket": {
        "via_followup_source_id": original["id"],
        "comment": {"body": "The refund never arrived."}}})

    assert status == 201
    follow_up = body["ticket"]
    assert follow_up["via"]["source"]["rel"] == "follow_up"
    assert follow_up["via"]["source"]["from"]["ticket_id"] == original["id"]
    assert follow_up["via"]["source"]["from"]["subject"] == "Refund for May"
    assert follow_up["tags"] == ["billing_escalation"]  # inherited
    reread = sandbox.call("GET", f"/api/v2/tickets/{original['id']}.json")[1]["ticket"]
    assert reread["followup_ids"] == [follow_up["id"]]


def test_the_gateway_makes_a_follow_up_and_reads_its_origin(sandbox):
    original = closed_ticket(sandbox, tags=["billing_escalation"])

    follow_up = gateway.create_follow_up_ticket(
        original["id"], body="Refund issued after the ticket closed.",
        requester_id=original["requester_id"], add_tags=["billing_console_follow_up"])

    assert follow_up.follow_up_of == original["id"]
    assert follow_up.requester_id == original["requester_id"]
    assert set(follow_up.tags) == {"billing_escalation", "billing_console_follow_up"}
    detail = gateway.get_ticket(follow_up.id)
    assert detail.ticket.follow_up_of == original["id"]
    assert [(c.body, c.public) for c in detail.comments] == [
        ("Refund issued after the ticket closed.", False)]
    exported = gateway.export_tickets_page(start_time=0)
    assert {t.id: t.follow_up_of for t in exported.tickets} == {
        original["id"]: None, follow_up.id: original["id"]}


def test_a_follow_up_of_a_ticket_that_is_not_closed_is_a_plain_ticket(sandbox):
    open_ticket = sandbox.create_ticket()

    follow_up = sandbox.create_ticket(via_followup_source_id=open_ticket["id"])

    assert follow_up["via"]["source"]["rel"] is None
    status, _ = sandbox.call("POST", "/api/v2/tickets.json", {"ticket": {
        "via_followup_source_id": 99999, "comment": {"body": "Hello"}}})
    assert status == 422


# --- a requester's reply --------------------------------------------------------------------


@pytest.mark.parametrize("status", ["solved", "pending"])
def test_a_requesters_public_reply_reopens_a_solved_or_pending_ticket(sandbox, status):
    ticket = sandbox.create_ticket(status=status)

    gateway.add_public_reply(ticket["id"], "Still charged twice!",
                             author_id=ticket["requester_id"])

    reopened = gateway.get_ticket(ticket["id"]).ticket
    assert reopened.status == "open"
    audits = sandbox.call("GET", f"/api/v2/tickets/{ticket['id']}/audits.json")[1]["audits"]
    assert {"type": "Change", "field_name": "status", "value": "open",
            "previous_value": status}.items() <= audits[-1]["events"][-1].items()


def test_an_agents_reply_or_a_private_note_leaves_a_solved_ticket_solved(sandbox):
    ticket = sandbox.create_ticket(status="solved")

    gateway.add_public_reply(ticket["id"], "Glad it is sorted.")
    gateway.add_internal_note(ticket["id"], "Customer called.", author_id=ticket["requester_id"])

    assert gateway.get_ticket(ticket["id"]).ticket.status == "solved"


# --- search ---------------------------------------------------------------------------------


def test_search_finds_a_user_by_email(sandbox):
    ticket = sandbox.create_ticket(requester={"name": "Ava Okafor", "email": "ava@example.com"})
    sandbox.create_ticket(requester={"name": "Ava Other", "email": "ava.other@example.com"})

    # Through zenpy's own search, as `search(type="user", email=...)` builds the query.
    found = list(gateway._client().search(type="user", email="Ava@Example.com"))

    assert [(u.id, u.email) for u in found] == [(ticket["requester_id"], "ava@example.com")]
    query = "type%3Auser%20email%3Anobody%40example.com"
    status, body = sandbox.call("GET", f"/api/v2/search.json?query={query}")
    assert (status, body["results"], body["count"]) == (200, [], 0)
