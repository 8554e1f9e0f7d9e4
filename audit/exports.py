"""CSV exports of the audit trail, in constant memory.

The export is for programs and keeps the trail's codes as stored (actions such as
`refund.auto_approved`, roles, object types and ids, Stripe ids, reason codes), as the API
does; the pages read the same events in words (`audit.words`).

Every cell a spreadsheet could take for a formula is neutralised (`audit.csv`): Zendesk
content reaches the trail, and it is untrusted.

An event's line of the export (`export_line`: `_row` through `audit.csv`) is written once,
when the event is recorded, into its `export_line` column: events never change, so neither
does their line, and the chain's check derives it again from what is hashed. An export then
reads the stored lines, a block of `CHUNK` at a time, never gathering them. Measured at a
million events before choosing it: writing the lines at export time in Python ran at about
47,000 rows/s (model instances with both JSON snapshots, never exported, per-cell
neutralising, the csv module); formatting them in PostgreSQL's COPY at about a third of the
speed of a plain COPY of the columns, the formatting being most of the server's work.
"""

import itertools
import logging
import uuid

from django.conf import settings
from django.http import QueryDict
from django.utils import timezone

from audit import csv
from audit.models import AuditEvent, AuditExport
from billing_console.money import format_amount

COLUMNS = ["id", "created_at", "actor", "role", "ip_address", "source", "action",
           "object_type", "object_id", "amount_minor", "amount", "currency", "case_id",
           "zendesk_ticket_id", "stripe_object_id", "stripe_request_id", "reason", "outcome",
           "hash"]
CHUNK = 5_000
# The last line of a streamed export that an error cut short.
INCOMPLETE_LINE = "# INCOMPLETE: an error stopped this export here; export it again.\r\n"

logger = logging.getLogger(__name__)


def export_line(event):
    """The event's line of the CSV export, ending in CRLF: its cells in `COLUMNS` order,
    neutralised. Needs the event's id, time and hash, so it is made as the event joins
    the chain (`audit.services`)."""
    return next(csv.csv_lines([], [_row(event)]))


def _row(event):
    shown = format_amount(event.amount, event.currency) \
        if event.amount is not None and event.currency else ""
    return [event.id, event.created_at.isoformat(), event.actor_username, event.actor_role,
            event.ip_address, event.source, event.action, event.object_type, event.object_id,
            event.amount, shown, event.currency, event.case_id, event.zendesk_ticket_id,
            event.stripe_object_id, event.stripe_request_id, event.reason, event.outcome,
            event.hash]


def csv_chunks(events):
    """(rows, text) pairs: the header line (0 rows), then the stored lines of `events` in
    id order, up to `CHUNK` rows a block, as UTF-8 bytes. An event without its stored line
    (only one written around `record`, which the chain's check reports) is written from its
    content, so no event is ever left out. The query runs as the first block is read, and
    its cursor closes whether the export ends, fails or is cut off."""
    yield 0, next(csv.csv_lines(COLUMNS, [])).encode()
    rows = events.order_by("id").values_list("id", "export_line").iterator(chunk_size=CHUNK)
    try:
        while block := list(itertools.islice(rows, CHUNK)):
            yield len(block), "".join(line or _line_of(pk) for pk, line in block).encode()
    finally:
        # Its database cursor closes now, in this transaction, not whenever the garbage
        # collector gets to it.
        rows.close()


def _line_of(pk):
    return export_line(AuditEvent.objects.get(pk=pk))


def csv_blocks(events):
    """The export's text, block by block, for a streamed response."""
    return (text for _, text in csv_chunks(events))


def started(blocks):
    """An export's blocks for a streamed response, started before the response is: the
    header and the first rows are read now, so a query that fails is an error answer, not a
    file of only its header. A failure once the response has begun ends the file with
    `INCOMPLETE_LINE` and is raised again, which breaks the transfer: an export never ends
    early looking whole."""
    blocks = iter(blocks)
    return _then(list(itertools.islice(blocks, 2)), blocks)


def _then(first, rest):
    yield from first
    try:
        yield from rest
    except Exception:
        logger.exception("A streamed audit export stopped early")
        yield INCOMPLETE_LINE.encode()
        raise


# Background exports --------------------------------------------------------------------


def export_path(export):
    return settings.VAR_DIR / "exports" / f"audit-{export.pk}.csv"


def write_export(export_id):
    """Write a background export to its file, keeping its progress on the row.

    The rows are those up to the newest event when it began, so its total holds while
    events keep coming. It writes to a file of its own and moves it into place once whole:
    a task delivered twice never leaves two writers in one file, nor a partial one."""
    from audit.filters import AuditFilters
    from audit.selectors import filtered_events

    export = AuditExport.objects.select_related("requested_by").get(pk=export_id)
    if export.status == AuditExport.Status.DONE:
        return
    newest = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    events = filtered_events(viewer=export.requested_by,
                             filters=AuditFilters.from_query(QueryDict(export.query))
                             ).filter(id__lte=newest)
    _progress(export, status=AuditExport.Status.RUNNING, total=events.count(), written=0)
    path = export_path(export)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.{uuid.uuid4().hex}.part")
    try:
        _write(export, events, partial)
        partial.replace(path)
    except Exception as error:
        partial.unlink(missing_ok=True)
        _progress(export, status=AuditExport.Status.FAILED, error=str(error))
        raise
    _progress(export, status=AuditExport.Status.DONE, written=export.total,
              finished_at=timezone.now())


def _write(export, events, path):
    with path.open("wb") as file:
        written = 0
        for rows, text in csv_chunks(events):
            file.write(text)
            written += rows
            if rows:
                _progress(export, written=written)


def _progress(export, **fields):
    for name, value in fields.items():
        setattr(export, name, value)
    export.save(update_fields=list(fields))
