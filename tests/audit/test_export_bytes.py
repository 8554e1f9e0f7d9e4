"""The CSV export writes the same bytes as it always has: each event's line is made once,
as it joins the chain, by the writer the export always used, and the export streams the
stored lines. Checked against the committed file that writer made of a fixed set of events,
and on any text a note can hold; a stored line that disagrees with its event is a break in
the chain."""

import csv as stdlib_csv
import io
from datetime import UTC, datetime
from pathlib import Path

from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audit import csv, triggers
from audit.exports import _row, export_line
from audit.models import AuditEvent
from audit.selectors import verify_audit_chain
from audit.services import record
from tests.audit.export_fixture import fixed_events
from tests.conftest import api_client

EXPECTED = Path(__file__).parent / "data" / "export_fixed.csv"


def test_the_export_of_a_fixed_set_of_events_is_byte_for_byte_as_before(db, finance):
    fixed_events()

    response = api_client(finance).get(
        "/api/v1/audit-events/export.csv?since=2026-03-01&until=2026-03-01")

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == EXPECTED.read_bytes()


# Text the database can store (no NUL, no lone surrogate), weighted toward what CSV and
# spreadsheets care about.
_STORABLE = st.characters(exclude_characters="\x00", exclude_categories=("Cs",))
_TEXT = st.text(alphabet=st.one_of(st.sampled_from(list(',"\r\n\t=+-@\'\\. ')), _STORABLE),
                max_size=12)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(_TEXT, min_size=4, max_size=4),
       amount=st.one_of(st.none(), st.integers(-10**15, 10**15)),
       currency=st.sampled_from(["USD", "JPY", "KWD", ""]))
def test_a_recorded_event_exports_its_cells_neutralised(db, finance, texts, amount,
                                                        currency):
    object_id, stripe_id, request_id, reason = texts
    # Examples share the test's transaction, and the trail is append-only: each adds one.
    event = AuditEvent.objects.get(pk=record(
        action="case.note_added", object_id=object_id, stripe_object_id=stripe_id,
        stripe_request_id=request_id, reason=reason, amount=amount, currency=currency).pk)

    # Exporting is itself an event, recorded first: the note's kind leaves it out.
    response = api_client(finance).get("/api/v1/audit-events/export.csv?kind=case")
    text = b"".join(response.streaming_content).decode()
    newest = list(stdlib_csv.reader(io.StringIO(text, newline="")))[-1]

    assert event.export_line == export_line(event) and text.endswith(event.export_line)
    assert newest == [csv.safe_cell(value) for value in _row(event)]


def test_an_event_without_its_stored_line_is_still_exported(db, finance):
    """None should exist (`record` writes the line), but an export never leaves one out."""
    fixed_events()
    AuditEvent.objects.create(id=9_999, created_at=datetime(2026, 3, 1, 13, tzinfo=UTC),
                              action="case.note_added", reason="=written elsewhere",
                              prev_hash="0" * 64, hash="f" * 64)

    response = api_client(finance).get(
        "/api/v1/audit-events/export.csv?since=2026-03-01&until=2026-03-01")

    text = b"".join(response.streaming_content).decode()
    rows = list(stdlib_csv.reader(io.StringIO(text, newline="")))
    assert len(rows) == 1 + 8 + 1 and rows[-1][0] == "9999"
    assert "'=written elsewhere" in rows[-1]


def test_a_stored_line_that_disagrees_with_its_event_breaks_the_chain(db):
    events = [record(action="case.note_added", reason=f"note {n}", case_id=1)
              for n in range(3)]
    with connection.cursor() as cursor:
        for statement in triggers.DROP[connection.vendor]:
            cursor.execute(statement)
        cursor.execute(f"UPDATE {triggers.TABLE} SET export_line = 'forged' WHERE id = %s",  # noqa: S608
                       [events[1].id])

    report = verify_audit_chain()

    assert report.broken_id == events[1].id and "line of the CSV export" in report.problem
