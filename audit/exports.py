"""CSV exports of the audit trail, in constant memory.

Rows are written as they are read, a block of `CHUNK` rows at a time, never gathered, and
every cell a spreadsheet could take for a formula is neutralised (`audit.csv`): Zendesk
content reaches the trail, and it is untrusted.

Two writers make the same bytes:

- Python's (`_row` through `audit.csv`) is the definition, and the writer on SQLite (the
  local demo).
- On PostgreSQL the server writes the rows: `COPY (SELECT …) TO STDOUT (FORMAT csv)` of
  the filtered events, each cell formatted and neutralised in the SELECT (`_CELLS`), a
  block at a time (`_copied_chunks`). Measured at a million events before choosing it, Python's
  writer spent its time on model instances (with both JSON snapshots, never exported),
  per-cell neutralising and the csv module, at about 47,000 rows/s; the server writes
  several times as fast. PostgreSQL quotes a cell exactly when Python's writer does (a
  comma, a quote or a line break in it; `\\.` alone only in a one-column COPY) and doubles
  quotes as it does; empty cells are NULL, left unquoted, as Python leaves "". Only the
  line ending differs (LF, not CRLF), and it is changed here. Tests compare the two
  writers byte for byte.
"""

import itertools
import logging
import uuid

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.models.expressions import RawSQL
from django.http import QueryDict
from django.utils import timezone
from psycopg import ClientCursor, pq

from audit import csv
from audit.csv import FORMULA_STARTS
from audit.models import AuditEvent, AuditExport
from billing_console.money import (
    THREE_DECIMAL_CURRENCIES,
    ZERO_DECIMAL_CURRENCIES,
    format_amount,
)

COLUMNS = ["id", "created_at", "actor", "role", "ip_address", "source", "action",
           "object_type", "object_id", "amount_minor", "amount", "currency", "case_id",
           "zendesk_ticket_id", "stripe_object_id", "stripe_request_id", "reason", "outcome",
           "hash"]
CHUNK = 5_000
# The last line of a streamed export that an error cut short.
INCOMPLETE_LINE = "# INCOMPLETE: an error stopped this export here; export it again.\r\n"

logger = logging.getLogger(__name__)


def csv_chunks(events):
    """(rows, text) pairs: the header line (0 rows), then blocks of up to `CHUNK` rows in id
    order, each whole CSV lines ending in CRLF, as UTF-8 bytes (as they are sent and
    stored: a million rows are not decoded and encoded again). The query runs as the first block
    is read, and its cursor closes whether the export ends, fails or is cut off."""
    yield 0, next(csv.csv_lines(COLUMNS, [])).encode()
    if connection.vendor == "postgresql":
        yield from _copied_chunks(events)
    else:
        yield from _python_chunks(events)


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


# Python's writer: the definition -------------------------------------------------------


def _python_chunks(events):
    rows = events.order_by("id").iterator(chunk_size=CHUNK)
    try:
        lines = csv.csv_lines([], map(_row, rows))
        while block := list(itertools.islice(lines, CHUNK)):
            yield len(block), "".join(block).encode()
    finally:
        # Its database cursor closes now, in this transaction, not whenever the garbage
        # collector gets to it.
        rows.close()


def _row(event):
    shown = format_amount(event.amount, event.currency) \
        if event.amount is not None and event.currency else ""
    return [event.id, event.created_at.isoformat(), event.actor_username, event.actor_role,
            event.ip_address, event.source, event.action, event.object_type, event.object_id,
            event.amount, shown, event.currency, event.case_id, event.zendesk_ticket_id,
            event.stripe_object_id, event.stripe_request_id, event.reason, event.outcome,
            event.hash]


# PostgreSQL's writer: the same bytes, written by the server ----------------------------


def _text(sql):
    """A text cell as `csv.safe_cell` makes it: a formula start gets a leading quote; empty
    is NULL, which PostgreSQL's CSV leaves unquoted, as Python's leaves "" unquoted."""
    starts = ", ".join(str(ord(start)) for start in FORMULA_STARTS)
    return f"NULLIF(CASE WHEN ascii({sql}) IN ({starts}) THEN '''' || {sql} ELSE {sql} END, '')"


def _codes(currencies):
    return ", ".join(f"'{code}'" for code in sorted(currencies))


