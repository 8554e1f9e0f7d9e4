"""The queue at size: 200,000 cases with 2,000,000 timeline events (BENCH_CASES changes it).

For the queue's default view and a filtered search it prints the p95 server time, the
queries per page at 1,000 cases and at full size, the ratio to the same SQL run straight
through psycopg, and the ratio to Django admin's changelist for `Case` on the same data.
Those requests find the state counts and queue health cached, as most requests do; it also
prints what a request costs when it has to compute them again.
"""

import os
import random
import statistics
import time
from datetime import timedelta

from django.contrib.auth.models import User
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from billing_console.demo import ensure_demo_users
from cases.models import Case, Category, Priority, State
from cases.selectors import STATE_COUNTS_SECONDS

EVENTS_PER_CASE = 10
REQUESTS = 60
UNCACHED_REQUESTS = 15
HEALTH_URL = "/cases/health/"
VIEWS = {
    "default view": "/cases/",
    "filtered search": "/cases/?assignee=unassigned&category=refund_request&q=rosa",
}
FIRST_NAMES = ("Ava", "Ben", "Rosa", "Hiro", "Maya", "Liam", "Zoe", "Sami", "Olga", "Dev")
LAST_NAMES = ("Okafor", "Garcia", "Tanaka", "Cohen", "Murphy", "Clarke", "Aziz", "Ivanova")


def run():
    if connection.vendor != "postgresql":
        print("queue benchmark: skipped, it needs PostgreSQL (set DATABASE_URL)")
        return
    size = int(os.environ.get("BENCH_CASES", "200000"))
    ensure_demo_users()
    specialist = User.objects.get(username="specialist")
    print(f"queue on postgresql, {size:,} cases, {size * EVENTS_PER_CASE:,} timeline events")
    _generate(1_000, specialist)
    small = {name: _queries(url, specialist) for name, url in VIEWS.items()}
    _generate(size - 1_000, specialist, first=1_000)
    with connection.cursor() as cursor:
        # As autovacuum leaves a table in production (the server running the bench may have
        # it off): without the visibility map, counting by an index reads every table page.
        cursor.execute("VACUUM ANALYZE")
    for name, url in VIEWS.items():
        _report(name, url, specialist, small[name])
    _report_recomputing(specialist)
    _report_admin()


def _copy(table, columns, rows):
    with connection.cursor() as cursor, cursor.connection.cursor().copy(
            f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _generate(count, specialist, first=0):
    start = time.perf_counter()
    rng = random.Random(first)
    now = timezone.now()
    states, categories, priorities = list(State), list(Category), list(Priority)
    columns = ["zendesk_ticket_id", "subject", "description", "requester_name",
               "requester_email", "requester_zendesk_id", "zendesk_status", "zendesk_priority",
               "tags", "custom_fields", "zendesk_created_at", "zendesk_updated_at", "category",
               "category_set_by_staff", "state", "priority", "assignee_id",
               "first_response_due", "resolution_due", "stripe_customer_id", "stripe_link",
               "stripe_candidates", "resolution_code", "resolution_summary", "created_at",
               "updated_at"]

    def cases():
        for n in range(first, first + count):
            name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
            opened = now - timedelta(minutes=rng.randrange(60 * 24 * 120))
            state = rng.choice(states)
            yield (n + 1, f"Billing question {n} about {rng.choice(categories).label}", "",
                   name, f"{name.replace(' ', '.').lower()}{n}@example.com", n, "open", "",
                   "[]", "{}", opened, opened, rng.choice(categories).value, False, state.value,
                   rng.choice(priorities).value, specialist.pk if n % 5 == 0 else None,
                   opened + timedelta(hours=8), opened + timedelta(hours=72),
                   f"cus_{n:014d}" if n % 2 else "", "verified" if n % 2 else "none", "[]", "",
                   "", opened, opened)

    _copy("cases_case", columns, cases())
    # Read into a list first: the connection can run no other query while a COPY is open.
    ids = list(Case.objects.filter(zendesk_ticket_id__gt=first).values_list("id", flat=True))
    _copy("cases_caseevent", ["case_id", "kind", "created_at", "body", "public", "data"],
          ((case_id, "comment", now - timedelta(minutes=k), "A message from the customer.",
            k % 2 == 0, "{}") for case_id in ids for k in range(EVENTS_PER_CASE)))
    print(f"  generated {count:,} cases and {count * EVENTS_PER_CASE:,} events "
          f"in {time.perf_counter() - start:.1f} s")


def _client(user):
    client = Client()
    client.force_login(user)
    return client


def _queries(url, user):
    client = _client(user)
    client.get(url)  # warm the session
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return captured.captured_queries


def _p95(samples):
    return statistics.quantiles(samples, n=20)[18]


def _server_times(client, url):
    client.get(url)
    samples = []
    for _ in range(REQUESTS):
        start = time.perf_counter()
        response = client.get(url)
        samples.append(time.perf_counter() - start)
        assert response.status_code == 200
    return samples


def _raw_sql_time(queries):
    """The page's own statements, as executed, straight through psycopg."""
    raw = connection.connection  # psycopg's connection under Django's
    samples = []
    for _ in range(REQUESTS):
        start = time.perf_counter()
        with raw.cursor() as cursor:
            for query in queries:
                cursor.execute(query["sql"].encode())
                if cursor.description:
                    cursor.fetchall()
        samples.append(time.perf_counter() - start)
    return samples


def _report(name, url, specialist, small_queries):
    client = _client(specialist)
    page = _server_times(client, url)
    queries = _queries(url, specialist)
    raw = _raw_sql_time(queries)
    print(f"  {name}: p95 {_p95(page) * 1000:.1f} ms server time (median "
          f"{statistics.median(page) * 1000:.1f} ms; goal p95 <= 50 ms); queries per page "
          f"{len(small_queries)} at 1,000 cases, {len(queries)} at full size (goal <= 10); "
          f"raw SQL through psycopg {statistics.median(raw) * 1000:.1f} ms, ratio "
          f"{statistics.median(page) / statistics.median(raw):.1f}x (goal <= 3x)")


def _report_recomputing(user):
    """The state counts and the queue health are cached for 30 s and shared by everyone, so
    the requests above find them cached; the first request after they expire pays for them."""
    client = _client(user)
    page = _uncached_times(client, VIEWS["default view"])
    health = _uncached_times(client, HEALTH_URL)
    print(f"  with the cached figures expired (once per {STATE_COUNTS_SECONDS} s): default "
          f"view median {statistics.median(page) * 1000:.1f} ms (counts per state); queue "
          f"health median {statistics.median(health) * 1000:.1f} ms")


def _uncached_times(client, url):
    samples = []
    for _ in range(UNCACHED_REQUESTS):
        cache.clear()
        start = time.perf_counter()
        response = client.get(url)
        samples.append(time.perf_counter() - start)
        assert response.status_code == 200
    return samples


def _report_admin():
    admin = User.objects.get(username="admin")
    console = _server_times(_client(User.objects.get(username="specialist")), VIEWS["default view"])
    changelist = _server_times(_client(admin), "/admin/cases/case/")
    print(f"  Django admin changelist for Case: median "
          f"{statistics.median(changelist) * 1000:.1f} ms; the queue's default view is "
          f"{statistics.median(changelist) / statistics.median(console):.1f}x faster")
