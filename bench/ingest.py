"""Zendesk intake at size: tickets synced from the sandbox's export into cases.

The figure that matters is the console's own processing rate, with the sandbox's time
left out: Zendesk allows 10 export requests a minute (about 167 tickets/s at 1,000 a
page), so the console must be far faster than that for Zendesk to stay the only
bottleneck. Time spent inside `export_tickets_page` (the sandbox building the page, HTTP,
and the gateway parsing the JSON) is measured and subtracted; the rest is upserting cases
and saving the cursor, page by page, through the real sync.
"""

import time
from unittest import mock

from django.db import connection
from django.test import override_settings

from bench.serving import served
from billing_console.integrations.zendesk import gateway as zendesk
from billing_console.integrations.zendesk.sandbox import build_server, resources
from cases import sync, tasks
from cases.models import Case, CaseEvent, SyncState

TICKETS = 100_000
GOAL_TICKETS_PER_SECOND = 3_000
REQUESTERS = 2_000
EMAIL = "bench@example.com"
CATEGORY_TAGS = ("refund_request", "duplicate_charge", "invoice_dispute", "plan_change",
                 "cancellation", "tax_vat", "failed_payment", "question")
PRIORITIES = ("urgent", "high", "normal", "low", None)


def run(*, tickets):
    print(f"zendesk ingest on {connection.vendor}, {tickets:,} tickets")
    server = build_server("127.0.0.1", 0)
    try:
        with served(server) as url, override_settings(
                ZENDESK_API_URL=url, ZENDESK_SUBDOMAIN="bench", ZENDESK_EMAIL=EMAIL,
                ZENDESK_API_TOKEN="bench"):  # noqa: S106 (any token will do)
            _generate(server.store, tickets)
            _bench_sync("first sync", tickets)
            SyncState.objects.filter(pk=1).update(cursor="")
            _bench_sync("same pages again (nothing changes)", tickets)
            _change_every_ticket(server.store)
            _bench_sync("every ticket changed since", tickets)
    finally:
        _remove_cases()
        SyncState.objects.filter(pk=1).update(cursor="", newest_ticket_updated_at=None)
        server.server_close()


def _remove_cases():
    """The queue benchmark that follows generates cases of its own. Raw deletes: the ORM
    collects every case before cascading, which takes minutes at this size, and nothing
    but their events points at these cases."""
    with connection.cursor() as cursor:
        for model in (CaseEvent, Case):
            table = connection.ops.quote_name(model._meta.db_table)
            cursor.execute(f"DELETE FROM {table}")  # noqa: S608 (a table name, no input)


def _generate(store, count):
    """Tickets written straight into the sandbox's store. Its `create_ticket` copies every
    table to be all-or-nothing, which is quadratic at this size; the export reads the
    same state either way."""
    start = time.perf_counter()
    agent_id = store.agent_for(EMAIL)["id"]
    requesters = [store.create_user({"name": f"Customer {n}",
                                     "email": f"customer{n}@example.com"})["id"]
                  for n in range(REQUESTERS)]
    stripe_field = resources.TICKET_FIELD_IDS[0]
    now, timestamp = resources.now_iso(), int(time.time()) - 3600
    state = store._state  # noqa: SLF001 (bench-only shortcut, see the docstring)
    with store.lock:
        for number in range(count):
            ticket_id = store._next_id("ticket")  # noqa: SLF001
            ticket = resources.new_ticket(
                ticket_id, requester_id=requesters[number % REQUESTERS],
                submitter_id=agent_id, description=f"Message {number} from the customer.",
                now=now, timestamp=timestamp)
            ticket["subject"] = ticket["raw_subject"] = f"Billing question {number}"
            ticket["priority"] = PRIORITIES[number % len(PRIORITIES)]
            ticket["tags"] = [CATEGORY_TAGS[number % len(CATEGORY_TAGS)]]
            if number % 10:  # nine in ten are escalated
                ticket["tags"].append("billing_escalation")
            if number % 3 == 0:
                ticket["custom_fields"] = [{"id": stripe_field, "value": f"cus_B{number}"}]
            state["tickets"][ticket_id] = ticket
            state["seq"] += 1
            state["change_seq"][ticket_id] = state["seq"]
    print(f"  generated {count:,} sandbox tickets in {time.perf_counter() - start:.1f} s")


def _change_every_ticket(store):
    """A new subject on every ticket, each moved to the end of the export as Zendesk does."""
    state = store._state  # noqa: SLF001 (as in _generate)
    with store.lock:
        for ticket_id, ticket in state["tickets"].items():
            state["tickets"][ticket_id] = {**ticket, "subject": f"{ticket['subject']} (again)"}
            state["seq"] += 1
            state["change_seq"][ticket_id] = state["seq"]


def _bench_sync(label, tickets):
    fetching = [0.0]
    real_export = zendesk.export_tickets_page

    def timed_export(**position):
        start = time.perf_counter()
        try:
            return real_export(**position)
        finally:
            fetching[0] += time.perf_counter() - start

    # Follow-ups (comments, Stripe matching) would reach Zendesk and Stripe for real;
    # count the messages instead of queueing them.
    with mock.patch.object(zendesk, "export_tickets_page", timed_export), \
            mock.patch.object(tasks.queue_case_follow_ups, "delay") as follow_ups:
        start = time.perf_counter()
        result = sync.sync_zendesk_once(max_pages=None)
        total = time.perf_counter() - start
    console = total - fetching[0]
    rate = result.tickets / console if console else float("inf")
    print(f"  {label}: {result.pages} pages, {result.tickets:,} tickets -> "
          f"{result.created:,} created, {result.updated:,} updated, "
          f"{result.unchanged:,} unchanged; {Case.objects.count():,} cases; "
          f"{follow_ups.call_count} follow-up messages")
    print(f"    {total:.1f} s in all, {fetching[0]:.1f} s inside export_tickets_page "
          f"(sandbox, HTTP, parsing), {console:.1f} s console-side: {rate:,.0f} tickets/s "
          f"(goal >= {GOAL_TICKETS_PER_SECOND:,}/s, {rate / GOAL_TICKETS_PER_SECOND:.1f}x)")
    assert result.tickets == tickets, "the export did not return every ticket"
