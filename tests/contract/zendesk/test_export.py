"""The incremental ticket export through the gateway: paging, cursors, deleted tickets, and
a rate limit in the middle of a run."""

import time
from urllib.parse import quote

import pytest

from billing_console.integrations.zendesk import gateway
from billing_console.integrations.zendesk.errors import (
    ZendeskPermanentError,
    ZendeskTransientError,
)

AN_HOUR_AGO = int(time.time()) - 3600


def export_everything(*, cursor=None, per_page=2, store):
    """A sync run as the console does it: store each page, then save its cursor."""
    page = None
    while page is None or not page.end_of_stream:
        if cursor is None:
            page = gateway.export_tickets_page(start_time=AN_HOUR_AGO, per_page=per_page)
        else:
            page = gateway.export_tickets_page(cursor=cursor, per_page=per_page)
        store["tickets"].extend(page.tickets)
        store["cursor"] = cursor = page.after_cursor
    return store


def new_store():
    return {"tickets": [], "cursor": None}


def test_it_reads_every_ticket_page_by_page_with_their_users(sandbox):
    created = [sandbox.create_ticket(requester={"name": f"Customer {n}",
                                                "email": f"customer{n}@example.com"})
               for n in range(5)]

    first = gateway.export_tickets_page(start_time=AN_HOUR_AGO, per_page=2)
    store = export_everything(cursor=first.after_cursor, store=new_store())

    assert [t.id for t in first.tickets + tuple(store["tickets"])] == [t["id"] for t in created]
    assert {u.email for u in first.users} >= {"customer0@example.com", "customer1@example.com"}
    assert not first.end_of_stream


def test_it_sends_the_cursor_url_encoded_and_keeps_per_page(sandbox):
    for _ in range(3):
        sandbox.create_ticket()
    first = gateway.export_tickets_page(start_time=AN_HOUR_AGO, per_page=2)
    assert quote(first.after_cursor, safe="") != first.after_cursor  # base64 needs encoding

    gateway.export_tickets_page(cursor=first.after_cursor, per_page=2)

    last_request = sandbox.requests_received()[-1]
    assert f"cursor={quote(first.after_cursor, safe='')}" in last_request
    assert "per_page=2" in last_request
    assert "include=users" in last_request


def test_a_rate_limit_mid_export_resumes_from_the_saved_cursor_without_loss_or_doubles(sandbox):
    created_ids = [sandbox.create_ticket()["id"] for _ in range(7)]
    store = new_store()
    first = gateway.export_tickets_page(start_time=AN_HOUR_AGO, per_page=2)
    store["tickets"].extend(first.tickets)
    store["cursor"] = first.after_cursor
    sandbox.inject_fault(status=429, retry_after=7)

    with pytest.raises(ZendeskTransientError) as limited:
        export_everything(cursor=store["cursor"], store=store)
    assert limited.value.retry_after == 7

    export_everything(cursor=store["cursor"], store=store)
    assert [t.id for t in store["tickets"]] == created_ids


def test_a_ticket_changed_after_it_was_exported_comes_again_when_polling(sandbox):
    ticket = sandbox.create_ticket()
    store = export_everything(store=new_store())
    assert store["tickets"][-1].status == "new"

    gateway.update_ticket(ticket["id"], status="open")
    export_everything(cursor=store["cursor"], store=store)

    assert [(t.id, t.status) for t in store["tickets"]] == [(ticket["id"], "new"),
                                                            (ticket["id"], "open")]


def test_a_deleted_ticket_appears_in_the_export_as_deleted(sandbox):
    kept, deleted = sandbox.create_ticket(), sandbox.create_ticket()
    sandbox.call("DELETE", f"/api/v2/tickets/{deleted['id']}.json")

    store = export_everything(store=new_store())

    assert [(t.id, t.is_deleted) for t in store["tickets"]] == [(kept["id"], False),
                                                                (deleted["id"], True)]


def test_an_empty_account_ends_the_stream_at_once(sandbox):
    page = gateway.export_tickets_page(start_time=AN_HOUR_AGO)

    assert page.tickets == ()
    assert page.end_of_stream
    assert page.after_cursor


def test_a_start_time_within_the_last_minute_is_refused(sandbox):
    with pytest.raises(ZendeskPermanentError) as refused:
        gateway.export_tickets_page(start_time=int(time.time()))

    assert refused.value.status == 400


def test_it_needs_exactly_one_of_cursor_and_start_time():
    with pytest.raises(ValueError):
        gateway.export_tickets_page()
    with pytest.raises(ValueError):
        gateway.export_tickets_page(cursor="abc", start_time=0)
