"""The queue at size: 200,000 cases with 2,000,000 timeline events (BENCH_CASES changes it).

For the queue's default view and a filtered search it prints the p95 time to serve the
page, the queries per page at 1,000 cases and at full size, and the median time next to
its baseline: the page's own statements run straight through psycopg in the same run
("raw SQL"), with the ratio of the two (goal <= 3x). Pages are served as production serves
them: Django's WSGI handler, DEBUG off (`_Served`); the same page through Django's test
client with DEBUG on, as this benchmark measured it before, is printed beside it. It also
prints the ratio to Django admin's changelist for `Case` on the same data.

The state counts of the queue's tabs are kept by PostgreSQL's triggers as cases change
(`cases.models.CaseStateCount`): it prints what reading them costs next to counting the
cases with a GROUP BY scan, as the queue did before, and what the trigger costs the COPY
that loads the cases (every other chunk is loaded with it switched off, then counted in).
The queue health stays cached for 30 s; it prints what a request costs without the cache.
"""

import os
import random
import statistics
import time
from datetime import timedelta

from django.contrib.auth.models import User
from django.core.cache import cache
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection, transaction
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from billing_console.access import second_factor_needed
from billing_console.demo import ensure_demo_users
from cases.models import Case, Category, Priority, State
from cases.selectors import QUEUE_HEALTH_SECONDS, _count_states, state_counts

EVENTS_PER_CASE = 10
# Cases are loaded in chunks of this many, every other one with the counting trigger off.
COPY_CHUNK = 20_000
COUNT_TRIGGER = "cases_case_count_insert"
REQUESTS = 100
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
    copy_times = _generate(size - 1_000, specialist, first=1_000)
    with connection.cursor() as cursor:
        # As autovacuum leaves a table in production (the server running the bench may have
        # it off): without the visibility map, counting by an index reads every table page.
        cursor.execute("VACUUM ANALYZE")
    _report_copy(copy_times)
    _report_state_counts(specialist)
    with override_settings(DEBUG=False):  # as production runs, whatever `make bench` set
        for name, url in VIEWS.items():
            _report(name, url, specialist, small[name])
        _report_floor(specialist)
        _report_recomputing(specialist)
        _report_admin()


def _copy(table, columns, rows):
    with connection.cursor() as cursor, cursor.connection.cursor().copy(
            f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _generate(count, specialist, first=0):
    """Load `count` cases and their events by COPY. Returns the seconds the cases' COPY took
    per chunk, with and without the state-count trigger: {True: [...], False: [...]}."""
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
               "updated_at", "undelivered"]

    def cases(start, stop):
        for n in range(start, stop):
            name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
            opened = now - timedelta(minutes=rng.randrange(60 * 24 * 120))
            state = rng.choice(states)
            yield (n + 1, f"Billing question {n} about {rng.choice(categories).label}", "",
                   name, f"{name.replace(' ', '.').lower()}{n}@example.com", n, "open", "",
                   "[]", "{}", opened, opened, rng.choice(categories).value, False, state.value,
                   rng.choice(priorities).value, specialist.pk if n % 5 == 0 else None,
                   opened + timedelta(hours=8), opened + timedelta(hours=72),
                   f"cus_{n:014d}" if n % 2 else "", "verified" if n % 2 else "none", "[]", "",
                   "", opened, opened, "")

    copy_times = {True: [], False: []}
    for number, chunk in enumerate(range(first, first + count, COPY_CHUNK)):
        stop = min(chunk + COPY_CHUNK, first + count)
        counted = number % 2 == 0
        with transaction.atomic():
            if not counted:
                _count_trigger("DISABLE")
            rows = list(cases(chunk, stop))  # made first: the time is the COPY's alone
            began = time.perf_counter()
            _copy("cases_case", columns, rows)
            copy_times[counted].append((time.perf_counter() - began, stop - chunk))
            if not counted:
                with connection.cursor() as cursor:
                    # The COPY's deferred foreign-key checks run now: ALTER TABLE refuses a
                    # table with trigger events still pending.
                    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                _count_trigger("ENABLE")
                # What the trigger would have added, so that the counts stay right.
                with connection.cursor() as cursor:
                    cursor.execute(
                        "INSERT INTO cases_casestatecount (state, count) SELECT state, "
                        "COUNT(*) FROM cases_case WHERE zendesk_ticket_id > %s "
                        "AND zendesk_ticket_id <= %s GROUP BY state", [chunk, stop])
    # Read into a list first: the connection can run no other query while a COPY is open.
    ids = list(Case.objects.filter(zendesk_ticket_id__gt=first).values_list("id", flat=True))
    _copy("cases_caseevent", ["case_id", "kind", "created_at", "body", "public", "data"],
          ((case_id, "comment", now - timedelta(minutes=k), "A message from the customer.",
            k % 2 == 0, "{}") for case_id in ids for k in range(EVENTS_PER_CASE)))
    print(f"  generated {count:,} cases and {count * EVENTS_PER_CASE:,} events "
          f"in {time.perf_counter() - start:.1f} s")
    return copy_times


