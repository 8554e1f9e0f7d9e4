"""A readable conversation: comments say who wrote them (the requester, an agent, or the
console itself) from Zendesk's side-loaded users; Markdown written in the console reaches
Zendesk as sanitised HTML; the queue finds a case by part of an email or a name."""

import pytest

from billing_console.integrations.zendesk import gateway as zendesk
from cases import services, sync
from cases.models import CaseEvent
from cases.selectors import QueueFilters, case_queue
from cases.tasks import send_write_back
from guidance.services import case_guidance_add
from tests.cases.factories import make_case
from tests.cases.zendesk_sandbox import ticket_spec
from tests.conftest import signed_in

HOSTILE_NAME = "<script>alert('name')</script> Ben"


@pytest.fixture
def conversation(db, zendesk_sandbox):
    """A ticket with the customer's message, a Tier 2 agent's internal note and a note the
    console posted, synced into its case."""
    store = zendesk_sandbox.server.store
    customer = store.create_user({"name": HOSTILE_NAME, "email": "ben.lindqvist@example.com"})
    agent = store.create_user({"name": "Noor Haddad (Tier 2)", "email": "noor@tier2.example",
                               "role": "agent"})
    ticket = zendesk_sandbox.add_tickets([ticket_spec(
        1, requester_id=customer["id"], submitter_id=customer["id"],
        comment={"body": "Please refund March.", "author_id": customer["id"]})])[0]
    store.update_ticket(ticket["id"], {"comment": {"body": "Checked usage: near zero.",
                                                   "public": False, "author_id": agent["id"]}},
                        agent["id"])
    zendesk.update_ticket(ticket["id"], note="Billing Console: this case is in progress.")
    sync.sync_zendesk_once()
    case = sync.refresh_ticket(ticket["id"])
    return case, customer, agent


def _authors(case):
    return [event.data.get("author") for event in
            case.events.filter(kind=CaseEvent.Kind.COMMENT).order_by("zendesk_comment_id")]


def test_comments_name_their_author_and_role_from_the_side_loaded_users(conversation):
    case, customer, agent = conversation
    assert _authors(case) == [
        {"name": HOSTILE_NAME, "role": "requester"},
        {"name": "Noor Haddad (Tier 2)", "role": "agent"},
        {"name": "console", "role": "console"},
    ]


def test_the_comments_read_asks_zendesk_to_side_load_users(conversation, zendesk_sandbox):
    reads = [r for r in zendesk_sandbox.requests_received() if "/comments.json" in r]
    assert reads and all("include=users" in r for r in reads)


def test_the_timeline_shows_names_and_roles_instead_of_user_ids(conversation, specialist):
    case, customer, agent = conversation
    page = signed_in(specialist).get(f"/cases/{case.pk}/").content.decode()
    assert f"Zendesk user {customer['id']}" not in page
    assert f"Zendesk user {agent['id']}" not in page
    assert "&lt;script&gt;alert(&#x27;name&#x27;)&lt;/script&gt; Ben" in page
    assert "<script>alert('name')" not in page
    assert 'author-requester' in page and 'author-agent' in page and 'author-console' in page
    assert ">requester</span>" in page and ">agent</span>" in page
    assert ">Billing Console</span>" in page


def test_the_consoles_own_comment_and_events_are_by_billing_console(conversation, specialist):
    """Before: "console Billing Console" (the name of the console's Zendesk user, then its
    badge) on its comment, and "system" on what it recorded by itself."""
    from tests.test_no_codes_on_pages import visible_text

    case, _, _ = conversation
    CaseEvent.objects.create(case=case, kind=CaseEvent.Kind.LINK, created_at=case.created_at,
                             body="Stripe customer matched by the requester's email")

    shown = visible_text(signed_in(specialist).get(f"/cases/{case.pk}/").content.decode())

    assert "console Billing Console" not in shown and "· system ·" not in shown
    assert shown.count("· Billing Console ·") >= 2


def test_a_console_note_reaches_zendesk_as_sanitised_html(db, zendesk_sandbox, specialist,
                                                          django_capture_on_commit_callbacks):
    ticket = zendesk_sandbox.add_tickets([ticket_spec(1)])[0]
    case = make_case(zendesk_ticket_id=ticket["id"])
    body = "Refund **approved**; see [the policy](javascript:alert(1))\n\n<script>x()</script>"

    with django_capture_on_commit_callbacks(execute=False):
        services.case_add_note(case=case, body=body, actor=specialist, post_to_zendesk=True)
    write_back = case.write_backs.get()
    assert "<strong>approved</strong>" in write_back.note_html
    assert "<script>" not in write_back.note_html and "javascript:" not in write_back.note_html
    send_write_back.apply(args=[write_back.pk])

    comment = zendesk_sandbox.server.store.comments(ticket["id"])[-1]
    assert "<strong>approved</strong>" in comment["html_body"]
    assert "<script>" not in comment["html_body"] and "javascript:" not in comment["html_body"]
    assert comment["body"].startswith("Refund approved; see the policy")
    assert comment["public"] is False


def test_guidance_posted_to_the_ticket_reaches_zendesk_as_html(db, specialist,
                                                              django_capture_on_commit_callbacks):
    case = make_case()
    with django_capture_on_commit_callbacks(execute=False):
        case_guidance_add(case=case, body="- tell them *5–10 business days*",
                          author=specialist, post_to_zendesk=True)
    assert "<li>tell them <em>5–10 business days</em></li>" in case.write_backs.get().note_html


def test_plain_write_backs_stay_plain_text(db, specialist, django_capture_on_commit_callbacks):
    case = make_case()
    with django_capture_on_commit_callbacks(execute=False):
        services.case_transition(case=case, to_state="triaged", actor=specialist)
    assert case.write_backs.get().note_html == ""


@pytest.mark.parametrize("query", ["ben.lindqvist", "lindqvist", "LINDQVIST@example",
                                   "Ben Lindqvist", "ben.lindqvist@example.com"])
def test_the_queue_finds_a_case_by_part_of_an_email_or_a_name(db, specialist, query):
    wanted = make_case(requester_name="Ben Lindqvist",
                       requester_email="ben.lindqvist@example.com")
    make_case(requester_name="Ava Okafor", requester_email="ava.okafor@example.com")
    page = case_queue(viewer=specialist, filters=QueueFilters(q=query))
    assert [case.pk for case in page.cases] == [wanted.pk]
