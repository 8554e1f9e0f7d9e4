"""The queue: filters, search, sorting, keyset paging, counts, health and assignment."""

import base64
import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from audit.models import AuditEvent
from cases.models import Case, CaseEvent, Category, Priority, State
from cases.selectors import QueueFilters, case_queue, current_queue_health, queue_health
from tests.cases.factories import make_case


def _ids(page):
    return [case.pk for case in page.cases]


def test_default_view_lists_open_cases_by_sla_due(specialist):
    later = make_case(resolution_due=timezone.now() + timedelta(hours=9))
    sooner = make_case(resolution_due=timezone.now() + timedelta(hours=1))
    make_case(state=State.RESOLVED)
    page = case_queue(viewer=specialist, filters=QueueFilters())
    assert _ids(page) == [sooner.pk, later.pk]


@pytest.mark.parametrize("filters,expected", [
    ({"assignee": "me"}, "mine"),
    ({"assignee": "unassigned"}, "plain"),
    ({"category": Category.TAX}, "tax"),
    ({"priority": Priority.URGENT}, "urgent"),
    ({"sla": "breached"}, "breached"),
    ({"sla": "due_1h"}, "due_soon"),
    ({"stripe": "linked"}, "linked"),
    ({"q": "#4242"}, "tax"),
    ({"q": "cus_LINKED"}, "linked"),
    ({"q": "zoe.clarke@example.com"}, "urgent"),
    ({"q": "Zoe.Clarke@Example.COM"}, "urgent"),
    ({"q": "charged twice"}, "due_soon"),
    ({"q": "Rosa"}, "breached"),
    ({"state": State.WAITING_FINANCE}, "plain"),
])
def test_each_filter_and_search_finds_its_case(filters, expected, specialist):
    now = timezone.now()
    cases = {
        "mine": make_case(assignee=specialist),
        "tax": make_case(zendesk_ticket_id=4242, category=Category.TAX, assignee=specialist),
        "urgent": make_case(priority=Priority.URGENT, requester_email="zoe.clarke@example.com",
                            assignee=specialist),
        "breached": make_case(resolution_due=now - timedelta(minutes=5), requester_name="Rosa G",
                              assignee=specialist),
        "due_soon": make_case(resolution_due=now + timedelta(minutes=30),
                              subject="Charged twice in March", assignee=specialist),
        "linked": make_case(stripe_customer_id="cus_LINKED", assignee=specialist),
        "plain": make_case(state=State.WAITING_FINANCE),
    }
    page = case_queue(viewer=specialist, filters=QueueFilters(**filters))
    if filters.get("assignee") == "me":
        assert cases["mine"].pk in _ids(page) and cases["plain"].pk not in _ids(page)
    else:
        assert _ids(page) == [cases[expected].pk]


@pytest.mark.parametrize("sort", ["sla", "priority", "updated"])
def test_keyset_paging_visits_every_case_once(sort, specialist):
    now = timezone.now()
    for n in range(23):
        make_case(priority=list(Priority)[n % 4],
                  resolution_due=None if n % 7 == 0 else now + timedelta(hours=n % 5))
    seen, cursor = [], None
    while True:
        page = case_queue(viewer=specialist, filters=QueueFilters(sort=sort), cursor=cursor,
                          size=5)
        seen += _ids(page)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert sorted(seen) == sorted(Case.objects.values_list("pk", flat=True))
    assert len(seen) == len(set(seen))


def test_bad_filter_values_are_ignored_and_a_bad_cursor_starts_over(client, specialist):
    make_case()
    client.force_login(specialist)
    response = client.get("/cases/", {"state": "nope", "sort": "x", "after": "!!not-base64"})
    assert response.status_code == 200


def _cursor(key, sort):
    """A cursor of the queue's `sort`, holding `key`."""
    return base64.urlsafe_b64encode(json.dumps(
        {"list": f"cases.queue:{sort}", "after": key}).encode()).decode()


