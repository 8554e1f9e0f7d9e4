"""The cursor-based incremental ticket export, live from the store or replayed from a recording.

Live: `start_time` (a Unix time at least a minute old) or `cursor`, with `per_page` (up to
1,000) and `include=users`. The cursor looks like Zendesk's (standard base64, so it needs
URL-encoding) and names the last change the client has seen; a ticket changed again later
shows up again, in its new place, as with Zendesk.

Replay: the recorded real responses are served verbatim, one per request, in their recorded
order; only `after_url` is moved onto the sandbox's own host. A request whose cursor differs
from the one recorded is refused, so a client that mangles cursors fails loudly. Once the
recording is used up the stream ends with an empty `end_of_stream` page, which the recording
itself lacks.
"""

import base64
import binascii
import json
import threading
import time
from urllib.parse import parse_qsl, quote, urlsplit

from .resources import render_ticket, render_user
from .store import SandboxError

EXPORT_PATH = "/api/v2/incremental/tickets/cursor.json"
MAX_PER_PAGE = 1000
START_TIME_MIN_AGE = 60


def export_page(store, params, base_url):
    per_page = _per_page(params)
    seq = _start_seq(store, params)
    changes = store.changes_after(seq, per_page + 1)
    page, more = changes[:per_page], len(changes) > per_page
    after_seq = page[-1][0] if page else seq
    tickets = [render_ticket(ticket, base_url) for _, ticket in page]
    after_cursor = _encode_cursor(after_seq, page[-1][1] if page else None)
    body = {
        "tickets": tickets,
        "after_url": _after_url(base_url, after_cursor, params),
        "before_url": None,
        "after_cursor": after_cursor,
        "before_cursor": None,
        "end_of_stream": not more,
    }
    if "users" in params.get("include", "").split(","):
        body["users"] = _side_loaded_users(store, tickets, base_url)
    return body


def _per_page(params):
    try:
        per_page = int(params.get("per_page", MAX_PER_PAGE))
    except ValueError:
        per_page = 0
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise SandboxError(400, "InvalidPaginationParameter",
                           f"per_page must be between 1 and {MAX_PER_PAGE}")
    return per_page


def _start_seq(store, params):
    if "cursor" in params:
        return _decode_cursor(params["cursor"])
    if "start_time" not in params:
        raise SandboxError(400, "InvalidValue", "start_time or cursor is required")
    try:
        start_time = int(params["start_time"])
    except ValueError:
        raise SandboxError(400, "InvalidValue", "start_time must be a Unix time") from None
    if start_time > time.time() - START_TIME_MIN_AGE:
        raise SandboxError(400, "InvalidValue",
                           "Too recent start_time. Use a start_time older than 1 minute")
    return store.last_seq_before(start_time)


def _encode_cursor(seq, ticket):
    """Zendesk's shape, `<timestamp>.0||<ticket id>|`, with the change sequence added.

    Padded so the base64 always ends in `==`, as Zendesk's cursors often do: the cursor
    always needs URL-encoding, so a test can always see whether a client encoded it.
    """
    stamp = ticket["generated_timestamp"] if ticket else int(time.time())
    ticket_id = ticket["id"] if ticket else ""
    raw = f"{stamp}.0||{ticket_id}|{seq}|"
    raw += "|" * ((1 - len(raw)) % 3)
    return base64.b64encode(raw.encode()).decode()


def _decode_cursor(cursor):
    try:
        return int(base64.b64decode(cursor, validate=True).decode().split("|")[3])
    except (binascii.Error, UnicodeDecodeError, IndexError, ValueError):
        raise SandboxError(400, "InvalidCursor", "The cursor is not valid") from None


def _after_url(base_url, cursor, params):
    query = f"cursor={quote(cursor, safe='')}"
    for name in ("include", "per_page"):
        if name in params:
            query += f"&{name}={quote(params[name], safe=',')}"
    return f"{base_url}{EXPORT_PATH}?{query}"


def _side_loaded_users(store, tickets, base_url):
    ids = {
        user_id
        for ticket in tickets
        for user_id in (ticket["requester_id"], ticket["submitter_id"], ticket["assignee_id"])
        if user_id is not None
    }
    return [render_user(user, base_url) for user in store.users(sorted(ids))]


class Replay:
    """Serves the recorded export exchanges in order, one per request."""

    def __init__(self, path):
        with open(path, encoding="utf-8") as handle:
            self._exchanges = [e for e in json.load(handle) if e["path"] == EXPORT_PATH]
        self._position = 0
        self._lock = threading.Lock()

    def next_exchange(self, params, base_url):
        """(status, headers, body) of the next recorded response."""
        with self._lock:
            if self._position >= len(self._exchanges):
                return 200, {}, self._end_of_recording(base_url)
            exchange = self._exchanges[self._position]
            self._check_cursor(exchange, params)
            self._position += 1
        body = dict(exchange["body"])
        if body.get("after_url"):
            body["after_url"] = _move_to(body["after_url"], base_url)
        # Recorded as `x-rate-limit`; capitalised so they replace the sandbox's own.
        headers = {_capitalised(name): values[-1] for name, values in exchange["headers"].items()
                   if name.lower().startswith("x-rate-limit")}
        return exchange["status"], headers, body

    def _check_cursor(self, exchange, params):
        recorded = _query_params(exchange["query"]).get("cursor")
        if recorded is not None and params.get("cursor") != recorded:
            raise SandboxError(400, "InvalidCursor", f"Replay expected cursor {recorded!r}, "
                                                     f"got {params.get('cursor')!r}")

    def _end_of_recording(self, base_url):
        last = self._exchanges[-1]["body"]
        return {"tickets": [], "after_url": _move_to(last["after_url"], base_url),
                "before_url": None, "after_cursor": last["after_cursor"],
                "before_cursor": None, "end_of_stream": True}


def _move_to(url, base_url):
    parts = urlsplit(url)
    return f"{base_url}{parts.path}?{parts.query}" if parts.query else f"{base_url}{parts.path}"


def _capitalised(header):
    return "-".join(part.capitalize() for part in header.split("-"))


def _query_params(query):
    return dict(parse_qsl(query))