# `format_amount`: minor units as major, with thousands separators and the currency.
_DIGITS = "FM9,999,999,999,999,999,990"
_CURRENCY = "upper(btrim(currency))"
_SHOWN = (f"CASE WHEN amount IS NULL OR currency = '' THEN NULL "
          f"WHEN {_CURRENCY} IN ({_codes(ZERO_DECIMAL_CURRENCIES)}) "
          f"THEN to_char(amount, '{_DIGITS}') || ' ' || {_CURRENCY} "
          f"WHEN {_CURRENCY} IN ({_codes(THREE_DECIMAL_CURRENCIES)}) "
          f"THEN to_char(amount / 1000.0, '{_DIGITS}.000') || ' ' || {_CURRENCY} "
          f"ELSE to_char(amount / 100.0, '{_DIGITS}.00') || ' ' || {_CURRENCY} END")
# `datetime.isoformat()` in UTC: microseconds only when there are any. PostgreSQL's own
# text of a timestamp (DateStyle ISO, set on the export's connection) drops the trailing
# zeros of the fraction, which are put back; it costs half what to_char does.
_CREATED_AT = ("translate(rpad((created_at AT TIME ZONE 'UTC')::text, "
               "CASE WHEN mod(date_part('microseconds', created_at)::bigint, 1000000) = 0 "
               "THEN 19 ELSE 26 END, '0'), ' ', 'T') || '+00:00'")
# The SELECT list, column for column as `_row`.
_CELLS = [
    "id", _CREATED_AT, _text("actor_username"), _text("actor_role"),
    _text("host(ip_address)"), _text("source"), _text("action"), _text("object_type"),
    _text("object_id"), "amount", _text(_SHOWN), _text("currency"), "case_id",
    "zendesk_ticket_id", _text("stripe_object_id"), _text("stripe_request_id"),
    _text("reason"), _text("outcome"), _text("hash"),
]


def _copied_chunks(events):
    """PostgreSQL's rows, through one `COPY` on a connection of the export's own, up to the
    newest event committed when the export began (ids commit in order, under the chain's
    lock, so that is the trail as it then stood).

    A connection of its own, because psycopg holds a connection for as long as a COPY is
    open, and whoever reads the blocks may use theirs in between (a background export keeps
    its progress): the server writes the next rows while the blocks before are sent. It
    reads what is committed, so a caller's own uncommitted events are not in it."""
    newest = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first()
    if newest is None:
        return
    statement, params = _copy_statement(events.filter(id__lte=newest))
    own = connection.get_new_connection(connection.get_connection_params())
    try:
        own.execute("SET DateStyle = ISO")  # what `_CREATED_AT` reads
        # Measured at a million events, each a tenth or more of the time: read in id order
        # from an index (each filter's ends in id) rather than by sorting a million wide
        # rows, which spills to disk; without JIT, whose compiling costs more than it saves
        # here; and in one process, as parallel workers only take the CPU the serving
        # process needs to send the rows.
        own.execute("SET jit = off")
        own.execute("SET enable_sort = off")
        own.execute("SET max_parallel_workers_per_gather = 0")
        rows = _copied_rows(own, ClientCursor(own).mogrify(statement, params))
        while block := list(itertools.islice(rows, CHUNK)):
            yield len(block), _as_python_writes(block)
    finally:
        own.close()


def _copied_rows(own, statement):
    """The rows of a COPY TO STDOUT, read straight from libpq (psycopg's `pq`), one blocking
    call each: psycopg's own COPY reader costs about four times as much per row, which is
    the most of what an export costs in the serving process. `own` is used for nothing
    else and closed by the caller, which is how an export cut short stops its COPY."""
    pgconn = own.pgconn
    pgconn.nonblocking = 0
    pgconn.send_query(statement.encode())
    _expect(pgconn.get_result(), pq.ExecStatus.COPY_OUT)
    while (copied := pgconn.get_copy_data(0))[0] >= 0:
        yield copied[1]
    _expect(pgconn.get_result(), pq.ExecStatus.COMMAND_OK)


def _expect(result, status):
    if result is None or result.status != status:
        message = result.error_message.decode() if result is not None else "no result"
        raise DatabaseError(f"The export's COPY failed: {message}")


def _copy_statement(events):
    cells = {f"cell_{number}": RawSQL(sql, ())  # noqa: S611 (constants only)
             for number, sql in enumerate(_CELLS)}
    sql, params = events.order_by("id").annotate(**cells).values_list(*cells).query \
        .sql_with_params()
    return f"COPY ({sql}) TO STDOUT (FORMAT csv)", params


def _as_python_writes(rows):
    """PostgreSQL's CSV rows (each ending in LF) as Python's csv writer writes them: the
    same cells, ending in CRLF. A line break inside a quoted cell stays as it is: only a
    block that has one pays for converting row by row."""
    block = b"".join(rows)
    if block.count(b"\n") == len(rows):
        return block.replace(b"\n", b"\r\n")
    return b"\r\n".join([row[:-1] for row in rows]) + b"\r\n"


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