# Cursors that decode, but not to a key of the sort: each reached a query before (a 500).
@pytest.mark.parametrize("sort,key", [
    ("sla", [None, "abc"]),
    ("sla", {"a": 1}),
    ("sla", ["2026-11-30T10:00:00+00:00"]),
    ("priority", ["high", None, 1]),
    ("updated", ["not a time", 1]),
    ("updated", ["2026-11-30T10:00:00", 1]),
    ("updated", [None, 10**30]),
])
def test_a_cursor_of_the_wrong_shape_starts_over_on_the_page_and_is_refused_by_the_api(
        client, specialist, sort, key):
    case = make_case()
    client.force_login(specialist)
    page = client.get("/cases/", {"sort": sort, "after": _cursor(key, sort)})
    assert page.status_code == 200 and f"/cases/{case.pk}/" in page.content.decode()
    api = client.get("/api/v1/cases/", {"sort": sort, "after": _cursor(key, sort)})
    assert api.status_code == 409 and api.json()["code"] == "cursor"


def test_queue_page_shows_counts_health_and_rows(client, specialist):
    make_case(subject="Refund for March")
    make_case(state=State.RESOLVED)
    client.force_login(specialist)
    page = client.get("/cases/").content.decode()
    assert "Refund for March" in page
    health = client.get("/cases/health/").content.decode()
    assert "SLA breached" in health and "Oldest unassigned" in health


def test_a_row_shows_its_case_ready_to_read(client, specialist):
    due = timezone.now() - timedelta(minutes=5)
    case = make_case(zendesk_ticket_id=4242, category=Category.DUPLICATE_CHARGE,
                     priority=Priority.URGENT, state=State.WAITING_CUSTOMER,
                     assignee=specialist, resolution_due=due, subject="")
    client.force_login(specialist)
    page = client.get("/cases/").content.decode()
    for text in (f'data-case-id="{case.pk}"', f'data-href="/cases/{case.pk}/"', "#4242",
                 "(no subject)", "Duplicate charge", "priority-urgent", "Urgent",
                 "Waiting on customer", "<td>specialist</td>", f'datetime="{due.isoformat()}"',
                 "breached"):
        assert text in page


def test_a_row_names_its_assignee_and_its_checkbox_by_the_ticket(client, specialist):
    """Before: the assignee's username, and a checkbox read out as "Select case <row id>"."""
    specialist.first_name, specialist.last_name = "Sam", "Specialist"
    specialist.save()
    case = make_case(zendesk_ticket_id=4242, assignee=specialist)
    client.force_login(specialist)

    page = client.get("/cases/").content.decode()

    assert "<td>Sam Specialist</td>" in page and "<td>specialist</td>" not in page
    assert 'aria-label="Select Ticket #4242"' in page
    assert f'aria-label="Select case {case.pk}"' not in page


def test_the_queue_reads_only_the_columns_it_shows(client, specialist):
    make_case(description="A long ticket body the queue never shows.")
    client.force_login(specialist)
    with CaptureQueriesContext(connection) as captured:
        page = client.get("/cases/").content.decode()
    assert "Billing question" in page
    case_queries = [q["sql"] for q in captured if 'FROM "cases_case"' in q["sql"]]
    assert case_queries and all('"description"' not in sql for sql in case_queries)


def test_queue_health_is_computed_once_for_everyone_while_cached(
        specialist, django_assert_num_queries):
    make_case(resolution_due=timezone.now() - timedelta(hours=1))
    first = current_queue_health()
    with django_assert_num_queries(0):
        assert current_queue_health() == first
    assert first.breached == 1


@pytest.mark.postgres
@pytest.mark.parametrize("search,index", [
    ({"requester_name__icontains": "okafor"}, "case_name_trigram"),
    ({"subject__icontains": "charged twice"}, "case_subject_trigram"),
    ({"requester_email__iexact": "Ava.Okafor@example.com"}, "case_email_upper"),
    ({"requester_email__icontains": "ava.okafor"}, "case_email_trigram"),
])
def test_search_by_name_subject_and_email_can_use_an_index(search, index, db):
    if connection.vendor != "postgresql":
        pytest.skip("these indexes and plans are PostgreSQL's; set DATABASE_URL to run this")
    make_case()
    with connection.cursor() as cursor:
        # A handful of rows is cheaper to scan; the plan must still show the index applies.
        cursor.execute("SET LOCAL enable_seqscan = off")
    assert index in Case.objects.filter(**search).explain()


