"""Sandbox-only endpoints under /_sandbox/, for tests; real Stripe has nothing like them.

- `POST /_sandbox/faults` with JSON `{"path": "/v1/refunds", "status": 429, "count": 2,
  "retry_after": 0}`: the next `count` requests to that path answer `status` (429 or 500)
  with Stripe's error body, before any key check or idempotency. `retry_after` (seconds)
  adds a `Retry-After` header.
- `DELETE /_sandbox/faults`: forget all pending faults.
- `GET /_sandbox/requests?path=/v1/refunds`: the requests received (method, path,
  headers, request_id), oldest first, optionally only for one path.
- `POST /_sandbox/webhooks/release`: start delivering the events a sandbox built with
  `hold_webhooks` has kept back, in order, and every later one as it happens.
"""

import json
from dataclasses import dataclass
from urllib.parse import parse_qs

SUPPORTED_FAULTS = (429, 500)


@dataclass
class Fault:
    status: int
    remaining: int
    retry_after: int | None = None

    def body(self):
        if self.status == 429:
            return {"error": {
                "type": "invalid_request_error", "code": "rate_limit",
                "message": "Too many requests hit the API too quickly. We recommend an "
                           "exponential backoff of your requests."}}
        return {"error": {"type": "api_error", "message": "An unknown error occurred"}}

    def headers(self):
        return {} if self.retry_after is None else {"Retry-After": str(self.retry_after)}


def take_fault(state, path):
    with state.lock:
        fault = state.faults.get(path)
        if not fault:
            return None
        fault.remaining -= 1
        if fault.remaining <= 0:
            del state.faults[path]
        return fault


def handle_control(server, method, path, query, body):
    state = server.state
    if path == "/_sandbox/webhooks/release" and method == "POST":
        if server.sender is None:
            return 409, {"error": {"type": "invalid_request_error",
                                   "message": "This sandbox sends no webhooks."}}
        server.sender.release()
        return 200, {"released": True}
    if path == "/_sandbox/faults" and method == "POST":
        try:
            spec = json.loads(body or "{}")
        except ValueError:
            spec = {}
        return _add_fault(state, spec if isinstance(spec, dict) else {})
    if path == "/_sandbox/faults" and method == "DELETE":
        with state.lock:
            state.faults.clear()
        return 200, {"faults": {}}
    if path == "/_sandbox/requests" and method == "GET":
        only = parse_qs(query).get("path", [None])[0]
        with state.lock:
            logged = [entry for entry in state.requests if only in (None, entry["path"])]
        return 200, {"data": logged}
    return 404, {"error": {"type": "invalid_request_error",
                           "message": f"Unknown sandbox control {method} {path}"}}


def _add_fault(state, spec):
    status = spec.get("status")
    if status not in SUPPORTED_FAULTS or not spec.get("path"):
        return 400, {"error": {"type": "invalid_request_error",
                               "message": "Give a path and a status of 429 or 500."}}
    with state.lock:
        state.faults[spec["path"]] = Fault(status, int(spec.get("count", 1)),
                                           spec.get("retry_after"))
    return 200, {"path": spec["path"], "status": status, "count": int(spec.get("count", 1))}
