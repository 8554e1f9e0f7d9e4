"""The case page: what each role sees and may do, the actions through the services, the
timeline, write-back failures, and Zendesk content rendered as text."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from cases.models import (
    Case,
    CaseEvent,
    Category,
    Priority,
    ReplyTemplate,
    ResolutionCode,
    State,
    WriteBack,
)
from tests.cases.factories import make_case

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
# Every POST the page offers, with a body that would succeed for a specialist.
ACTIONS = {
    "state": {"to_state": State.TRIAGED},
    "assignee": {"assignee": "me"},
    "category": {"category": Category.TAX},
    "priority": {"priority": Priority.URGENT},
    "notes": {"body": "Checked Stripe.", "post_to_zendesk": "on"},
    "resolve": {"code": ResolutionCode.EXPLAINED, "summary": "Explained the proration."},
    "stripe/customer": {"customer_id": "cus_A"},
}


@pytest.fixture(autouse=True)
def zendesk_agent_url(settings):
    settings.ZENDESK_AGENT_URL = "https://acme.zendesk.com/agent/tickets/"


@pytest.fixture
def case(db):
    return make_case(zendesk_ticket_id=4242, subject="Charged twice in March",
                     description="Please refund the second charge.",
                     stripe_customer_id="cus_A", stripe_link="unverified")


def _client(user):
    client = Client()
    client.force_login(user)
    return client


def _event(case, kind, body, minutes_ago=0, **fields):
    return CaseEvent.objects.create(case=case, kind=kind, body=body,
                                    created_at=timezone.now() - timedelta(minutes=minutes_ago),
                                    **fields)


def _page(user, case, **query):
    response = _client(user).get(f"/cases/{case.pk}/", query)
    assert response.status_code == 200
    return response.content.decode()


def _post(user, case, action, data, follow=False):
    return _client(user).post(f"/cases/{case.pk}/{action}/", data, follow=follow)


def _messages(response):
    return [str(message) for message in response.context["messages"]]


# --- What each role sees -----------------------------------------------------------------


def test_a_specialist_sees_the_header_sla_clocks_and_controls(specialist, case):
    html = _page(specialist, case)

    assert "Charged twice in March" in html
    assert 'href="https://acme.zendesk.com/agent/tickets/4242"' in html
    assert "Ava Okafor &lt;ava.okafor@example.com&gt;" in html
    assert "First response due" in html and "Resolution due" in html
    for action in ("state", "assignee", "category", "priority", "notes", "resolve"):
        assert f'action="/cases/{case.pk}/{action}/"' in html
    assert f'hx-get="/cases/{case.pk}/stripe/"' in html
    # New cases may go to triaged, in progress or closed, and nowhere else.
    assert 'value="triaged"' in html and 'value="waiting_customer"' not in html


def test_a_breached_sla_clock_says_so(specialist):
    case = make_case(first_response_due=timezone.now() - timedelta(hours=3))

    html = _page(specialist, case)

    assert "clock breached" in html and "breached 3" in html


def test_finance_sees_the_case_but_no_controls(finance, case):
    _event(case, CaseEvent.Kind.NOTE, "Finance may read this.")

    html = _page(finance, case)

    assert "Finance may read this." in html
    assert f'hx-get="/cases/{case.pk}/stripe/"' in html
    assert f"/cases/{case.pk}/state/" not in html and "Add a console note" not in html
    assert "Resolve case" not in html


@pytest.mark.parametrize("action", ACTIONS)
def test_finance_and_tier2_cannot_act_on_a_case(action, finance, tier2, case):
    for user in (finance, tier2):
        assert _post(user, case, action, ACTIONS[action]).status_code == 403
    case.refresh_from_db()
    assert (case.state, case.category, case.assignee_id) == (State.NEW, Category.OTHER, None)
    assert not CaseEvent.objects.filter(case=case).exists()
    assert not WriteBack.objects.exists()


def test_tier2_is_sent_from_the_full_page_to_the_summary_and_refused_the_stripe_panel(
        tier2, case):
    client = _client(tier2)

    full = client.get(f"/cases/{case.pk}/")
    assert full.status_code == 302 and full.url == f"/cases/{case.pk}/summary/"
    assert client.get(f"/cases/{case.pk}/stripe/").status_code == 403


def test_tier2_summary_shows_state_category_and_resolution_only(tier2, case):
    Case.objects.filter(pk=case.pk).update(
        state=State.RESOLVED, category=Category.DUPLICATE_CHARGE,
        resolution_code=ResolutionCode.REFUNDED, resolution_summary="Refunded the duplicate.")
    _event(case, CaseEvent.Kind.NOTE, "Console-only note about cus_A")

    response = _client(tier2).get(f"/cases/{case.pk}/summary/")

    html = response.content.decode()
    assert response.status_code == 200
    for shown in ("Charged twice in March", "Resolved", "Duplicate charge", "Refunded",
                  "Refunded the duplicate.", "#4242"):
        assert shown in html
    for hidden in ("Console-only note", "cus_A", "ava.okafor@example.com",
                   "Please refund the second charge.", "hx-get", f"/cases/{case.pk}/"):
        assert hidden not in html
    # The sign-out form, and the one thing Tier 2 writes: a question.
    assert html.count("<form") == 2 and 'action="/guidance/questions/ask/"' in html


def test_tier2_finds_a_case_by_its_zendesk_ticket_number(tier2, case):
    client = _client(tier2)

    assert 'action="/cases/find/"' in client.get("/guidance/").content.decode()
    found = client.get("/cases/find/", {"ticket": f"#{case.zendesk_ticket_id}"})
    assert found.status_code == 302 and found.url == f"/cases/{case.pk}/summary/"
    for missing, status in (("999999", 404), ("abc", 400), ("", 404)):
        response = client.get("/cases/find/", {"ticket": missing})
        assert response.status_code == status
        assert "ticket" in response.content.decode().lower()


def test_only_tier2_uses_the_ticket_lookup(specialist, finance):
    for user in (specialist, finance):
        assert _client(user).get("/cases/find/", {"ticket": "1"}).status_code == 403


def test_specialists_use_the_full_page_not_the_summary(specialist, case):
    assert _client(specialist).get(f"/cases/{case.pk}/summary/").status_code == 403


def test_an_unknown_case_is_a_404(specialist, tier2):
    assert _client(specialist).get("/cases/999999/").status_code == 404
    assert _client(tier2).get("/cases/999999/summary/").status_code == 404
    assert _post(specialist, Case(pk=999999), "notes", {"body": "x"}).status_code == 404


def test_every_form_needs_the_csrf_token(specialist, case):
    client = Client(enforce_csrf_checks=True)
    client.force_login(specialist)

    response = client.post(f"/cases/{case.pk}/state/", {"to_state": State.TRIAGED})

    assert response.status_code == 403
    case.refresh_from_db()
    assert case.state == State.NEW


# --- Actions ------------------------------------------------------------------------------


def test_a_transition_moves_the_case_and_tells_zendesk(specialist, case):
    response = _post(specialist, case, "state", {"to_state": State.IN_PROGRESS}, follow=True)

    case.refresh_from_db()
    assert case.state == State.IN_PROGRESS
    assert response.redirect_chain == [(f"/cases/{case.pk}/", 302)]
    assert "The case is now in progress." in _messages(response)
    write_back = WriteBack.objects.get(case=case)
    assert (write_back.zendesk_status, write_back.add_tags) == (
        "open", ["billing_console_in_progress"])


@pytest.mark.parametrize("to_state,message", [
    (State.WAITING_CUSTOMER, "A case that is new cannot move to waiting on customer."),
    (State.RESOLVED, "Resolve a case with a resolution code and a summary."),
    # A form's refusal names the field by the label the page shows.
    ("sideways", "Move to: Select a valid choice. That choice is not one of the available "
                 "choices."),
])
def test_a_refused_transition_is_a_message_not_an_error_page(to_state, message, specialist,
                                                             case):
    response = _post(specialist, case, "state", {"to_state": to_state}, follow=True)

    assert response.status_code == 200
    assert message in _messages(response)
    case.refresh_from_db()
    assert case.state == State.NEW


def test_assign_to_me_then_unassign(specialist, case):
    _post(specialist, case, "assignee", {"assignee": "me"})
    case.refresh_from_db()
    assert (case.assignee, case.state) == (specialist, State.TRIAGED)
    assert "Unassign" in _page(specialist, case)

    _post(specialist, case, "assignee", {"assignee": "nobody"})
    case.refresh_from_db()
    assert case.assignee is None


def test_category_and_priority_can_be_changed(specialist, case):
    _post(specialist, case, "category", {"category": Category.TAX})
    _post(specialist, case, "priority", {"priority": Priority.URGENT})

    case.refresh_from_db()
    assert (case.category, case.category_set_by_staff, case.priority) == (
        Category.TAX, True, Priority.URGENT)
    # The SLA targets of urgent cases (8 h to resolve) now set the clock.
    assert case.resolution_due == case.zendesk_created_at + timedelta(hours=8)


def test_a_note_can_also_go_to_zendesk_as_an_internal_note(specialist, case):
    _post(specialist, case, "notes", {"body": "Console only."})
    _post(specialist, case, "notes", {"body": "Tell Zendesk too.", "post_to_zendesk": "on"})

    notes = CaseEvent.objects.filter(case=case, kind=CaseEvent.Kind.NOTE)
    assert sorted(notes.values_list("body", flat=True)) == ["Console only.", "Tell Zendesk too."]
    write_back = WriteBack.objects.get(case=case)
    assert (write_back.note, write_back.public) == ("Tell Zendesk too.", False)
    assert "also in Zendesk" in _page(specialist, case)


def test_an_empty_note_is_refused_on_the_page(specialist, case):
    response = _post(specialist, case, "notes", {"body": "  ", "post_to_zendesk": "on"})

    assert response.status_code == 400
    assert "Write the note before saving it." in response.content.decode()
    assert not CaseEvent.objects.filter(case=case).exists()


@pytest.mark.parametrize("data,error", [
    ({"summary": "Explained."}, "Choose a resolution code."),
    ({"code": ResolutionCode.EXPLAINED, "summary": "  "}, "Write a summary of the resolution."),
    ({"code": "made_up", "summary": "Explained."}, "Select a valid choice."),
])
def test_resolving_needs_a_code_and_a_summary(data, error, specialist, case):
    response = _post(specialist, case, "resolve", {"public_reply": "Kept as typed", **data})

    html = response.content.decode()
    assert response.status_code == 400
    assert error in html
    assert "Kept as typed" in html
    case.refresh_from_db()
    assert case.state == State.NEW and not WriteBack.objects.exists()


def test_resolving_records_the_resolution_and_tells_zendesk(specialist, case):
    response = _post(specialist, case, "resolve", {
        "code": ResolutionCode.REFUNDED, "summary": "Refunded the duplicate charge.",
        "public_reply": "Hi Ava, we refunded it."}, follow=True)

    case.refresh_from_db()
    assert (case.state, case.resolution_code) == (State.RESOLVED, ResolutionCode.REFUNDED)
    assert "Case resolved; Zendesk will get the resolution and the public reply." in \
        _messages(response)
    internal, public = WriteBack.objects.filter(case=case).order_by("pk")
    assert internal.add_tags == ["billing_console_resolved"] and not internal.public
    assert (public.note, public.public) == ("Hi Ava, we refunded it.", True)
    html = response.content.decode()
    assert "Refunded the duplicate charge." in html and "Resolve case" not in html


def test_resolving_a_resolved_case_is_a_message(specialist, case):
    Case.objects.filter(pk=case.pk).update(state=State.RESOLVED)

    response = _post(specialist, case, "resolve", {"code": ResolutionCode.EXPLAINED,
                                                   "summary": "Again."})

    assert response.status_code == 400
    assert "This case is already resolved." in response.content.decode()


def test_reply_templates_are_offered_filled_in_for_the_case(specialist, case):
    ReplyTemplate.objects.create(name="Refund done", body="Hi {requester_name}, ticket "
                                 "#{ticket_id} is refunded.", position=0)
    ReplyTemplate.objects.create(name="Retired", body="Old", active=False)

    html = _page(specialist, case)

    assert 'data-body="Hi Ava Okafor, ticket #4242 is refunded."' in html
    assert "Retired" not in html


def test_the_migration_seeds_reply_templates(db):
    assert ReplyTemplate.objects.filter(active=True).count() >= 3


# --- Timeline and write-back failures ------------------------------------------------------


def test_the_timeline_is_newest_first_and_pages_to_older_events(specialist, case,
                                                                django_assert_max_num_queries):
    for minute in range(105):
        _event(case, CaseEvent.Kind.SYNC, f"event {minute:03d} ago", minutes_ago=minute)

    client = _client(specialist)
    # Session, user, roles, case, events, write-backs, the cases of related tickets (merged
    # or followed up), templates, Tier 2's guidance and questions, the playbooks to start
    # from, open questions, money actions, the money the resolution is drafted from, and
    # the session's save.
    with django_assert_max_num_queries(17):
        html = client.get(f"/cases/{case.pk}/").content.decode()

    assert html.index("event 000 ago") < html.index("event 001 ago")
    assert "event 099 ago" in html and "event 100 ago" not in html
    oldest_shown = CaseEvent.objects.get(body="event 099 ago")
    assert f"?before={oldest_shown.pk}" in html
    older = _page(specialist, case, before=oldest_shown.pk)
    assert "event 100 ago" in older and "event 104 ago" in older
    assert "event 099 ago" not in older


def test_write_backs_zendesk_has_not_taken_show_with_their_error(specialist, case):
    WriteBack.objects.create(case=case, note="Failed note", status=WriteBack.Status.FAILED,
                             attempts=3, last_error="ZendeskTransientError: 503 from Zendesk")
    stuck = WriteBack.objects.create(case=case, note="Stuck note")
    WriteBack.objects.filter(pk=stuck.pk).update(created_at=timezone.now() - timedelta(hours=1))
    WriteBack.objects.create(case=case, note="Just queued")
    WriteBack.objects.create(case=case, note="Delivered", status=WriteBack.Status.SENT)

    html = _page(specialist, case)

    assert "Zendesk has not received some updates" in html
    assert "ZendeskTransientError: 503 from Zendesk" in html and "Stuck note" in html
    assert "Just queued" not in html and "Delivered" not in html


def test_no_write_back_warning_when_zendesk_has_everything(specialist, case):
    WriteBack.objects.create(case=case, note="Delivered", status=WriteBack.Status.SENT)

    assert "Zendesk has not received" not in _page(specialist, case)


# --- Zendesk content is untrusted ------------------------------------------------------------


@pytest.mark.parametrize("user", ["specialist", "tier2"])
def test_markup_from_zendesk_renders_as_text(user, actors):
    case = make_case(subject=f"{SCRIPT} {IMG}", description=IMG, requester_name=SCRIPT)
    _event(case, CaseEvent.Kind.COMMENT, f"Comment {SCRIPT} and {IMG}", public=True)
    Case.objects.filter(pk=case.pk).update(resolution_code=ResolutionCode.EXPLAINED,
                                           resolution_summary=IMG)

    path = f"/cases/{case.pk}/" if user == "specialist" else f"/cases/{case.pk}/summary/"
    html = _client(actors[user]).get(path).content.decode()

    assert SCRIPT not in html and IMG not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
