"""Cases per state, as the queue's tabs and health show them: on PostgreSQL kept by triggers
as cases change (`CaseStateCount`), never counted by scanning the cases; on SQLite counted."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext

from cases.models import Case, CaseStateCount, State
from cases.selectors import (
    COMPACT_STATE_COUNTS_AFTER,
    compact_state_counts,
    queue_health,
    state_counts,
)
from tests.cases.factories import make_case

needs_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="the counts are kept by PostgreSQL's triggers; set DATABASE_URL to run this")


def _scanned():
    """The counts as a GROUP BY scan of the cases finds them."""
    counts = dict.fromkeys(State.values, 0)
    for state in Case.objects.values_list("state", flat=True):
        counts[state] += 1
    return counts


def _expect(**expected):
    counts = dict.fromkeys(State.values, 0)
    counts.update(expected)
    assert state_counts() == counts
    assert _scanned() == counts


# --- the counts are right after every kind of change (both databases) ---------------------


def test_counts_follow_creation_change_of_state_and_deletion(db):
    first, second = make_case(), make_case()
    make_case(state=State.RESOLVED)
    _expect(new=2, resolved=1)

    first.state = State.IN_PROGRESS
    first.save()
    _expect(new=1, in_progress=1, resolved=1)

    # A save that leaves the state as it was changes no count.
    first.subject = "Charged twice"
    first.save()
    second.save(update_fields=["updated_at"])
    _expect(new=1, in_progress=1, resolved=1)

    second.delete()
    _expect(in_progress=1, resolved=1)


def test_counts_follow_bulk_updates_bulk_creation_and_bulk_deletion(db):
    cases = [make_case() for _ in range(5)]
    Case.objects.filter(pk__in=[c.pk for c in cases[:3]]).update(state=State.WAITING_FINANCE)
    _expect(new=2, waiting_finance=3)

    # An update of every case, some of which already have the state, moves only the others.
    Case.objects.update(state=State.WAITING_FINANCE)
    _expect(waiting_finance=5)

    Case.objects.bulk_create([Case(zendesk_ticket_id=900_000 + n, state=State.CLOSED)
                              for n in range(4)])
    _expect(waiting_finance=5, closed=4)

    Case.objects.filter(state=State.WAITING_FINANCE).delete()
    _expect(closed=4)


def test_a_change_rolled_back_leaves_the_counts_as_they_were(db):
    case = make_case()
    with pytest.raises(RuntimeError), transaction.atomic():
        Case.objects.filter(pk=case.pk).update(state=State.CLOSED)
        make_case()
        raise RuntimeError("rolled back")
    _expect(new=1)


def test_queue_health_counts_open_cases_by_state(db):
    make_case()
    make_case(state=State.TRIAGED)
    make_case(state=State.CLOSED)
    assert queue_health().open_by_state == {
        State.NEW: 1, State.TRIAGED: 1, State.IN_PROGRESS: 0, State.WAITING_CUSTOMER: 0,
        State.WAITING_FINANCE: 0}


def test_the_queue_tabs_show_the_counts(client, specialist):
    for _ in range(3):
        make_case(state=State.WAITING_CUSTOMER)
    make_case(state=State.CLOSED)
    client.force_login(specialist)
    page = client.get("/cases/").content.decode()
    assert 'Waiting on customer <span class="count">3</span>' in page
    assert 'Closed <span class="count">1</span>' in page
    assert 'New <span class="count">0</span>' in page


# --- kept, not counted (PostgreSQL) --------------------------------------------------------


@needs_postgres
@pytest.mark.postgres
def test_the_queue_shows_the_kept_counts_and_scans_no_cases_for_them(client, specialist):
    make_case()
    # A delta only the kept counts know of: a page that counted the cases would show 1.
    CaseStateCount.objects.create(state=State.NEW, count=41)
    client.force_login(specialist)
    with CaptureQueriesContext(connection) as captured:
        page = client.get("/cases/").content.decode()
    assert 'New <span class="count">42</span>' in page
    counting = [q["sql"] for q in captured if 'FROM "cases_case"' in q["sql"]
                and ("GROUP BY" in q["sql"] or "COUNT(" in q["sql"])]
    assert counting == []


@needs_postgres
@pytest.mark.postgres
def test_reading_the_counts_reads_no_case(db):
    make_case()
    with CaptureQueriesContext(connection) as captured:
        assert state_counts()[State.NEW] == 1
    assert len(captured) == 1
    assert "cases_case " not in captured[0]["sql"] + " "
    assert "cases_casestatecount" in captured[0]["sql"]


@needs_postgres
@pytest.mark.postgres
def test_a_change_of_state_adds_a_delta_and_other_updates_add_none(db):
    case = make_case()
    rows = CaseStateCount.objects.count()
    Case.objects.filter(pk=case.pk).update(subject="Charged twice")
    assert CaseStateCount.objects.count() == rows
    Case.objects.filter(pk=case.pk).update(state=State.TRIAGED)
    assert CaseStateCount.objects.count() == rows + 2


@needs_postgres
@pytest.mark.postgres
def test_copy_is_counted_once_per_statement(db):
    columns = ("zendesk_ticket_id", "state", "subject", "description", "requester_name",
               "requester_email", "zendesk_status", "zendesk_priority", "tags",
               "custom_fields", "category", "category_set_by_staff", "priority",
               "stripe_customer_id", "stripe_link", "stripe_candidates", "resolution_code",
               "resolution_summary", "undelivered", "created_at", "updated_at")
    rows_before = CaseStateCount.objects.count()
    with connection.cursor() as cursor, cursor.connection.cursor().copy(
            f"COPY cases_case ({', '.join(columns)}) FROM STDIN") as copy:
        for n in range(30):
            state = State.NEW if n % 3 else State.CLOSED
            copy.write_row((800_000 + n, state, "", "", "", "", "open", "", "[]", "{}",
                            "other", False, "normal", "", "none", "[]", "", "", "",
                            "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z"))
    _expect(new=20, closed=10)
    # One row per state the COPY touched, not one per case.
    assert CaseStateCount.objects.count() == rows_before + 2


@needs_postgres
@pytest.mark.postgres
def test_folding_the_deltas_keeps_the_sums(db):
    cases = [make_case() for _ in range(6)]
    for case in cases[:4]:
        Case.objects.filter(pk=case.pk).update(state=State.IN_PROGRESS)
    Case.objects.filter(pk=cases[0].pk).update(state=State.NEW)
    before = state_counts()
    assert CaseStateCount.objects.count() > 3

    assert compact_state_counts()

    assert state_counts() == before == {**dict.fromkeys(State.values, 0), "new": 3,
                                        "in_progress": 3}
    assert sorted(CaseStateCount.objects.values_list("state", "count")) == [
        ("in_progress", 3), ("new", 3)]


@needs_postgres
@pytest.mark.postgres
def test_readers_fold_the_deltas_once_they_pile_up(db):
    case = make_case()
    for n in range(COMPACT_STATE_COUNTS_AFTER // 2 + 1):
        Case.objects.filter(pk=case.pk).update(
            state=State.TRIAGED if n % 2 == 0 else State.NEW)
    assert CaseStateCount.objects.count() > COMPACT_STATE_COUNTS_AFTER
    assert state_counts()[State.TRIAGED] == 1
    assert CaseStateCount.objects.count() == 1
    _expect(triaged=1)


@needs_postgres
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_truncating_the_cases_empties_the_counts():
    make_case()
    make_case(state=State.CLOSED)
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE cases_case CASCADE")
    assert CaseStateCount.objects.count() == 0
    _expect()


# --- writers in parallel (PostgreSQL) ------------------------------------------------------


def _in_thread(function):
    def run(*args):
        try:
            return function(*args)
        finally:
            connections.close_all()
    return run


@needs_postgres
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_transactions_changing_cases_at_once_neither_wait_nor_lose_a_count():
    moving = [make_case() for _ in range(4)]
    first_wrote, second_done = threading.Event(), threading.Event()

    @_in_thread
    def first():
        # Opens a case and moves two, then holds its transaction open until the second
        # has committed: with one counter row per state, the second would wait for it.
        with transaction.atomic():
            make_case()
            Case.objects.filter(pk__in=[c.pk for c in moving[:2]]).update(
                state=State.IN_PROGRESS)
            first_wrote.set()
            assert second_done.wait(10), "the second transaction waited for the first"

    @_in_thread
    def second():
        assert first_wrote.wait(10)
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '3s'")
            make_case()
            # The other way round too: in_progress → new and new → in_progress.
            Case.objects.filter(pk__in=[c.pk for c in moving[2:]]).update(
                state=State.IN_PROGRESS)
            Case.objects.filter(pk=moving[2].pk).update(state=State.NEW)
        second_done.set()

    with ThreadPoolExecutor(2) as pool:
        for future in [pool.submit(first), pool.submit(second)]:
            future.result(timeout=30)

    _expect(new=3, in_progress=3)


@needs_postgres
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_and_a_folding_reader_keep_every_count():
    cases = [make_case() for _ in range(20)]
    start = threading.Barrier(3)

    @_in_thread
    def writer(chunk):
        start.wait()
        for case in chunk:
            with transaction.atomic():
                Case.objects.filter(pk=case.pk).update(state=State.TRIAGED)
                make_case(state=State.CLOSED)

    @_in_thread
    def folder():
        start.wait()
        for _ in range(20):
            compact_state_counts()

    with ThreadPoolExecutor(3) as pool:
        futures = [pool.submit(writer, cases[:10]), pool.submit(writer, cases[10:]),
                   pool.submit(folder)]
        for future in futures:
            future.result(timeout=60)

    _expect(triaged=20, closed=20)
