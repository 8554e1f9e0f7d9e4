"""Reconciliation at volume: last month with 10,000 refunds (BENCH_RECONCILE_REFUNDS changes
it) in the Stripe sandbox, reconciled by the task that reconciles with Stripe.

One refund in ten is made through the console (the refund API, then its submission, as
a worker runs it); the others directly in Stripe, as the Dashboard would. The sandbox's
clock is set to spread them evenly over last month, and each console refund is recorded
as settled two seconds after Stripe made it. The run is then asked for as the page asks
(`reconciliation_request`) and its task (`run_reconciliation`) is run here, in this
process, with the code a worker runs. It prints, each next to its goal:
- the total time of the run (goal < GOAL_SECONDS);
- the Stripe requests it made, counted by the sandbox (goal: no more than the list pages
  a day-by-day read needs: one page of refunds per 100 refunds of a day, at least one,
  and one page each of credit notes and events a day; no lookups one by one);
- the items and the matched and "in Stripe only" counts against what was made, and
  whether the report matches it exactly: the same Stripe ids, each in its class, counts
  equal to the items (goal: yes);
- as a baseline, the same month compared in one piece, as a run did in the web request
  before it was a job (`compare(month)`, nothing stored): its time and Stripe requests.
"""

import math
import time
from collections import Counter
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from django.contrib.auth.models import Group, User
from django.db import connection
from django.db.models import Max
from django.test import override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from bench.serving import served
from billing_console.access import Role
from billing_console.celery import app
from billing_console.integrations.stripe.sandbox import build_server
from billing_console.integrations.stripe.sandbox.builders import charge, client_for, create_customer
from cases.models import Case, StripeLink
from finance.models import Match, ReconciliationRun
from finance.periods import Period
from finance.reconciliation import compare, reconciliation_request
from finance.tasks import run_reconciliation
from money_actions.models import MoneyAction, State
from money_actions.tasks import submit_money_action

API_KEY = "sk_test_bench"
QUEUE = "bench-reconcile"
CONSOLE_SHARE = 10  # one refund in ten through the console
CHARGE_AMOUNT = 10_000
REFUND_AMOUNT = 2_500
REFUNDS_PER_CHARGE = CHARGE_AMOUNT // REFUND_AMOUNT
# 20 refunds of 25.00 keep each customer within the seeded policy's 2,000.00 in 30 days.
CONSOLE_REFUNDS_PER_CUSTOMER = 20
GOAL_SECONDS = 60
REFUNDS_PER_PAGE = 100
LISTS_A_DAY = 2  # credit notes and events, besides refunds


def run(*, refunds):
    month = _last_month()
    print(f"reconcile on {connection.vendor}, {month.since} to {month.until} "
          f"({month.days} days) with {refunds:,} refunds in the Stripe sandbox, "
          f"1 in {CONSOLE_SHARE} made through the console")
    server = build_server("127.0.0.1", 0)
    with served(server) as url, \
            override_settings(STRIPE_API_BASE=url, STRIPE_API_KEY=API_KEY), _own_queue():
        _bench(server, url, month, refunds)


def _last_month():
    first_of_this = timezone.now().date().replace(day=1)
    last = first_of_this - timedelta(days=1)
    return Period(last.replace(day=1), last)


@contextmanager
def _own_queue():
    """What the console refunds queue (their submissions, which run here, and their
    write-backs) goes to a queue of the benchmark's own, removed afterwards."""
    default_queue = app.conf.task_default_queue
    app.conf.task_default_queue = QUEUE
    try:
        yield
    finally:
        app.conf.task_default_queue = default_queue
        with app.connection_for_write() as broker:
            queue = app.amqp.queues[QUEUE].bind(broker.default_channel)
            queue.declare()
            queue.delete()


class _CountingLog(list):
    """The sandbox's request log, counting instead of keeping (it keeps 500)."""

    count = 0

    def append(self, _entry):
        self.count += 1


def _bench(server, url, month, count):
    clock = _Clock(server)
    start = time.perf_counter()
    made = _make(client_for(url, API_KEY), clock, month, count)
    per_day = Counter(moment.date() for moment in made["moments"])
    print(f"  made {count:,} refunds ({len(made[Match.MATCHED]):,} through the console, "
          f"{len(made[Match.STRIPE_ONLY]):,} outside it) in "
          f"{time.perf_counter() - start:.1f} s")
    clock.stop()
    server.state.requests = log = _CountingLog()
    run = reconciliation_request(period=month, actor=_user("bench-finance", Role.FINANCE))
    start = time.perf_counter()
    run_reconciliation.apply(args=[run.pk]).get()
    seconds = time.perf_counter() - start
    run.refresh_from_db()
    floor = sum(math.ceil(max(per_day.get(day.since, 0), 1) / REFUNDS_PER_PAGE) + LISTS_A_DAY
                for day in map(month.day, range(month.days)))
    print(f"  total time: {seconds:.1f} s for {month.days} days, "
          f"{count / seconds:,.0f} refunds/s (goal < {GOAL_SECONDS} s)")
    print(f"  Stripe requests made: {log.count:,} (goal <= {floor:,}, the list pages a "
          "day-by-day read needs)")
    _report_match(run, made)
    log.count, start = 0, time.perf_counter()
    compare(month)
    baseline = time.perf_counter() - start
    print(f"  baseline, the month compared in one piece and not stored: {baseline:.1f} s, "
          f"{log.count:,} Stripe requests (the job takes {seconds / baseline:.2f}x its time)")


