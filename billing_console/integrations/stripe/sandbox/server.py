"""The sandbox's HTTP layer: API keys, Request-Id, idempotency, injected faults, routing.

Each resource module lists its routes as (method, path pattern, handler); a handler gets
the state, the decoded parameters and the path's ids, and returns the object to send, or
raises a `StripeApiError`. All handlers run under the state's lock, one at a time.
"""

import base64
import json
import logging
import re
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qsl, urlsplit

from billing_console.integrations.sandbox_http import SandboxHTTPServer

from . import (
    catalog,
    credit_notes,
    customers,
    events,
    invoice_payments,
    invoices,
    payments,
    subscriptions,
    tax_rates,
)
from .control import handle_control, take_fault
from .delivery import Scheduler, WebhookSender
from .errors import StripeApiError, invalid_request
from .forms import decode
from .state import State, new_id

logger = logging.getLogger(__name__)

RESOURCE_MODULES = (customers, catalog, tax_rates, payments, invoices, invoice_payments,
                    credit_notes, subscriptions, events)
# Literal paths first, so `/v1/invoices/create_preview` is not read as an invoice id.
ROUTES = sorted(
    ((method, re.compile(f"^{pattern}$"), handler)
     for module in RESOURCE_MODULES
     for method, pattern, handler in module.ROUTES),
    key=lambda route: "(" in route[1].pattern,
)
SCHEDULED_ACTIONS = {**payments.SCHEDULED_ACTIONS}
API_VERSION = "2026-10-28.endive"


class SandboxServer(SandboxHTTPServer):

    def __init__(self, address, state, sender=None):
        super().__init__(address, SandboxRequestHandler)
        self.state = state
        self.sender = sender
        self.scheduler = Scheduler(state, SCHEDULED_ACTIONS)
        state.on_schedule = self.scheduler.start
        if sender:
            state.on_event = sender.send
        self.scheduler.resume()

    def shutdown(self):
        super().shutdown()
        self.scheduler.stop()
        if self.sender:
            self.sender.stop()
        self.state.close()


def build_server(host: str, port: int, *, state_path: str | None = None,
                 webhook_url: str | None = None, webhook_secret: str | None = None,
                 hold_webhooks: bool = False) -> SandboxServer:
    """A Stripe sandbox listening on host:port (0 picks a free port); call serve_forever().
    With `hold_webhooks`, events wait until `POST /_sandbox/webhooks/release`."""
    sender = (WebhookSender(webhook_url, webhook_secret, held=hold_webhooks)
              if webhook_url else None)
    return SandboxServer((host, port), State(state_path), sender)


class SandboxRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "stripe-sandbox"
    # Headers and body go out as separate writes; without this, Nagle's algorithm and the
    # client's delayed ACK hold each response back by some 40 ms.
    disable_nagle_algorithm = True

    def do_GET(self):  # noqa: N802 (http.server's naming)
        self._handle()

    def do_POST(self):  # noqa: N802
        self._handle()

    def do_DELETE(self):  # noqa: N802
        self._handle()

    # Stripe has no PUT or PATCH; they get its 404 (with a Request-Id) rather than a 501.
    do_PUT = do_PATCH = do_DELETE  # noqa: N815

    def log_message(self, format, *args):  # noqa: A002
        logger.debug("%s %s", self.address_string(), format % args)

    def _handle(self):
        request_id = new_id("req")
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if len(raw) < length:
            # The client went away before its whole body arrived: like Stripe, act on
            # nothing (and keep nothing under its idempotency key).
            self.close_connection = True
            return None
        body = raw.decode()
        state = self.server.state
        # The log is for tests; it keeps no API keys.
        headers = {name: value for name, value in self.headers.items()
                   if name.lower() != "authorization"}
        state.requests.append({"method": self.command, "path": url.path, "headers": headers,
                               "request_id": request_id})
        if url.path.startswith("/_sandbox/"):
            status, payload = handle_control(self.server, self.command, url.path,
                                             url.query, body)
            return self._respond(status, payload, {"Request-Id": request_id})
        fault = take_fault(state, url.path)
        if fault:
            return self._respond(fault.status, fault.body(), {"Request-Id": request_id,
                                                              **fault.headers()})
        pairs = parse_qsl(url.query, keep_blank_values=True)
        pairs += parse_qsl(body, keep_blank_values=True)
        status, payload, headers = self._answer(url.path, decode(pairs), request_id)
        self._respond(status, payload, {"Request-Id": request_id, **headers})

    def _answer(self, path, params, request_id):
        try:
            _authenticate(self.headers.get("Authorization", ""))
        except StripeApiError as error:
            return error.status, error.body(), {}
        key = self.headers.get("Idempotency-Key") if self.command == "POST" else None
        state = self.server.state
        with state.lock:
            if key:
                replay = _replay(state, key, self.command, path, params)
                if replay:
                    return replay
            status, payload = self._dispatch(path, params, request_id, key)
            if key and status < 500:
                state.remember(key, {"fingerprint": _fingerprint(self.command, path, params),
                                     "status": status, "body": payload,
                                     "request_id": request_id})
            if self.command != "GET":
                state.save()
        return status, payload, ({"Idempotency-Key": key} if key else {})

    def _dispatch(self, path, params, request_id, key):
        state = self.server.state
        state.current_request = {"id": request_id, "idempotency_key": key}
        try:
            for method, pattern, handler in ROUTES:
                match = pattern.match(path)
                if match and method == self.command:
                    return 200, handler(state, params, *match.groups())
            raise _unrecognized(self.command, path)
        except StripeApiError as error:
            return error.status, error.body()
        except Exception:
            logger.exception("Sandbox failed on %s %s", self.command, path)
            return 500, {"error": {"type": "api_error", "message": "An unknown error occurred"}}
        finally:
            state.current_request = None

    def _respond(self, status, payload, headers):
        encoded = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(encoded)))
        self.send_header("Stripe-Version", self.headers.get("Stripe-Version") or API_VERSION)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(encoded)


def _authenticate(authorization):
    """Any sk_test_ key is accepted, by Bearer or by Basic auth (curl -u sk_test_...:)."""
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() == "basic":
        credentials = base64.b64decode(credentials or "").decode(errors="replace").split(":")[0]
    elif scheme.lower() != "bearer":
        credentials = ""
    if not credentials:
        raise invalid_request(
            "You did not provide an API key. You need to provide your API key in the "
            "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
            "YOUR_SECRET_KEY').", status=401)
    if not credentials.startswith("sk_test_"):
        raise invalid_request(f"Invalid API Key provided: {_redacted(credentials)}", status=401)


def _redacted(key):
    return f"{key[:8]}{'*' * max(0, len(key) - 12)}{key[-4:]}"


def _fingerprint(method, path, params):
    return json.dumps([method, path, params], sort_keys=True)


def _replay(state, key, method, path, params):
    """The first response for this key, or an idempotency_error if the request differs."""
    stored = state.recall(key)
    if stored is None:
        return None
    if stored["fingerprint"] != _fingerprint(method, path, params):
        error = StripeApiError(
            400, "idempotency_error",
            "Keys for idempotent requests can only be used with the same parameters they "
            f"were first used with. Try using a key other than '{key}' if you meant to "
            "execute a different request.")
        return error.status, error.body(), {"Idempotency-Key": key}
    headers = {"Idempotency-Key": key, "Idempotent-Replayed": "true",
               "Original-Request": stored["request_id"]}
    return stored["status"], stored["body"], headers


def _unrecognized(method, path):
    return invalid_request(
        f"Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs or "
        "we can help at https://support.stripe.com/.", status=404)
