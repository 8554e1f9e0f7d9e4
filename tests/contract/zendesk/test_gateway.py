"""The gateway, through real zenpy, against the sandbox: every read and write the console
makes, and how failures come out."""

import os
import time

import pytest

from billing_console.integrations.zendesk import gateway
from billing_console.integrations.zendesk.errors import (
    ZendeskNotFound,
    ZendeskPermanentError,
    ZendeskTransientError,
)
from billing_console.integrations.zendesk.sandbox.resources import GROUPS, TICKET_FIELD_IDS

STRIPE_FIELD = TICKET_FIELD_IDS[0]
ESCALATIONS_GROUP = next(g["id"] for g in GROUPS if g["name"] == "Billing Escalations")


def upload(sandbox, name):
    status, body = sandbox.call("POST", f"/api/v2/uploads.json?filename={name}", {"x": 1})
    assert status == 201
    return body["upload"]["token"]


def test_it_reads_a_ticket_with_its_requester_and_every_comment(sandbox):
    token = upload(sandbox, "statement.pdf")
    ticket = sandbox.create_ticket(
        subject="Charged twice", tags=["billing_escalation"],
        comment={"body": "See my statement.", "uploads": [token]},
    )
    gateway.add_internal_note(ticket["id"], "Two charges a minute apart.")

    detail = gateway.get_ticket(ticket["id"])

    assert detail.ticket.subject == "Charged twice"
    assert detail.ticket.tags == ("billing_escalation",)
    assert detail.requester.email == "ava@example.com"
    first, note = detail.comments
    assert (first.body, first.public, first.author_id) == ("See my statement.", True,
                                                           ticket["submitter_id"])
    assert first.attachments[0].file_name == "statement.pdf"
    assert first.attachments[0].size > 0
    assert (note.body, note.public) == ("Two charges a minute apart.", False)


def test_it_pages_through_long_comment_threads(sandbox):
    ticket = sandbox.create_ticket()
    for number in range(105):
        sandbox.call("PUT", f"/api/v2/tickets/{ticket['id']}.json",
                     {"ticket": {"comment": {"body": f"message {number}"}}})

    comments = gateway.get_ticket(ticket["id"]).comments

    assert len(comments) == 106
    assert comments[-1].body == "message 104"


def test_a_public_reply_is_public_and_an_internal_note_is_not(sandbox):
    ticket = sandbox.create_ticket()

    gateway.add_public_reply(ticket["id"], "We have refunded the duplicate charge.")
    gateway.add_internal_note(ticket["id"], "Refund re_123 issued.",
                              author_id=ticket["requester_id"])

    _, reply, note = gateway.get_ticket(ticket["id"]).comments
    assert reply.public is True
    assert note.public is False
    assert note.author_id == ticket["requester_id"]


def test_it_updates_status_tags_custom_fields_assignee_and_group(sandbox):
    ticket = sandbox.create_ticket(tags=["refund_request", "vip"])
    _, agent = sandbox.call("POST", "/api/v2/users.json",
                            {"user": {"name": "Noor", "email": "noor@example.com",
                                      "role": "agent"}})

    updated = gateway.update_ticket(
        ticket["id"], status="pending", add_tags=["billing_escalation"], remove_tags=["vip"],
        custom_fields={STRIPE_FIELD: "cus_123"}, assignee_id=agent["user"]["id"],
        group_id=ESCALATIONS_GROUP,
    )

    assert updated.status == "pending"
    assert updated.tags == ("refund_request", "billing_escalation")
    assert updated.custom_field(STRIPE_FIELD) == "cus_123"
    assert (updated.assignee_id, updated.group_id) == (agent["user"]["id"], ESCALATIONS_GROUP)
    assert gateway.get_ticket(ticket["id"]).ticket == updated


def test_an_update_changes_only_what_it_names(sandbox):
    ticket = sandbox.create_ticket(tags=["refund_request"], assignee_id=None)
    sandbox.call("PUT", f"/api/v2/tickets/{ticket['id']}.json",
                 {"ticket": {"additional_tags": ["set_by_someone_else"]}})

    updated = gateway.update_ticket(ticket["id"], status="open")

    assert updated.tags == ("refund_request", "set_by_someone_else")


def test_it_unassigns_when_asked_to(sandbox):
    ticket = sandbox.create_ticket()
    agent_id = ticket["submitter_id"]
    gateway.update_ticket(ticket["id"], assignee_id=agent_id)

    assert gateway.update_ticket(ticket["id"], assignee_id=None).assignee_id is None


def test_every_update_is_recorded_as_an_audit(sandbox):
    ticket = sandbox.create_ticket()

    gateway.update_ticket(ticket["id"], status="open")
    gateway.add_internal_note(ticket["id"], "Checked Stripe.")

    _, body = sandbox.call("GET", f"/api/v2/tickets/{ticket['id']}/audits.json")
    create, status_change, note = body["audits"]
    assert create["events"][0]["type"] == "Comment"
    assert status_change["events"] == [{
        "id": status_change["events"][0]["id"], "type": "Change", "field_name": "status",
        "value": "open", "previous_value": "new",
    }]
    assert note["events"][0]["public"] is False


