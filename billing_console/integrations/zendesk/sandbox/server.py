"""The sandbox's HTTP side: authentication, rate limits, faults, routing to the store.

See the package docstring for the endpoints and the test controls.
"""

import base64
import binascii
import collections
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qsl, quote, urlsplit

from billing_console.integrations.sandbox_http import SandboxHTTPServer

from . import export, notifier, search
from .resources import GROUPS, TICKET_FIELDS, render_ticket, render_user
from .store import SandboxError, Store

DEFAULT_RATE_LIMIT = 700  # requests per window, as on the recorded account
DEFAULT_RATE_WINDOW = 60
MAX_BODY_BYTES = 5 * 1024 * 1024
COMMENTS_PAGE_MAX = 100
REQUEST_LOG_SIZE = 500


class RateLimiter:
    """A fixed window budget, reported in Zendesk's `X-Rate-Limit*` headers."""

    def __init__(self, limit=DEFAULT_RATE_LIMIT, window=DEFAULT_RATE_WINDOW):
        self._lock = threading.Lock()
        self.configure(limit, window)

    def configure(self, limit, window):
        with self._lock:
            self.limit, self.window = limit, window
            self._window_start, self._used = time.monotonic(), 0

    def take(self):
        """(allowed, remaining, seconds until the window resets)."""
        with self._lock:
            now = time.monotonic()
            if now - self._window_start >= self.window:
                self._window_start, self._used = now, 0
            reset = max(1, int(self._window_start + self.window - now + 0.999))
            if self._used >= self.limit:
                return False, 0, reset
            self._used += 1
            return True, self.limit - self._used, reset


class Faults:
    """Failures queued by tests: the next `times` requests under `path` get `status`."""

    def __init__(self):
        self._lock = threading.Lock()
        self._pending = []

    def add(self, spec):
        fault = {
            "path": str(spec.get("path", export.EXPORT_PATH)),
            "status": _number(spec, "status", 429),
            "retry_after": _number(spec, "retry_after", 1),
            "times": _number(spec, "times", 1),
        }
        with self._lock:
            self._pending.append(fault)
        return fault

    def take(self, path):
        with self._lock:
            for fault in self._pending:
                if path.startswith(fault["path"]):
                    fault["times"] -= 1
                    if fault["times"] <= 0:
                        self._pending.remove(fault)
                    return fault
        return None


class SandboxServer(SandboxHTTPServer):

    def __init__(self, address, *, store, replay, notifier_):
        super().__init__(address, SandboxHandler)
        self.store = store
        self.replay = replay
        self.notifier = notifier_
        self.rate_limiter = RateLimiter()
        self.faults = Faults()
        self.request_log = collections.deque(maxlen=REQUEST_LOG_SIZE)

    def notify(self, event, ticket):
        if self.notifier is None:
            return
        ids = [ticket["requester_id"], ticket["assignee_id"]]
        users = {user["id"]: user for user in self.store.users([i for i in ids if i])}
        comments = self.store.comments(ticket["id"])
        self.notifier.send(notifier.ticket_payload(event, ticket, users, comments))

    def server_close(self):
        super().server_close()
        if self.notifier is not None:
            self.notifier.close()


def _route(method, pattern):
    def register(handler):
        SandboxHandler.routes.append((method, re.compile(pattern + r"\Z"), handler))
        return handler

    return register


