"""Refunds at volume: 1,000 approved refunds (BENCH_REFUNDS changes it) drained by a real
worker process against the Stripe sandbox.

Each refund is requested through the API, as a program would (`Idempotency-Key`
included), within policy, so it is approved at once and its submission queued when it
commits. The requests all go first; then a worker (`bench.refund_worker`) starts and
drains them. It prints:
- the p95 from the start of a request to its task's message being published to Redis
  (goal < 30 ms);
- the worker's throughput, from its first submission to its last outcome, against the
  baseline: the sandbox's own refund rate, measured in the same run by creating refunds
  one after another straight through the gateway, as the worker does;
- the count of duplicate Stripe refunds (console refunds with more than one Stripe refund
  in the sandbox), which must be 0.
"""

import json
import logging
import os
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid
from collections import Counter
from contextlib import contextmanager
from datetime import timedelta
from urllib.parse import urlsplit

import psutil
from celery.signals import after_task_publish
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.db import connection
from django.db.models import Count, Max, Min
from django.test import Client, override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from bench.serving import served
from billing_console.access import Role
from billing_console.celery import app
from billing_console.integrations.stripe import gateway
from billing_console.integrations.stripe.sandbox import build_server
from billing_console.integrations.stripe.sandbox.builders import charge, client_for, create_customer
from cases.models import Case, StripeLink
from money_actions.kinds import METADATA_KEY
from money_actions.models import MoneyAction, State
from money_actions.tasks import submit_money_action

API_KEY = "sk_test_bench"
QUEUE = "bench-refunds"
CHARGE_AMOUNT = 10_000
REFUND_AMOUNT = 2_500
# 20 refunds of 25.00 keep each customer within the seeded policy's 2,000.00 in 30 days.
REFUNDS_PER_CUSTOMER = 20
# Clear of the ticket ids the queue benchmark generates.
FIRST_TICKET_ID = 1_000_000_000
BASELINE_REFUNDS = 200
GOAL_P95_SECONDS = 0.030
GOAL_PAGE_REFUND_READS = 2
POLL_SECONDS = 0.25
# A bound on the drain, however slow the machine: the worker's start-up plus a generous
# allowance per refund.
DRAIN_DEADLINE_SECONDS = 60
DRAIN_SECONDS_PER_REFUND = 0.5
STOP_GRACE_SECONDS = 30
WORKER_LOG = "bench-refund-worker.log"


def run(*, refunds):
    if connection.vendor != "postgresql":
        print("refund benchmark: skipped, it needs PostgreSQL, which the worker process "
              "shares (set DATABASE_URL)")
        return
    if not settings.REDIS_URL:
        print("refund benchmark: skipped, it needs Redis for a real worker (set REDIS_URL)")
        return
    print(f"refunds on postgresql, {refunds:,} approved refunds drained by a real worker "
          "(prefork, 2 processes) against the Stripe sandbox")
    with served(build_server("127.0.0.1", 0)) as url, \
            override_settings(STRIPE_API_BASE=url, STRIPE_API_KEY=API_KEY), \
            _own_queue(), _quiet_stripe_sdk():
        _bench(url, refunds)


@contextmanager
def _quiet_stripe_sdk():
    """The SDK logs every request at INFO: thousands of lines between the figures."""
    logger = logging.getLogger("stripe")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


@contextmanager
def _own_queue():
    """Submissions go to the benchmark's queue, emptied before (of what an interrupted run
    left) and removed after (with the write-backs queued behind the refunds)."""
    default_queue = app.conf.task_default_queue
    _remove_queue(QUEUE)
    app.conf.task_default_queue = QUEUE  # the router reads it at each send
    try:
        yield
    finally:
        app.conf.task_default_queue = default_queue
        _remove_queue(QUEUE)


def _remove_queue(name):
    with app.connection_for_write() as broker:
        queue = app.amqp.queues[name].bind(broker.default_channel)
        queue.declare()  # so that this connection knows the bindings it deletes
        queue.delete()


def _bench(url, count):
    client = client_for(url, API_KEY)
    start = time.perf_counter()
    targets = _seed(client, count)
    print(f"  seeded {len({case for case, _ in targets}):,} customers with their cases and "
          f"{count:,} charges in {time.perf_counter() - start:.1f} s")
    _report_requests(_request_refunds(targets, _specialist()))
    baseline = _sandbox_refund_rate(client, min(count, BASELINE_REFUNDS))
    _report_drain(_drain(url, count), count, baseline)
    _report_duplicates(client, count)
    _report_page_refund_reads(url, client, _specialist())