def test_search_finds_unsolved_escalated_tickets_only(sandbox):
    wanted = sandbox.create_ticket(tags=["billing_escalation"])
    sandbox.create_ticket(tags=["billing_escalation"], status="solved")
    sandbox.create_ticket(tags=["refund_request"])

    found = gateway.search_escalated_tickets()

    assert [t.id for t in found] == [wanted["id"]]


def test_search_reads_every_page_up_to_zendesks_limit(sandbox):
    for _ in range(120):
        sandbox.create_ticket(tags=["billing_escalation"])

    assert len(gateway.search_escalated_tickets()) == 120


def test_it_finds_a_user_by_id_or_by_email(sandbox):
    ticket = sandbox.create_ticket(requester={"name": "Ben Lindqvist",
                                              "email": "ben.lindqvist@example.com"})

    by_id = gateway.get_user(ticket["requester_id"])
    by_email = gateway.find_user_by_email("Ben.Lindqvist@example.com")

    assert by_id == by_email
    assert (by_id.name, by_id.role) == ("Ben Lindqvist", "end-user")
    assert gateway.find_user_by_email("nobody@example.com") is None


def test_it_finds_the_stripe_customer_field_by_its_title(sandbox):
    assert gateway.find_ticket_field_id("Stripe customer id") == STRIPE_FIELD
    assert gateway.find_ticket_field_id("No such field") is None


def test_a_missing_ticket_or_user_is_not_found(sandbox):
    with pytest.raises(ZendeskNotFound):
        gateway.get_ticket(999999)
    with pytest.raises(ZendeskNotFound):
        gateway.get_user(999999)


@pytest.mark.parametrize("bad_id", [0, -1, None, "7"])
def test_it_refuses_ids_that_would_make_zenpy_list_everything(sandbox, bad_id):
    with pytest.raises(ValueError):
        gateway.get_ticket(bad_id)
    with pytest.raises(ValueError):
        gateway.get_user(bad_id)
    with pytest.raises(ValueError):
        gateway.add_internal_note(bad_id, "note")
    assert sandbox.requests_received() == []


def test_a_deleted_ticket_is_not_found(sandbox):
    ticket = sandbox.create_ticket()
    sandbox.call("DELETE", f"/api/v2/tickets/{ticket['id']}.json")

    with pytest.raises(ZendeskNotFound):
        gateway.get_ticket(ticket["id"])


def test_a_refused_update_is_a_permanent_error_with_zendesks_reason(sandbox):
    ticket = sandbox.create_ticket()

    with pytest.raises(ZendeskPermanentError) as refused:
        gateway.update_ticket(ticket["id"], status="archived")

    assert refused.value.status == 422
    assert "Record validation errors" in str(refused.value)


def test_a_rate_limit_is_a_transient_error_carrying_retry_after_without_sleeping(sandbox):
    ticket = sandbox.create_ticket()
    sandbox.inject_fault(path="/api/v2/tickets/", status=429, retry_after=30)

    started = time.monotonic()
    with pytest.raises(ZendeskTransientError) as limited:
        gateway.get_ticket(ticket["id"])

    assert limited.value.retry_after == 30
    assert time.monotonic() - started < 5


def test_a_server_error_is_transient(sandbox):
    ticket = sandbox.create_ticket()
    sandbox.inject_fault(path="/api/v2/tickets/", status=503)

    with pytest.raises(ZendeskTransientError):
        gateway.add_internal_note(ticket["id"], "hello")


def test_an_unreachable_zendesk_is_transient(sandbox, settings):
    settings.ZENDESK_API_URL = "http://127.0.0.1:9"

    with pytest.raises(ZendeskTransientError):
        gateway.get_user(1)


def test_it_reads_fresh_data_every_time_rather_than_zenpys_cache(sandbox):
    ticket = sandbox.create_ticket()
    requester_id = ticket["requester_id"]
    assert gateway.get_ticket(ticket["id"]).ticket.status == "new"
    gateway.get_user(requester_id)

    sandbox.call("PUT", f"/api/v2/tickets/{ticket['id']}.json", {"ticket": {"status": "open"}})

    assert gateway.get_ticket(ticket["id"]).ticket.status == "open"


def test_it_reaches_the_sandbox_without_changing_process_wide_state(sandbox):
    gateway.search_escalated_tickets()

    assert "ZENPY_FORCE_NETLOC" not in os.environ
    assert "ZENPY_FORCE_SCHEME" not in os.environ


def test_without_credentials_it_refuses_to_call_zendesk(settings):
    settings.ZENDESK_EMAIL = ""
    settings.ZENDESK_API_TOKEN = ""

    with pytest.raises(ZendeskPermanentError, match="not configured"):
        gateway.get_user(1)