def _report_match(run, made):
    items = {match: set(run.items.filter(match=match).values_list("stripe_object_id",
                                                                   flat=True))
             for match in Match}
    counts_agree = all(run.count_of(match) == len(items[match]) for match in Match)
    matches = (run.status == ReconciliationRun.Status.DONE and counts_agree
               and items[Match.MATCHED] == made[Match.MATCHED]
               and items[Match.STRIPE_ONLY] == made[Match.STRIPE_ONLY]
               and not items[Match.CONSOLE_ONLY] and not items[Match.AMOUNTS_DIFFER])
    expected = len(made[Match.MATCHED]) + len(made[Match.STRIPE_ONLY])
    print(f"  items: {run.total_count:,} (goal {expected:,}); matched "
          f"{run.matched_count:,} (goal {len(made[Match.MATCHED]):,}); in Stripe only "
          f"{run.stripe_only_count:,} (goal {len(made[Match.STRIPE_ONLY]):,}); in the "
          f"console only {run.console_only_count}, amounts differ "
          f"{run.amounts_differ_count} (goal 0 and 0)")
    print(f"  report matches what was created: {'yes' if matches else 'no'} (goal yes)")
    assert matches, f"the report of run {run.pk} does not match what was created"


class _Clock:
    """The sandbox dates what it makes by this clock while it is set."""

    def __init__(self, server):
        self.state = server.state
        self.moment = None
        self.state.now = lambda: int(self.moment.timestamp())

    def stop(self):
        del self.state.now


def _make(client, clock, month, count):
    """The refunds, spread evenly over the month: {Match.MATCHED: console refund ids,
    Match.STRIPE_ONLY: outside refund ids, "moments": when each was made}."""
    span = (month.ends_at - month.starts_at).total_seconds()
    moments = [month.starts_at + timedelta(seconds=span * (number + 0.5) / count)
               for number in range(count)]
    console = [moment for number, moment in enumerate(moments)
               if number % CONSOLE_SHARE == 0]
    outside = [moment for number, moment in enumerate(moments)
               if number % CONSOLE_SHARE != 0]
    return {Match.MATCHED: _console_refunds(client, clock, console),
            Match.STRIPE_ONLY: _outside_refunds(client, clock, outside),
            "moments": moments}


def _outside_refunds(client, clock, moments):
    customer = create_customer(client, name="Bench Outside", email="outside@example.com").id
    made, charge_id = set(), None
    for number, moment in enumerate(moments):
        clock.moment = moment
        if number % REFUNDS_PER_CHARGE == 0:
            charge_id = charge(client, customer=customer, amount=CHARGE_AMOUNT)
        made.add(client.v1.refunds.create(params={"charge": charge_id,
                                                  "amount": REFUND_AMOUNT}).id)
    return made


def _console_refunds(client, clock, moments):
    """Through the refund API, within policy (approved at once), then submitted here as
    a worker would; recorded as settled two seconds after Stripe made each."""
    api = APIClient()
    api.force_authenticate(_user("bench-specialist", Role.SPECIALIST))
    made, case = set(), None
    # Clear of the tickets the benchmarks before this one left.
    first_ticket = (Case.objects.aggregate(Max("zendesk_ticket_id"))["zendesk_ticket_id__max"]
                    or 0) + 1
    for number, moment in enumerate(moments):
        clock.moment = moment
        if number % CONSOLE_REFUNDS_PER_CUSTOMER == 0:
            case = _case(client, first_ticket + number, number)
        charge_id = charge(client, customer=case.stripe_customer_id, amount=CHARGE_AMOUNT)
        response = api.post("/api/v1/refunds/", format="json", data={
            "case_id": case.pk, "charge_id": charge_id, "amount": REFUND_AMOUNT,
            "reason_code": "courtesy", "note": "Benchmark refund."})
        assert response.status_code == 201, response.content
        submit_money_action(response.json()["id"])
        action = MoneyAction.objects.get(pk=response.json()["id"])
        assert action.state == State.SUCCEEDED, action.state
        MoneyAction.objects.filter(pk=action.pk).update(
            settled_at=datetime.fromtimestamp(clock.moment.timestamp() + 2, tz=UTC))
        made.add(action.stripe_object_id)
    return made


def _case(client, ticket_id, number):
    customer = create_customer(client, name=f"Bench Console {number}",
                               email=f"bench.console{number}@example.com").id
    now = timezone.now()
    return Case.objects.create(
        zendesk_ticket_id=ticket_id, subject=f"Refunds {number}",
        requester_name="Bench Customer", requester_email=f"bench.console{number}@example.com",
        zendesk_status="open", zendesk_created_at=now, first_response_due=now + timedelta(hours=8),
        resolution_due=now + timedelta(hours=72), stripe_customer_id=customer,
        stripe_link=StripeLink.VERIFIED)


def _user(username, role):
    user, _ = User.objects.get_or_create(username=username)
    user.groups.add(Group.objects.get_or_create(name=role.value)[0])
    return user