def _seed(client, count):
    """(case id, charge id) for each refund: a case per customer, a charge per refund."""
    targets = []
    for first in range(0, count, REFUNDS_PER_CUSTOMER):
        customer = create_customer(client, name=f"Bench Customer {first}",
                                   email=f"bench.customer{first}@example.com").id
        case = _case_for(customer, number=first)
        targets += [(case.pk, charge(client, customer=customer, amount=CHARGE_AMOUNT))
                    for _ in range(min(REFUNDS_PER_CUSTOMER, count - first))]
    return targets


def _case_for(customer_id, *, number):
    now = timezone.now()
    return Case.objects.create(
        zendesk_ticket_id=FIRST_TICKET_ID + number, subject=f"Refunds for customer {number}",
        requester_name="Bench Customer", requester_email=f"bench.customer{number}@example.com",
        zendesk_status="open", zendesk_created_at=now, first_response_due=now + timedelta(hours=8),
        resolution_due=now + timedelta(hours=72), stripe_customer_id=customer_id,
        stripe_link=StripeLink.VERIFIED)


def _specialist():
    user, _ = User.objects.get_or_create(username="bench-refunds")
    user.groups.add(Group.objects.get_or_create(name=Role.SPECIALIST.value)[0])
    return user


@contextmanager
def _publish_times():
    """The perf_counter() of each submission published to the broker, in order."""
    times = []

    def note(sender=None, **_):
        if sender == submit_money_action.name:
            times.append(time.perf_counter())

    after_task_publish.connect(note, weak=False)
    try:
        yield times
    finally:
        after_task_publish.disconnect(note)


def _request_refunds(targets, user):
    """Seconds from the start of each request to its submission's publishing."""
    client = APIClient()
    client.force_authenticate(user)
    latencies = []
    with _publish_times() as published:
        for number, (case_id, charge_id) in enumerate(targets):
            start = time.perf_counter()
            response = client.post(
                "/api/v1/refunds/", format="json", HTTP_IDEMPOTENCY_KEY=f"bench-{number}",
                data={"case_id": case_id, "charge_id": charge_id, "amount": REFUND_AMOUNT,
                      "reason_code": "courtesy", "note": "Benchmark refund."})
            assert response.status_code == 201, response.content
            assert response.json()["state"] == State.APPROVED, response.content
            assert len(published) == number + 1, "the refund's submission was not queued"
            latencies.append(published[-1] - start)
    return latencies


def _report_page_refund_reads(url, client, user):
    """The Stripe reads of one refund made on its page, from the confirm button to Stripe's
    refund (the submission runs at once, as a worker would): at most 2."""
    customer = create_customer(client, name="Bench Page Refund",
                               email="bench.page@example.com").id
    case = _case_for(customer, number=FIRST_TICKET_ID)
    charge_id = charge(client, customer=customer, amount=CHARGE_AMOUNT)
    pages = Client()
    pages.force_login(user)
    before = _stripe_reads(url)
    response = pages.post(f"/refunds/new/{case.pk}/{charge_id}/", {
        "amount": "25.00", "currency": "usd", "stripe_reason": "requested_by_customer",
        "reason_code": "courtesy", "note": "Benchmark page refund.",
        "request_key": str(uuid.uuid4()), "confirm": "1"})
    assert response.status_code == 302, response.content
    action = MoneyAction.objects.get(stripe_target_id=charge_id)
    submit_money_action.apply(args=[str(action.pk)])  # as the worker takes it
    action.refresh_from_db()
    assert action.state == State.SUCCEEDED, action.failure_reason
    reads = _stripe_reads(url) - before
    shown = ", ".join(f"GET {path} ×{count}" for path, count in sorted(reads.items()))
    print(f"  a page refund, from the confirm button to Stripe: {sum(reads.values())} Stripe "
          f"reads ({shown}; goal at most {GOAL_PAGE_REFUND_READS})")


def _stripe_reads(url):
    """The GETs the sandbox has answered so far, by path, as a multiset."""
    with urllib.request.urlopen(f"{url}/_sandbox/requests") as answer:  # noqa: S310 (loopback)
        body = json.load(answer)
    return Counter(entry["path"] for entry in body["data"]
                   if entry["method"] == "GET" and entry["path"].startswith("/v1/"))


