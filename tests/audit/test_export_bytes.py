"""The CSV export writes the same bytes as it always has: PostgreSQL's writer (the server
formats the cells and quotes them) against the committed file that Python's writer made of a
fixed set of events, and against Python's writer on any text a note can hold. The server's
writer reads on a connection of its own, which sees committed rows only: these tests
commit theirs."""

from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audit import exports
from audit.models import AuditEvent
from tests.audit.export_fixture import fixed_events
from tests.conftest import api_client

pytestmark = pytest.mark.postgres
EXPECTED = Path(__file__).parent / "data" / "export_fixed.csv"


def _written(chunks):
    return b"".join(text for _, text in chunks)


@pytest.mark.django_db(transaction=True)
def test_the_export_of_a_fixed_set_of_events_is_byte_for_byte_as_before(db, finance):
    fixed_events()

    response = api_client(finance).get(
        "/api/v1/audit-events/export.csv?since=2026-03-01&until=2026-03-01")

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == EXPECTED.read_bytes()


@pytest.mark.django_db(transaction=True)
def test_both_writers_write_the_committed_bytes(db):
    fixed_events()
    events = AuditEvent.objects.all()
    header = next(exports.csv_chunks(events))[1]

    assert header + _written(exports._copied_chunks(events)) == EXPECTED.read_bytes()
    assert header + _written(exports._python_chunks(events)) == EXPECTED.read_bytes()


# Text PostgreSQL can store (no NUL, no lone surrogate), weighted toward what CSV and
# spreadsheets care about.
_STORABLE = st.characters(exclude_characters="\x00", exclude_categories=("Cs",))
_TEXT = st.text(alphabet=st.one_of(st.sampled_from(list(',"\r\n\t=+-@\'\\. ')), _STORABLE),
                max_size=12)
_CURRENCY = st.sampled_from(["USD", "JPY", "KWD", "EUR", ""])


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(_TEXT, min_size=6, max_size=6), currency=_CURRENCY,
       amount=st.one_of(st.none(), st.integers(-10**15, 10**15)),
       ip=st.sampled_from([None, "10.0.0.1", "2001:db8::5", "::ffff:1.2.3.4"]),
       microsecond=st.integers(0, 999_999))
@pytest.mark.django_db(transaction=True)
def test_postgresql_writes_what_python_writes_for_any_cell(db, texts, currency, amount, ip,
                                                           microsecond):
    username, role, object_id, stripe_id, request_id, reason = texts
    # Examples share the test's transaction, and the trail is append-only: each adds one.
    event = AuditEvent.objects.create(
        created_at=datetime(2026, 5, 4, 3, 2, 1, microsecond, tzinfo=UTC),
        actor_username=username, actor_role=role, ip_address=ip, action="case.note_added",
        object_id=object_id, amount=amount, currency=currency, stripe_object_id=stripe_id,
        stripe_request_id=request_id, reason=reason, prev_hash="0" * 64,
        hash=f"{AuditEvent.objects.count():064x}")
    one = AuditEvent.objects.filter(pk=event.pk)

    assert _written(exports._copied_chunks(one)) == _written(exports._python_chunks(one))