class SandboxHandler(BaseHTTPRequestHandler):
    routes = []
    server: SandboxServer

    def log_message(self, format, *args):
        """Quiet: tests and `make run` would otherwise print every request."""

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def do_PUT(self):
        self._dispatch("PUT")

    def do_DELETE(self):
        self._dispatch("DELETE")

    # --- plumbing ----------------------------------------------------------------------

    @property
    def base_url(self):
        host = self.headers.get("Host") or "{}:{}".format(*self.server.server_address[:2])
        return f"http://{host}"

    def _dispatch(self, method):
        parts = urlsplit(self.path)
        self.params = dict(parse_qsl(parts.query))
        self.extra_headers = {}
        try:
            if parts.path.startswith("/_sandbox/"):
                self._send(*self._control(method, parts.path))
                return
            self.server.request_log.append(f"{method} {self.path}")
            self._guard(parts.path)
            for route_method, pattern, handler in self.routes:
                match = pattern.match(parts.path)
                if match and route_method == method:
                    self._send(*handler(self, *match.groups()))
                    return
            raise SandboxError(404, "InvalidEndpoint", "Not found")
        except SandboxError as error:
            self._send(error.status, error.body)

    def _guard(self, path):
        """Authentication, then test faults, then the rate-limit budget."""
        self.agent = self.server.store.agent_for(_basic_auth_email(self.headers))
        fault = self.server.faults.take(path)
        if fault:
            self.extra_headers["Retry-After"] = str(fault["retry_after"])
            error = "TooManyRequests" if fault["status"] == 429 else "InjectedFault"
            raise SandboxError(fault["status"], error, "Injected by the sandbox")
        allowed, remaining, reset = self.server.rate_limiter.take()
        self.extra_headers["X-Rate-Limit"] = str(self.server.rate_limiter.limit)
        self.extra_headers["X-Rate-Limit-Remaining"] = str(remaining)
        if not allowed:
            self.extra_headers["Retry-After"] = str(reset)
            raise SandboxError(429, "TooManyRequests", "You have exceeded the rate limit")

    def content_length(self):
        length = self.headers.get("Content-Length") or "0"
        if not length.isdigit():
            raise SandboxError(400, "InvalidValue", "Content-Length must be a number")
        if int(length) > MAX_BODY_BYTES:
            raise SandboxError(413, "PayloadTooLarge", "Request body too large")
        return int(length)

    def json_body(self):
        length = self.content_length()
        raw = self.rfile.read(length) if length else b"{}"
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise SandboxError(400, "InvalidJSON", "The request body is not JSON") from None
        if not isinstance(body, dict):
            raise SandboxError(400, "InvalidJSON", "The request body must be an object")
        return body

    def json_object(self, name):
        value = self.json_body().get(name)
        if not isinstance(value, dict):
            raise SandboxError(400, "InvalidJSON", f"The request body needs a {name!r} object")
        return value

    def _send(self, status, body=None, headers=None):
        payload = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        for name, value in {**self.extra_headers, **(headers or {})}.items():
            self.send_header(name, value)
        if body is not None:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    # --- test controls -----------------------------------------------------------------

    def _control(self, method, path):
        if (method, path) == ("POST", "/_sandbox/faults"):
            return 201, {"fault": self.server.faults.add(self.json_body())}
        if (method, path) == ("POST", "/_sandbox/rate_limit"):
            body = self.json_body()
            limiter = self.server.rate_limiter
            limiter.configure(_number(body, "limit", limiter.limit),
                              _number(body, "window_seconds", limiter.window))
            return 200, {"limit": limiter.limit, "window_seconds": limiter.window}
        if (method, path) == ("GET", "/_sandbox/requests"):
            return 200, {"requests": list(self.server.request_log)}
        raise SandboxError(404, "InvalidEndpoint", "Not found")


def _number(spec, key, default):
    try:
        return int(spec.get(key, default))
    except (TypeError, ValueError):
        raise SandboxError(400, "InvalidValue", f"{key} must be a number") from None


def _basic_auth_email(headers):
    """The email of `Basic base64(email/token:TOKEN)`; any token is accepted."""
    scheme, _, encoded = (headers.get("Authorization") or "").partition(" ")
    try:
        user, _, token = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        user, token = "", ""
    email, _, kind = user.partition("/")
    if scheme.lower() != "basic" or kind != "token" or "@" not in email or not token:
        raise SandboxError(401, "Couldn't authenticate you", "Use email/token:API_TOKEN")
    return email.lower()


