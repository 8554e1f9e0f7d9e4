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
  several times as fast. PostgreSQL's CSV differs from Python's in two ways, both undone
  here: it ends a row with LF, not CRLF, and it quotes by rules of its own, so a row in
  which it quoted anything is written again by Python's csv writer, exactly (rare: a comma,
  quote or line break in a note). Tests compare the two writers byte for byte.
"""

import csv as stdlib_csv
import itertools
import logging

from django.conf import settings
from django.db import connection
from django.db.models.expressions import RawSQL
from django.http import QueryDict
from django.utils import timezone

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
    order, each a str of whole CSV lines ending in CRLF. The query runs as the first block
    is read, and its cursor closes whether the export ends, fails or is cut off."""
    yield 0, next(csv.csv_lines(COLUMNS, []))
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
        yield INCOMPLETE_LINE
        raise


# Python's writer: the definition -------------------------------------------------------


def _python_chunks(events):
    rows = events.order_by("id").iterator(chunk_size=CHUNK)
    try:
        lines = csv.csv_lines([], map(_row, rows))
        while block := list(itertools.islice(lines, CHUNK)):
            yield len(block), "".join(block)
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
_CURRENCY = "upper(btrim(currency))"
_PLACES = (f"CASE WHEN {_CURRENCY} IN ({_codes(ZERO_DECIMAL_CURRENCIES)}) THEN 0 "
           f"WHEN {_CURRENCY} IN ({_codes(THREE_DECIMAL_CURRENCIES)}) THEN 3 ELSE 2 END")
_SCALE = f"(10 ^ ({_PLACES}))::bigint"
_DECIMALS = (f"CASE {_PLACES} WHEN 0 THEN '' ELSE "
             f"'.' || lpad(mod(abs(amount), {_SCALE})::text, {_PLACES}, '0') END")
_SHOWN = (f"CASE WHEN amount IS NULL OR currency = '' THEN NULL ELSE "
          f"(CASE WHEN amount < 0 THEN '-' ELSE '' END) || "
          f"to_char(abs(amount) / {_SCALE}, 'FM9,999,999,999,999,999,990') || {_DECIMALS} "
          f"|| ' ' || {_CURRENCY} END")
# `datetime.isoformat()` in UTC: microseconds only when there are any.
_CREATED_AT = ("replace(to_char(created_at AT TIME ZONE 'UTC', "
               "'YYYY-MM-DD\"T\"HH24:MI:SS.US'), '.000000', '') || '+00:00'")
# The SELECT list, column for column as `_row`.
_CELLS = [
    "id", _CREATED_AT, _text("actor_username"), _text("actor_role"),
    _text("host(ip_address)"), _text("source"), _text("action"), _text("object_type"),
    _text("object_id"), "amount", _text(_SHOWN), _text("currency"), "case_id",
    "zendesk_ticket_id", _text("stripe_object_id"), _text("stripe_request_id"),
    _text("reason"), _text("outcome"), _text("hash"),
]


def _copied_chunks(events):
    """PostgreSQL's rows, one `COPY` per block, each after the last id of the one before,
    up to the newest event when the export began. Each COPY is read whole before its block
    is handed on: psycopg holds the connection for as long as a COPY is open, and whoever
    reads the blocks may use the database in between (a background export keeps its
    progress). Ids commit in order (the chain's lock), so the blocks are the trail as it
    stood when the export began, as one query would have read it."""
    newest = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first()
    after = 0
    while newest is not None and after < newest:
        rows = _copy_rows(events.filter(id__gt=after, id__lte=newest))
        if rows:
            yield len(rows), "".join(map(_as_python_writes, rows))
        if len(rows) < CHUNK:
            return
        after = int(rows[-1].split(b",", 1)[0])


def _copy_rows(events):
    """The first `CHUNK` of `events` in id order, as PostgreSQL's CSV rows (bytes)."""
    cells = {f"cell_{number}": RawSQL(sql, ())  # noqa: S611 (constants only)
             for number, sql in enumerate(_CELLS)}
    query = events.order_by("id").annotate(**cells).values_list(*cells)[:CHUNK].query
    sql, params = query.sql_with_params()
    with connection.cursor() as cursor, cursor.connection.cursor() as raw, \
            raw.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv)", params) as copy:
        return [bytes(row) for row in copy]


def _as_python_writes(row):
    """One row of PostgreSQL's CSV as Python's csv writer writes it: CRLF, and, when
    PostgreSQL quoted a cell, every cell quoted as Python quotes (its cells are already
    formatted and neutralised, so they are written as they are)."""
    text = row.decode()[:-1]  # less its LF
    if '"' not in text:
        return f"{text}\r\n"
    return stdlib_csv.writer(csv.Echo()).writerow(next(stdlib_csv.reader([text])))


# Background exports --------------------------------------------------------------------


def export_path(export):
    return settings.VAR_DIR / "exports" / f"audit-{export.pk}.csv"


def write_export(export_id):
    """Write a background export to its file, keeping its progress on the row."""
    from audit.filters import AuditFilters
    from audit.selectors import filtered_events

    export = AuditExport.objects.select_related("requested_by").get(pk=export_id)
    if export.status == AuditExport.Status.DONE:
        return
    events = filtered_events(viewer=export.requested_by,
                             filters=AuditFilters.from_query(QueryDict(export.query)))
    _progress(export, status=AuditExport.Status.RUNNING, total=events.count(), written=0)
    path = export_path(export)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with path.open("w", encoding="utf-8", newline="") as file:
            written = 0
            for rows, text in csv_chunks(events):
                file.write(text)
                written += rows
                if rows:
                    _progress(export, written=written)
    except Exception as error:
        _progress(export, status=AuditExport.Status.FAILED, error=str(error))
        raise
    _progress(export, status=AuditExport.Status.DONE, written=export.total,
              finished_at=timezone.now())


def _progress(export, **fields):
    for name, value in fields.items():
        setattr(export, name, value)
    export.save(update_fields=list(fields))
