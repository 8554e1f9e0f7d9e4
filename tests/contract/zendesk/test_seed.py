"""The demo data `make run` seeds through the Zendesk API."""

import time
from collections import Counter

from billing_console.integrations.demo_customers import demo_customers
from billing_console.integrations.zendesk.sandbox.seed import CATEGORIES, seed_demo

from .conftest import EMAIL, TOKEN

STRIPE_FIELD = 360000000501
ESCALATIONS_GROUP = 360000000402


def all_tickets(sandbox):
    an_hour_ago = int(time.time()) - 3600
    _, page = sandbox.call("GET", "/api/v2/incremental/tickets/cursor.json?include=users&"
                                  f"start_time={an_hour_ago}")
    assert page["end_of_stream"]
    return page["tickets"], {u["id"]: u for u in page["users"]}


def seed(sandbox, stripe_customers):
    seed_demo(sandbox.url, EMAIL, TOKEN, stripe_customers)


def test_it_seeds_escalated_billing_tickets_from_the_demo_customers(sandbox):
    known_to_stripe = {email: f"cus_{n:04d}" for n, (_, email) in enumerate(demo_customers()[:30])}

    seed(sandbox, known_to_stripe)

    tickets, users = all_tickets(sandbox)
    escalated = [t for t in tickets if "billing_escalation" in t["tags"]]
    assert len(tickets) >= 60
    assert len(tickets) / 2 < len(escalated) < len(tickets)
    assert all(t["group_id"] == ESCALATIONS_GROUP for t in escalated)
    assert {tag for tag, *_ in CATEGORIES} <= {tag for t in tickets for tag in t["tags"]}
    requester_emails = {users[t["requester_id"]]["email"] for t in tickets}
    assert {email for _, email in demo_customers()} <= requester_emails
    assert requester_emails - set(known_to_stripe)  # some requesters Stripe doesn't know
    stripe_ids = [f["value"] for t in tickets for f in t["custom_fields"]
                  if f["id"] == STRIPE_FIELD and f["value"]]
    assert 0 < len(stripe_ids) < len(tickets)
    assert set(stripe_ids) <= set(known_to_stripe.values())


def test_a_mailbox_shared_by_two_names_is_one_requester(sandbox):
    seed(sandbox, {})

    tickets, users = all_tickets(sandbox)
    per_requester = Counter(users[t["requester_id"]]["email"] for t in tickets)
    shared_email = demo_customers()[0][1]
    assert per_requester[shared_email] > per_requester[demo_customers()[-1][1]]


def test_escalated_tickets_carry_tier2_internal_notes_and_customer_messages(sandbox):
    seed(sandbox, {})
    tickets, _ = all_tickets(sandbox)
    escalated = next(t for t in tickets if "billing_escalation" in t["tags"])

    _, body = sandbox.call("GET", f"/api/v2/tickets/{escalated['id']}/comments.json")

    notes = [c for c in body["comments"] if not c["public"]]
    assert notes
    _, author = sandbox.call("GET", f"/api/v2/users/{notes[0]['author_id']}.json")
    assert author["user"]["role"] == "agent"
    assert "Tier 2" in author["user"]["name"]
    assert any(c["public"] and c["author_id"] == escalated["requester_id"]
               for c in body["comments"])


def test_seeding_twice_adds_nothing(sandbox):
    seed(sandbox, {})
    before, _ = all_tickets(sandbox)

    seed(sandbox, {})

    after, _ = all_tickets(sandbox)
    assert len(after) == len(before)