def _ids(params):
    try:
        return [int(i) for i in params.get("ids", "").split(",") if i]
    except ValueError:
        raise SandboxError(400, "InvalidValue", "ids must be numbers") from None


# --- users ---------------------------------------------------------------------------------


@_route("POST", r"/api/v2/users\.json")
def create_user(request):
    user = request.server.store.create_user(request.json_object("user"))
    return 201, {"user": render_user(user, request.base_url)}


@_route("GET", r"/api/v2/users/show_many\.json")
def show_many_users(request):
    users = request.server.store.users(_ids(request.params))
    return 200, {"users": [render_user(u, request.base_url) for u in users],
                 "next_page": None, "previous_page": None, "count": len(users)}


@_route("GET", r"/api/v2/users/search\.json")
def search_users(request):
    users = request.server.store.search_users(request.params.get("query", ""))
    return 200, {"users": [render_user(u, request.base_url) for u in users],
                 "next_page": None, "previous_page": None, "count": len(users)}


@_route("GET", r"/api/v2/users/(\d+)\.json")
def show_user(request, user_id):
    return 200, {"user": render_user(request.server.store.user(int(user_id)), request.base_url)}


# --- tickets -------------------------------------------------------------------------------


@_route("POST", r"/api/v2/tickets\.json")
def create_ticket(request):
    ticket, audit = request.server.store.create_ticket(request.json_object("ticket"),
                                                       request.agent["id"])
    request.server.notify("ticket_created", ticket)
    return 201, {"ticket": render_ticket(ticket, request.base_url), "audit": audit}


@_route("GET", r"/api/v2/tickets/show_many\.json")
def show_many_tickets(request):
    tickets = request.server.store.tickets(_ids(request.params))
    return 200, {"tickets": [render_ticket(t, request.base_url) for t in tickets],
                 "next_page": None, "previous_page": None, "count": len(tickets)}


@_route("GET", r"/api/v2/tickets/(\d+)\.json")
def show_ticket(request, ticket_id):
    ticket = request.server.store.ticket(int(ticket_id))
    return 200, {"ticket": render_ticket(ticket, request.base_url)}


@_route("PUT", r"/api/v2/tickets/(\d+)\.json")
def update_ticket(request, ticket_id):
    ticket, audit = request.server.store.update_ticket(
        int(ticket_id), request.json_object("ticket"), request.agent["id"]
    )
    request.server.notify("ticket_updated", ticket)
    return 200, {"ticket": render_ticket(ticket, request.base_url), "audit": audit}


@_route("DELETE", r"/api/v2/tickets/(\d+)\.json")
def delete_ticket(request, ticket_id):
    request.server.store.delete_ticket(int(ticket_id))
    return 204, None


@_route("POST", r"/api/v2/tickets/(\d+)/merge")
def merge_tickets(request, target_id):
    """Queues the merge and answers with its job status at once, as Zendesk does; the
    job runs in the background (poll `job_statuses/{id}`)."""
    store, server, data = request.server.store, request.server, request.json_body()
    job, source_ids = store.queue_merge(int(target_id), data, request.base_url)
    author_id = request.agent["id"]

    def run():
        for ticket in store.run_merge(job["id"], int(target_id), source_ids, data, author_id):
            server.notify("ticket_updated", ticket)

    threading.Thread(target=run, name=f"zendesk-merge-{job['id']}", daemon=True).start()
    return 200, {"job_status": job}


@_route("GET", r"/api/v2/job_statuses/([A-Za-z0-9]+)\.json")
def show_job_status(request, job_id):
    return 200, {"job_status": request.server.store.job(job_id)}


