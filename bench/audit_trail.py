"""The audit trail at size: writing one event, paging the trail, verifying the chain."""

import statistics
import time

from django.contrib.auth.models import User
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone

from audit.chain import GENESIS_HASH, as_stored_json, event_hash
from audit.models import AuditEvent
from audit.selectors import audit_event_page, verify_audit_chain
from audit.services import record
from billing_console.demo import ensure_demo_users

BATCH = 10_000


def run(*, rows):
    print(f"audit trail on {connection.vendor}, {rows:,} events")
    _generate(rows)
    _bench_verify()
    _bench_paging(rows)
    _bench_page_render()
    _bench_record()  # last: its baseline rows are not chained


def _timed(function, repeat):
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def _generate(rows):
    """A valid chain of `rows` events, inserted in batches (hashes computed as record does)."""
    start = time.perf_counter()
    previous = GENESIS_HASH
    now = timezone.now()
    for first in range(1, rows + 1, BATCH):
        batch = []
        for event_id in range(first, min(first + BATCH, rows + 1)):
            event = AuditEvent(
                id=event_id, created_at=now, actor_username="bench", actor_role="finance",
                action="refund.requested", object_type="refund", object_id=str(event_id),
                amount=event_id % 50_000, currency="USD", case_id=event_id % 9_000,
                after=as_stored_json({"status": "requested"}), reason="bench",
                prev_hash=previous,
            )
            event.hash = previous = event_hash(event)
            batch.append(event)
        AuditEvent.objects.bulk_create(batch)
    print(f"  generated {rows:,} chained events in {time.perf_counter() - start:.1f} s")


def _bench_record():
    """record() takes the chain lock and hashes; the baseline is a plain insert."""
    last = AuditEvent.objects.order_by("-id").first()

    def plain_insert():
        with transaction.atomic():
            AuditEvent.objects.create(
                id=AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() + 1,
                created_at=timezone.now(), action="bench.plain", prev_hash=last.hash,
                hash=f"{time.perf_counter_ns():064d}",
            )

    def chained_record():
        record(action="bench.record", object_type="refund", object_id="1", amount=100,
               currency="usd", before={"a": 1}, after={"a": 2})

    baseline = _timed(plain_insert, 200)
    measured = _timed(chained_record, 200)
    print(f"  record(): {measured * 1000:.2f} ms per event "
          f"(plain insert {baseline * 1000:.2f} ms; ratio {measured / baseline:.2f}x)")


def _finance():
    ensure_demo_users()
    return User.objects.get(username="finance")


def _bench_paging(rows):
    """Keyset paging costs the same deep in the trail as on page 1; OFFSET does not."""
    deep_id, viewer = rows // 10, _finance()
    first_page = _timed(lambda: audit_event_page(viewer=viewer), 20)
    deep_page = _timed(lambda: audit_event_page(viewer=viewer, before_id=deep_id), 20)
    offset = rows - deep_id
    offset_page = _timed(lambda: list(AuditEvent.objects.order_by("-id")[offset:offset + 50]), 5)
    print(f"  audit page 1: {first_page * 1000:.2f} ms; page at event {deep_id:,} by keyset: "
          f"{deep_page * 1000:.2f} ms (ratio {deep_page / first_page:.2f}x); by OFFSET: "
          f"{offset_page * 1000:.1f} ms (ratio {offset_page / first_page:.1f}x)")


def _bench_page_render():
    """The whole /audit/ page, as finance sees it, against the data-only query."""
    viewer, client = _finance(), Client()
    client.force_login(viewer)
    data_only = _timed(lambda: audit_event_page(viewer=viewer), 20)
    page = _timed(lambda: client.get("/audit/"), 20)
    print(f"  /audit/ page: {page * 1000:.1f} ms (its query alone {data_only * 1000:.2f} ms; "
          f"ratio {page / data_only:.1f}x)")


def _bench_verify():
    start = time.perf_counter()
    report = verify_audit_chain()
    elapsed = time.perf_counter() - start
    assert report.intact, report
    print(f"  audit_verify: {report.checked:,} events in {elapsed:.1f} s "
          f"({report.checked / elapsed:,.0f} events/s)")
