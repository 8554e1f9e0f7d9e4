"""A fixed set of audit events for the export's byte-for-byte tests: every kind of cell the
CSV must get right (commas, quotes, line breaks, formula starts, unicode, IPv6, negative and
three- and zero-decimal amounts, whole seconds, empty and missing values)."""

from datetime import UTC, datetime

from audit.exports import export_line
from audit.models import AuditEvent

ROWS = [
    dict(action="refund.requested", actor_username="specialist", actor_role="billing_specialist",
         ip_address="127.0.0.1", object_type="refund", object_id="re_1", amount=1_750,
         currency="USD", case_id=5, zendesk_ticket_id=6, stripe_object_id="re_1",
         stripe_request_id="req_1", reason="Duplicate charge, refunded in full"),
    dict(action="case.note_added", actor_username="-ana", actor_role="admin,finance",
         ip_address="2001:db8::1", object_id="=HYPERLINK(\"http://x\")", case_id=7,
         reason="line one\nline \"two\"\r\nthree"),
    dict(action="balance_credit.succeeded", source="stripe", amount=-50_000, currency="JPY",
         stripe_object_id="cus_A", reason="+1 credit"),
    dict(action="credit_memo.succeeded", amount=1_234_567_891, currency="KWD",
         reason="@mention\ttab", outcome="failure"),
    dict(action="auth.login", actor_username="fin@example.com", actor_role="finance",
         ip_address="::ffff:10.0.0.1", object_type="user", object_id="3",
         reason="Ünïcødé — “quotes” ‘single’ 日本"),
    dict(action="access.denied", object_type="url", object_id="GET /audit/?a=1,2",
         outcome="denied", reason="\\."),
    dict(action="refund.succeeded", amount=0, currency="EUR", reason="\rcarriage"),
    dict(action="refund.external", amount=99, currency="", reason=""),
]
FIRST_ID = 9_001


def fixed_events():
    """The events, stored as given with their export lines, as `record` makes them (not
    chained: the export copies the hash as it is)."""
    events = [AuditEvent(id=FIRST_ID + number,
                         created_at=datetime(2026, 3, 1, 12, 0, number * 7 % 60,
                                             0 if number % 3 == 0 else 120_000 + number,
                                             tzinfo=UTC),
                         prev_hash="0" * 64, hash=f"{number:064x}", **row)
              for number, row in enumerate(ROWS)]
    for event in events:
        event.export_line = export_line(event)
    return AuditEvent.objects.bulk_create(events)
