"""The gateway over a real Zendesk export: the recorded responses, replayed verbatim."""

import pytest

from billing_console.integrations.zendesk import gateway

from .reference import reference_dir

RECORDED_PAGES = 101
RECORDED_TICKETS = 1100
RECORDED_DELETED = 515


@pytest.fixture
def zendesk_sandbox_options():
    return {"replay_path": str(reference_dir() / "recorded" / "incremental-tickets-cursor.json")}


def test_the_gateway_reads_all_of_a_real_recorded_export(sandbox):
    pages = [gateway.export_tickets_page(start_time=0)]
    while not pages[-1].end_of_stream:
        pages.append(gateway.export_tickets_page(cursor=pages[-1].after_cursor))

    records = [ticket for page in pages for ticket in page.tickets]
    assert len([page for page in pages if page.tickets]) == RECORDED_PAGES
    assert len(records) == RECORDED_TICKETS
    assert sum(ticket.is_deleted for ticket in records) == RECORDED_DELETED


def test_the_replayed_next_page_url_points_at_the_sandbox(sandbox):
    status, body = sandbox.call("GET", "/api/v2/incremental/tickets/cursor.json?start_time=0")

    assert status == 200
    assert body["after_url"].startswith(f"{sandbox.url}/api/v2/incremental/tickets/cursor.json")
    assert len(body["tickets"]) == 1000