def _count_trigger(action):
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE cases_case {action} TRIGGER {COUNT_TRIGGER}")


def _report_copy(copy_times):
    """Rows per second of the cases' COPY, with the state-count trigger and without."""
    def rate(chunks):
        return sum(rows for _, rows in chunks) / sum(seconds for seconds, _ in chunks)

    if not copy_times[False]:
        return
    with_trigger, without = rate(copy_times[True]), rate(copy_times[False])
    print(f"  COPY of cases: {with_trigger:,.0f} rows/s with the state-count trigger, "
          f"{without:,.0f} rows/s without it (baseline, alternate chunks of "
          f"{COPY_CHUNK:,}): the trigger costs {(without / with_trigger - 1) * 100:+.0f}% time")


def _report_state_counts(user):
    """The state counts as the queue reads them (the maintained table) next to the GROUP BY
    scan it used to run, both in this run; and the proof that they agree, and that the
    default view counts no cases."""
    kept, scanned = state_counts(), _count_states()
    assert kept == scanned, (kept, scanned)
    read = _median_time(state_counts, REQUESTS)
    scan = _median_time(_count_states, 5)
    counting = [q["sql"] for q in _queries(VIEWS["default view"], user)
                if 'FROM "cases_case"' in q["sql"] and ("COUNT(" in q["sql"]
                                                         or "GROUP BY" in q["sql"])]
    assert not counting, counting
    print(f"  state counts: read from the maintained table in {read * 1000:.2f} ms (median); "
          f"baseline GROUP BY scan of cases_case {scan * 1000:.1f} ms: "
          f"{scan / read:,.0f}x faster; both give {sum(kept.values()):,} cases; the default "
          f"view runs no COUNT or GROUP BY over cases_case")


def _median_time(function, times):
    samples = []
    for _ in range(times):
        start = time.perf_counter()
        function()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def _with_second_factor(client, user):
    """The session as it is once `user` (a superuser, for Django's admin) gave a code from
    their authenticator app."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or \
        TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()


class _Served:
    """GET requests served as production serves them: through Django's WSGI handler (what
    gunicorn calls) with DEBUG off, signed in as `user` by a session cookie. Django's test
    client adds work of its own to each request (it copies the context of every template
    rendered, for assertions) and DEBUG records every query; production does neither."""

    def __init__(self, user):
        client = Client()
        client.force_login(user)
        if second_factor_needed(user):
            _with_second_factor(client, user)
        self.cookie = "; ".join(f"{name}={morsel.value}"
                                for name, morsel in client.cookies.items())
        self.factory = RequestFactory()
        self.handler = WSGIHandler()

    def get(self, url):
        """The response's status code; the body is read whole, as a server sends it."""
        statuses = []
        environ = self.factory.get(url, HTTP_COOKIE=self.cookie).environ
        response = self.handler(environ, lambda status, headers: statuses.append(status))
        try:
            b"".join(response)
        finally:
            response.close()
        return int(statuses[0].split()[0])


class _TestClient:
    """The same requests through Django's test client, as this benchmark timed them before
    (run with DEBUG on): printed for comparison only."""

    def __init__(self, user):
        self.client = Client()
        self.client.force_login(user)

    def get(self, url):
        return self.client.get(url).status_code


def _queries(url, user):
    served = _Served(user)
    served.get(url)  # warm the session
    with CaptureQueriesContext(connection) as captured:
        assert served.get(url) == 200
    return captured.captured_queries


def _p95(samples):
    return statistics.quantiles(samples, n=20)[18]


