"""The audit trail at size: writing one event, paging the trail, verifying the chain."""

import random
import statistics
import time
from datetime import timedelta
from types import SimpleNamespace

from django.contrib.auth.models import User
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone

from audit.chain import GENESIS_HASH, HASHED_FIELDS, canonical_json, event_hash
from audit.exports import export_line
from audit.models import AuditEvent, filter_columns
from audit.selectors import audit_event_page, verify_audit_chain
from audit.services import record
from billing_console.demo import ensure_demo_users

# A year of a busy billing team: who acts, on what, through what, and how much.
SPECIALISTS = [f"specialist{n:02d}" for n in range(1, 41)]
FINANCE = [f"finance{n}" for n in range(1, 6)]
REASON_CODES = ("duplicate_charge", "requested_by_customer", "service_outage", "courtesy",
                "billing_error", "cancellation")
CURRENCIES = ("USD",) * 14 + ("EUR",) * 4 + ("GBP", "JPY")
SOURCES = ("console",) * 7 + ("api", "stripe", "system")
CUSTOMERS = 60_000
CASES = 200_000
# (action, share of the trail in tenths of a percent, what it is about)
ACTIONS = (
    ("case.note_added", 180, "case"), ("case.state_changed", 160, "case"),
    ("case.assigned", 90, "case"), ("case.priority_changed", 40, "case"),
    ("case.resolved", 80, "case"), ("case.stripe_link_changed", 40, "case"),
    ("refund.requested", 80, "money"), ("refund.succeeded", 70, "money"),
    ("refund.approved", 20, "money"), ("refund.external", 8, "money"),
    ("credit_memo.requested", 40, "money"), ("credit_memo.succeeded", 35, "money"),
    ("invoice_void.succeeded", 6, "money"), ("balance_credit.succeeded", 10, "money"),
    ("case.category_changed", 40, "case"),
    ("auth.login", 80, "user"), ("access.denied", 4, "user"),
    ("reconciliation.run", 1, "system"), ("audit.exported", 1, "system"),
    ("integrations.text_cleaned", 15, "system"),
)


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
    """A valid chain of `rows` events over the last year, loaded by COPY in batches, with
    hashes computed as `record` computes them. The mix is a busy billing team's: forty
    specialists, five in finance (one also an admin) and the system; notes, state changes,
    money actions with their requester, customer and reason, sign-ins; four currencies and
    every source. Seeded, so every run generates the same trail."""
    start = time.perf_counter()
    rng, previous, now = random.Random(8), GENESIS_HASH, timezone.now()
    actions = [action for action, share, _ in ACTIONS for _ in range(share)]
    about = {action: subject for action, _, subject in ACTIONS}
    step = timedelta(days=365) / rows
    first_at = now - timedelta(days=365)
    with connection.cursor() as cursor, cursor.connection.cursor().copy(
            f"COPY {AuditEvent._meta.db_table} ({', '.join(COPY_FIELDS)}) FROM STDIN") as copy:
        for event_id in range(1, rows + 1):
            event = _event(rng, event_id, first_at + step * event_id, rng.choice(actions),
                           about)
            event.prev_hash = previous
            event.hash = previous = event_hash(event)
            vars(event).update(filter_columns(event.action, event.after),
                               export_line=export_line(event))
            copy.write_row([_stored(getattr(event, name)) for name in COPY_FIELDS])
    print(f"  generated {rows:,} chained events over a year in "
          f"{time.perf_counter() - start:.1f} s")


COPY_FIELDS = [*HASHED_FIELDS, "hash", *filter_columns("", None), "export_line"]


def _stored(value):
    return canonical_json(value) if isinstance(value, dict) else value


def _event(rng, event_id, created_at, action, about):
    """One event of the generated trail, as `record` would have filled it in."""
    subject = about[action]
    source = rng.choice(SOURCES) if subject == "money" else (
        "system" if subject == "system" else "console")
    person, role = _person(rng, action, source)
    event = SimpleNamespace(
        id=event_id, created_at=created_at, actor_id=None, actor_username=person,
        actor_role=role, ip_address="10.1.2.3" if person else None, source=source,
        action=action, object_type=action.split(".")[0], object_id=str(event_id),
        before=None, after=None, amount=None, currency="", case_id=None,
        zendesk_ticket_id=None, stripe_object_id="", stripe_request_id="", reason="",
        outcome="denied" if action == "access.denied" else "success", prev_hash="")
    if subject in ("case", "money"):
        event.case_id = rng.randrange(1, CASES)
        event.zendesk_ticket_id = event.case_id + 1000
    if subject == "money":
        _money(rng, event, person)
    elif action == "case.note_added":
        event.reason = rng.choice(("Customer asked twice.", "=SUM(A1) from the ticket",
                                   "Called the customer, \"left a message\", will retry."))
    return event


def _person(rng, action, source):
    if source in ("stripe", "system"):
        return "", ""
    if action in ("refund.approved", "reconciliation.run", "audit.exported"):
        person = rng.choice(FINANCE)
        return person, "admin,finance" if person == FINANCE[-1] else "finance"
    return rng.choice(SPECIALISTS), "billing_specialist"


def _money(rng, event, person):
    """A money action's event: its amount, and its requester, customer and reason in
    `after`, as money actions record them."""
    currency = rng.choice(CURRENCIES)
    customer = f"cus_{rng.randrange(CUSTOMERS):014d}"
    event.amount = rng.choice((500, 1_750, 2_999, 9_900, 25_000, 120_000)) \
        if currency != "JPY" else rng.choice((500, 3_000, 12_000))
    event.currency = currency
    event.stripe_object_id = customer if event.action.startswith("balance") else \
        f"re_{event.id:020d}"
    event.after = {"status": event.action.split(".")[1], "customer": customer,
                   "requested_by": person or rng.choice(SPECIALISTS),
                   "reason_code": rng.choice(REASON_CODES)}


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