def _report_requests(latencies):
    p95 = statistics.quantiles(latencies, n=20)[18]
    print(f"  requests: p95 {p95 * 1000:.1f} ms from request to task enqueued (median "
          f"{statistics.median(latencies) * 1000:.1f} ms; goal p95 < "
          f"{GOAL_P95_SECONDS * 1000:.0f} ms)")


def _sandbox_refund_rate(client, count):
    """Refunds a second the sandbox makes through the gateway, one after another."""
    customer = create_customer(client, name="Bench Baseline",
                               email="bench.baseline@example.com").id
    charges = [charge(client, customer=customer, amount=CHARGE_AMOUNT) for _ in range(count)]
    start = time.perf_counter()
    for number, charge_id in enumerate(charges):
        gateway.create_refund(charge_id=charge_id, amount=REFUND_AMOUNT,
                              idempotency_key=f"bench-baseline-{number}",
                              reason="requested_by_customer")
    return count / (time.perf_counter() - start)


def _drain(url, count):
    """Run the worker until every refund has succeeded; seconds from its start."""
    log_path = settings.VAR_DIR / WORKER_LOG
    with log_path.open("w") as log:
        worker = subprocess.Popen(  # noqa: S603 (this interpreter, fixed arguments)
            [sys.executable, "-m", "bench.refund_worker", QUEUE], cwd=settings.BASE_DIR,
            env=_worker_env(url), stdout=log, stderr=subprocess.STDOUT)
        try:
            start = time.perf_counter()
            _wait_until_succeeded(worker, count, log_path)
            return time.perf_counter() - start
        finally:
            _stop(worker)


def _worker_env(sandbox_url):
    """This process's environment, on the benchmark's database and sandbox."""
    database = urlsplit(os.environ["DATABASE_URL"])._replace(
        path=f"/{connection.settings_dict['NAME']}").geturl()
    return {**os.environ, "DATABASE_URL": database, "STRIPE_API_BASE": sandbox_url,
            "STRIPE_API_KEY": API_KEY,
            # The write-backs the refunds queue must never reach a real Zendesk.
            "ZENDESK_SUBDOMAIN": "", "ZENDESK_API_URL": ""}


def _wait_until_succeeded(worker, count, log_path):
    deadline = time.monotonic() + DRAIN_DEADLINE_SECONDS + count * DRAIN_SECONDS_PER_REFUND
    while time.monotonic() < deadline:
        states = dict(MoneyAction.objects.filter(kind="refund").values_list("state")
                      .annotate(Count("pk")))
        if states.get(State.SUCCEEDED) == count:
            return
        if set(states) - {State.APPROVED, State.SUBMITTING, State.SUCCEEDED}:
            raise RuntimeError(f"Some refunds did not succeed: {states}; see {log_path}")
        if worker.poll() is not None:
            raise RuntimeError(f"The worker stopped ({worker.returncode}); see {log_path}")
        time.sleep(POLL_SECONDS)
    raise RuntimeError(f"The refunds were not all succeeded in time ({states}); "
                       f"see {log_path}")


def _stop(worker):
    """A warm shutdown, so the message in hand goes back to the queue; the whole process
    tree is killed if it does not come."""
    worker.terminate()
    try:
        worker.wait(timeout=STOP_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        for child in psutil.Process(worker.pid).children(recursive=True):
            child.kill()
        worker.kill()
        worker.wait()


def _report_drain(seconds, count, baseline):
    span = MoneyAction.objects.filter(kind="refund").aggregate(
        first=Min("submitted_at"), last=Max("settled_at"))
    draining = (span["last"] - span["first"]).total_seconds()
    rate = count / draining
    print(f"  worker: {count:,} refunds succeeded in {draining:.1f} s from the first "
          f"submission to the last outcome ({seconds:.1f} s with its start-up): "
          f"{rate:,.0f} refunds/s; the sandbox alone makes {baseline:,.0f} refunds/s "
          f"through the gateway, one at a time, ratio {rate / baseline:.2f}x")


def _report_duplicates(client, count):
    per_console_refund = Counter(
        refund.metadata.to_dict().get(METADATA_KEY)
        for refund in client.v1.refunds.list(params={"limit": 100}).auto_paging_iter())
    per_console_refund.pop(None, None)  # the baseline's, made outside the console
    duplicates = sum(found - 1 for found in per_console_refund.values())
    print(f"  duplicate Stripe refunds: {duplicates} (must be 0); "
          f"{sum(per_console_refund.values()):,} Stripe refunds for {count:,} console refunds")
    assert duplicates == 0, f"{duplicates} console refunds reached Stripe more than once"
