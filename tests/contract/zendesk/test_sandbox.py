"""The sandbox's own promises: Zendesk's limits and errors, persistence, and signed webhooks."""

import base64
import hashlib
import hmac
import json
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from billing_console.integrations.zendesk import gateway
from billing_console.integrations.zendesk.errors import ZendeskTransientError

from .conftest import RunningSandbox, start, stop

WEBHOOK_SECRET = "whsec-sandbox-test"


def test_search_refuses_a_page_past_zendesks_1000_result_limit(sandbox):
    status, last_page = sandbox.call("GET", "/api/v2/search.json?query=type:ticket&page=10")
    assert status == 200
    assert last_page["next_page"] is None

    status, body = sandbox.call("GET", "/api/v2/search.json?query=type:ticket&page=11")
    assert status == 422
    assert body["error"] == "invalid"


def test_it_reports_the_rate_limit_budget_and_answers_429_past_it(sandbox):
    sandbox.call("POST", "/_sandbox/rate_limit", {"limit": 2, "window_seconds": 60})
    opener = urllib.request.build_opener()
    request = authorised(sandbox, "/api/v2/groups.json")

    remaining = [opener.open(request).headers["X-Rate-Limit-Remaining"] for _ in range(2)]
    with pytest.raises(urllib.error.HTTPError) as limited:
        opener.open(request)

    assert remaining == ["1", "0"]
    assert limited.value.code == 429
    assert 0 < int(limited.value.headers["Retry-After"]) <= 60
    with pytest.raises(ZendeskTransientError):
        gateway.search_escalated_tickets()


def authorised(sandbox, path, email="console@example.com"):
    credentials = base64.b64encode(f"{email}/token:secret".encode()).decode()
    return urllib.request.Request(sandbox.url + path,  # noqa: S310 - the loopback sandbox
                                  headers={"Authorization": f"Basic {credentials}"})


@pytest.mark.parametrize("authorization", [None, "Basic bm9wZQ==", "Bearer abc"])
def test_it_refuses_requests_without_api_token_credentials(sandbox, authorization):
    request = urllib.request.Request(sandbox.url + "/api/v2/groups.json")  # noqa: S310
    if authorization:
        request.add_header("Authorization", authorization)

    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request)  # noqa: S310

    assert refused.value.code == 401


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'{"ticket": "x"}'])
def test_malformed_input_is_a_client_error_not_a_crash(sandbox, body):
    request = authorised(sandbox, "/api/v2/tickets.json")
    request.data, request.method = body, "POST"

    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request)  # noqa: S310

    assert refused.value.code == 400


def test_state_survives_a_restart_with_a_state_file(tmp_path):
    state_path = str(tmp_path / "zendesk.json")
    server, thread = start(state_path=state_path)
    ticket = RunningSandbox(server).create_ticket(tags=["billing_escalation"])
    stop(server, thread)

    server, thread = start(state_path=state_path)
    try:
        status, body = RunningSandbox(server).call("GET", f"/api/v2/tickets/{ticket['id']}.json")
        second = RunningSandbox(server).create_ticket()
    finally:
        stop(server, thread)

    assert status == 200
    assert body["ticket"]["tags"] == ["billing_escalation"]
    assert second["id"] == ticket["id"] + 1


class Receiver:
    """A webhook endpoint that records deliveries; it can fail the first few."""

    def __init__(self, failures=0):
        self.deliveries = []
        self.failures = failures
        self.arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                failing = receiver.failures > 0
                receiver.failures -= 1
                self.send_response(500 if failing else 200)
                self.end_headers()
                with receiver.arrived:
                    receiver.deliveries.append((dict(self.headers), body, failing))
                    receiver.arrived.notify_all()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhooks/zendesk/"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02},
                         daemon=True).start()

    def wait_for(self, count, timeout=5):
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.deliveries) >= count, timeout=timeout)
        return self.deliveries

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.close()


@pytest.fixture
def zendesk_sandbox_options(receiver):
    return {"webhook_url": receiver.url, "webhook_secret": WEBHOOK_SECRET}


def expected_signature(headers, body):
    signed = headers["X-Zendesk-Webhook-Signature-Timestamp"].encode() + body
    digest = hmac.new(WEBHOOK_SECRET.encode(), signed, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def test_it_sends_a_signed_webhook_on_ticket_create_and_update(sandbox, receiver):
    ticket = sandbox.create_ticket(tags=["billing_escalation"])
    gateway.add_internal_note(ticket["id"], "Looking into it.")

    created, updated = receiver.wait_for(2)

    for headers, body, _ in (created, updated):
        assert headers["X-Zendesk-Webhook-Signature"] == expected_signature(headers, body)
    assert created[0]["X-Zendesk-Webhook-Invocation-Id"] != updated[0][
        "X-Zendesk-Webhook-Invocation-Id"]
    created_payload, updated_payload = json.loads(created[1]), json.loads(updated[1])
    assert (created_payload["event"], created_payload["id"]) == ("ticket_created", ticket["id"])
    assert created_payload["requester_email"] == "ava@example.com"
    assert created_payload["tags"] == ["billing_escalation"]
    assert updated_payload["event"] == "ticket_updated"
    assert updated_payload["latest_comment"]["public"] is False


def test_a_failed_webhook_delivery_is_retried_with_the_same_invocation_id(sandbox, receiver):
    receiver.failures = 1

    sandbox.create_ticket()

    failed, delivered = receiver.wait_for(2)
    assert failed[2] and not delivered[2]
    assert failed[0]["X-Zendesk-Webhook-Invocation-Id"] == delivered[0][
        "X-Zendesk-Webhook-Invocation-Id"]


def test_the_webhook_is_sent_without_holding_up_the_api_call():
    gone = Receiver()
    gone.close()  # nobody listening: every attempt fails
    server, thread = start(webhook_url=gone.url, webhook_secret=WEBHOOK_SECRET)
    try:
        started = time.monotonic()
        RunningSandbox(server).create_ticket()
        assert time.monotonic() - started < 1
    finally:
        stop(server, thread)


def test_a_refused_update_leaves_the_ticket_as_it_was(sandbox):
    ticket = sandbox.create_ticket()

    status, _ = sandbox.call("PUT", f"/api/v2/tickets/{ticket['id']}.json", {"ticket": {
        "status": "open", "comment": {"body": "hi", "uploads": ["no-such-upload"]},
    }})

    assert status == 422
    _, after = sandbox.call("GET", f"/api/v2/tickets/{ticket['id']}.json")
    assert after["ticket"]["status"] == "new"
    _, comments = sandbox.call("GET", f"/api/v2/tickets/{ticket['id']}/comments.json")
    assert len(comments["comments"]) == 1