@_route("GET", r"/api/v2/tickets/(\d+)/comments\.json")
def list_comments(request, ticket_id):
    """Cursor pagination: `page[size]` (up to 100) and `page[after]`, as Zendesk's."""
    comments = request.server.store.comments(int(ticket_id))
    size = _page_size(request.params.get("page[size]", str(COMMENTS_PAGE_MAX)))
    after = _comment_cursor_id(request.params.get("page[after]"))
    remaining = [c for c in comments if c["id"] > after]
    page, has_more = remaining[:size], len(remaining) > size
    first, last = (_comment_cursor(page[0]), _comment_cursor(page[-1])) if page else (None, None)
    url = f"{request.base_url}/api/v2/tickets/{ticket_id}/comments.json?page%5Bsize%5D={size}"
    body = {
        "comments": page,
        "meta": {"has_more": has_more, "after_cursor": last, "before_cursor": first},
        "links": {
            "prev": first and f"{url}&page%5Bbefore%5D={quote(first, safe='')}",
            "next": last and f"{url}&page%5Bafter%5D={quote(last, safe='')}",
        },
    }
    if "users" in request.params.get("include", "").split(","):
        # `include=users` side-loads the page's comment authors, as Zendesk does.
        authors = sorted({c["author_id"] for c in page if c.get("author_id")})
        body["users"] = [render_user(u, request.base_url)
                         for u in request.server.store.users(authors)]
    return 200, body


def _page_size(value):
    if not value.isdigit() or not 1 <= int(value) <= COMMENTS_PAGE_MAX:
        raise SandboxError(400, "InvalidPaginationParameter",
                           f"page[size] must be between 1 and {COMMENTS_PAGE_MAX}")
    return int(value)


def _comment_cursor(comment):
    return base64.b64encode(json.dumps({"o": "created_at,id", "v": comment["id"]}).encode()
                            ).decode()


def _comment_cursor_id(cursor):
    if not cursor:
        return 0
    try:
        return int(json.loads(base64.b64decode(cursor, validate=True))["v"])
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise SandboxError(400, "InvalidPaginationParameter", "Invalid cursor") from None


@_route("GET", r"/api/v2/tickets/(\d+)/audits\.json")
def list_audits(request, ticket_id):
    audits = request.server.store.audits(int(ticket_id))
    return 200, {"audits": audits, "next_page": None, "previous_page": None,
                 "count": len(audits)}


@_route("POST", r"/api/v2/uploads\.json")
def create_upload(request):
    file_name = request.params.get("filename")
    if not file_name:
        raise SandboxError(400, "InvalidValue", "filename is required")
    length = request.content_length()
    request.rfile.read(length)  # the sandbox keeps the metadata, not the bytes
    token, attachment = request.server.store.create_upload(
        file_name=file_name, size=length, base_url=request.base_url,
        content_type=request.headers.get("Content-Type") or "application/octet-stream",
    )
    return 201, {"upload": {"token": token, "expires_at": None,
                            "attachments": [attachment], "attachment": attachment}}


# --- account configuration, export, search -------------------------------------------------


@_route("GET", r"/api/v2/groups\.json")
def list_groups(request):
    return 200, {"groups": list(GROUPS), "next_page": None, "previous_page": None,
                 "count": len(GROUPS)}


@_route("GET", r"/api/v2/ticket_fields\.json")
def list_ticket_fields(request):
    return 200, {"ticket_fields": list(TICKET_FIELDS), "next_page": None,
                 "previous_page": None, "count": len(TICKET_FIELDS)}


@_route("GET", re.escape(export.EXPORT_PATH))
def incremental_tickets(request):
    if request.server.replay is not None:
        status, headers, body = request.server.replay.next_exchange(request.params,
                                                                    request.base_url)
        return status, body, headers
    return 200, export.export_page(request.server.store, request.params, request.base_url)


@_route("GET", r"/api/v2/search\.json")
def search_tickets(request):
    return 200, search.search(request.server.store, request.params, request.base_url)


def build(host, port, *, state_path, webhook_url, webhook_secret, replay_path):
    notifier_ = notifier.Notifier(webhook_url, webhook_secret) if webhook_url else None
    replay = export.Replay(replay_path) if replay_path else None
    return SandboxServer((host, port), store=Store(state_path), replay=replay,
                         notifier_=notifier_)