def test_queue_health_figures(specialist):
    now = timezone.now()
    make_case(resolution_due=now - timedelta(hours=1))
    oldest = make_case(zendesk_created_at=now - timedelta(days=3))
    make_case(assignee=specialist, zendesk_created_at=now - timedelta(days=9))
    make_case(state=State.RESOLVED, zendesk_created_at=now - timedelta(hours=5),
              first_responded_at=now - timedelta(hours=4))
    make_case(state=State.RESOLVED, zendesk_created_at=now - timedelta(hours=5),
              first_responded_at=now - timedelta(hours=2))
    health = queue_health(now=now)
    assert health.breached == 1
    assert health.oldest_unassigned == oldest
    assert health.median_first_response == timedelta(hours=3)
    assert health.open_by_state[State.NEW] == 3


def test_bulk_assignment_assigns_records_and_audits(client, specialist, second_specialist):
    first, second = make_case(), make_case()
    client.force_login(specialist)
    response = client.post("/cases/assign/", {"case": [first.pk, second.pk],
                                              "assignee": "specialist2"}, follow=True)
    assert b"2 case(s) assigned to specialist2" in response.content  # they have no name
    assert set(Case.objects.values_list("assignee__username", "state")) == {
        ("specialist2", State.TRIAGED)}
    assert CaseEvent.objects.filter(kind=CaseEvent.Kind.ASSIGNMENT).count() == 2
    assert AuditEvent.objects.filter(action="case.assigned").count() == 2


def test_assigning_to_someone_who_is_not_a_specialist_is_refused(client, specialist, finance):
    case = make_case()
    client.force_login(specialist)
    response = client.post("/cases/assign/", {"case": [case.pk], "assignee": "finance"},
                           follow=True)
    assert b"billing specialists only" in response.content
    case.refresh_from_db()
    assert case.assignee is None


def test_finance_can_read_the_queue_but_not_assign(client, finance):
    case = make_case()
    client.force_login(finance)
    assert client.get("/cases/").status_code == 200
    assert client.post("/cases/assign/", {"case": [case.pk]}).status_code == 403


def test_tier2_cannot_open_the_queue(client, tier2):
    client.force_login(tier2)
    assert client.get("/cases/").status_code == 403
    assert client.get("/cases/rows/").status_code == 403


def test_queries_per_page_do_not_grow_with_the_number_of_cases(client, specialist):
    def queries_for_page():
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/cases/").status_code == 200
        return len(captured)

    client.force_login(specialist)
    make_case(assignee=specialist)
    queries_for_page()  # the first one also fills the cache of state counts
    few = queries_for_page()
    for _ in range(60):
        make_case(assignee=specialist)
    assert queries_for_page() == few <= 10


def test_zendesk_content_is_escaped_in_the_queue(client, specialist):
    make_case(subject="<script>alert(1)</script>", requester_name="<img src=x onerror=alert(1)>")
    client.force_login(specialist)
    page = client.get("/cases/").content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img src=x" not in page


def test_api_lists_cases_with_the_same_filters_and_a_cursor(specialist):
    for _ in range(3):
        make_case(category=Category.TAX)
    make_case(category=Category.OTHER)
    api = APIClient()
    api.force_authenticate(specialist)
    first = api.get("/api/v1/cases/", {"category": "tax", "limit": 2}).json()
    assert len(first["results"]) == 2 and first["next"]
    second = api.get(first["next"]).json()
    assert len(second["results"]) == 1 and second["next"] is None
    assert {r["category"] for r in first["results"] + second["results"]} == {"tax"}


def test_a_view_asked_again_reuses_its_sql_but_reads_the_cases_afresh(specialist,
                                                                      second_specialist):
    from cases.selectors import _queue_sql

    fields = ("zendesk_ticket_id", "state")
    mine = make_case(assignee=specialist)
    theirs = make_case(assignee=second_specialist)
    due = make_case(resolution_due=timezone.now() + timedelta(minutes=30))

    def view(viewer, **filters):
        page = case_queue(viewer=viewer, filters=QueueFilters(**filters), fields=fields)
        return [row["pk"] for row in page.cases]

    hits = _queue_sql.cache_info().hits
    assert view(specialist, assignee="me") == [mine.pk]
    assert view(second_specialist, assignee="me") == [theirs.pk]  # the viewer is in its key
    assert view(specialist, assignee="me") == [mine.pk]
    assert _queue_sql.cache_info().hits == hits + 1
    assert view(specialist, sla="due_1h") == [due.pk]
    due.resolution_due = timezone.now() - timedelta(minutes=1)
    due.save()
    assert view(specialist, sla="due_1h") == []  # `now` is in the key of a view that reads it
    assert view(specialist, sla="breached") == [due.pk]