def _server_times(served, url):
    served.get(url)
    samples = []
    for _ in range(REQUESTS):
        start = time.perf_counter()
        status = served.get(url)
        samples.append(time.perf_counter() - start)
        assert status == 200
    return samples


def _run_raw(queries):
    """The page's own statements, as executed, straight through psycopg."""
    connection.ensure_connection()
    with connection.connection.cursor() as cursor:  # psycopg's connection under Django's
        for query in queries:
            cursor.execute(query["sql"].encode())
            if cursor.description:
                cursor.fetchall()


def _page_and_raw_times(served, url, queries):
    """The page and its raw SQL, timed in turns: both meet the same load on the machine
    (another process's work shifts the one measured while it runs and not the other)."""
    served.get(url)
    pages, raws = [], []
    for _ in range(REQUESTS):
        start = time.perf_counter()
        status = served.get(url)
        pages.append(time.perf_counter() - start)
        assert status == 200
        start = time.perf_counter()
        _run_raw(queries)
        raws.append(time.perf_counter() - start)
    return pages, raws


def _report(name, url, specialist, small_queries):
    queries = _queries(url, specialist)
    page, raw = _page_and_raw_times(_Served(specialist), url, queries)
    print(f"  {name}: median {statistics.median(page) * 1000:.1f} ms served vs raw SQL "
          f"{statistics.median(raw) * 1000:.1f} ms (baseline: the page's {len(queries)} "
          f"statements through psycopg, in turns with the page): "
          f"{statistics.median(page) / statistics.median(raw):.2f}x (goal <= 3x); p95 "
          f"{_p95(page) * 1000:.1f} ms (goal <= 50 ms); queries per page "
          f"{len(small_queries)} at 1,000 cases, {len(queries)} at full size (goal <= 10)")
    with override_settings(DEBUG=True):
        page, raw = _page_and_raw_times(_TestClient(specialist), url, queries)
    print(f"    the same through Django's test client with DEBUG on (its own work and the "
          f"query log included): median {statistics.median(page) * 1000:.1f} ms vs raw SQL "
          f"{statistics.median(raw) * 1000:.1f} ms: "
          f"{statistics.median(page) / statistics.median(raw):.2f}x")


def _report_floor(user):
    """What any page pays before its own work: the queue health partial, its figures cached,
    is little more than the middleware (session read and saved, user, roles)."""
    served = _Served(user)
    served.get(HEALTH_URL)  # fills the cache
    queries = _queries(HEALTH_URL, user)
    page, raw = _page_and_raw_times(served, HEALTH_URL, queries)
    print(f"  for scale, a page with almost nothing of its own (the queue health, cached): "
          f"median {statistics.median(page) * 1000:.1f} ms vs raw SQL "
          f"{statistics.median(raw) * 1000:.1f} ms ({len(queries)} statements): "
          f"{statistics.median(page) / statistics.median(raw):.1f}x")


def _report_recomputing(user):
    """The queue health is cached for 30 s and shared by everyone; the first request after
    it expires pays for it. The default view caches nothing: with an empty cache it costs
    what it costs above."""
    served = _Served(user)
    page = _uncached_times(served, VIEWS["default view"])
    health = _uncached_times(served, HEALTH_URL)
    print(f"  with an empty cache (the queue health's expires every {QUEUE_HEALTH_SECONDS} s): "
          f"default view median {statistics.median(page) * 1000:.1f} ms; queue health median "
          f"{statistics.median(health) * 1000:.1f} ms")


def _uncached_times(served, url):
    samples = []
    for _ in range(UNCACHED_REQUESTS):
        cache.clear()
        start = time.perf_counter()
        status = served.get(url)
        samples.append(time.perf_counter() - start)
        assert status == 200
    return samples


def _report_admin():
    # Django's admin is for superusers only (the console's admins work under /manage/).
    admin = User.objects.filter(is_superuser=True).first() or \
        User.objects.create_superuser("bench_superuser", password=None)
    console = _server_times(_Served(User.objects.get(username="specialist")),
                            VIEWS["default view"])
    changelist = _server_times(_Served(admin), "/admin/cases/case/")
    print(f"  Django admin changelist for Case: median "
          f"{statistics.median(changelist) * 1000:.1f} ms; the queue's default view is "
          f"{statistics.median(changelist) / statistics.median(console):.1f}x faster")
