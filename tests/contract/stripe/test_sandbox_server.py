"""The sandbox as a server: state that survives a restart, and signed webhooks that are
retried until the endpoint takes them."""

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from billing_console.integrations.stripe import gateway
from billing_console.integrations.stripe.sandbox import build_server
from billing_console.integrations.stripe.sandbox.builders import client_for

from .conftest import API_KEY, start_in_thread, stop

SECRET = "whsec_contract"


def test_state_survives_a_restart_with_a_state_file(tmp_path, settings):
    state_path = str(tmp_path / "stripe.json")
    first = build_server("127.0.0.1", 0, state_path=state_path)
    created = client_for(start_in_thread(first), API_KEY).v1.customers.create(
        params={"email": "kept@example.com"})
    stop(first)

    second = build_server("127.0.0.1", 0, state_path=state_path)
    settings.STRIPE_API_BASE = start_in_thread(second)
    settings.STRIPE_API_KEY = API_KEY
    try:
        found = gateway.find_customer_by_email(email="kept@example.com")
    finally:
        stop(second)

    assert found.id == created.id


class Receiver:
    """A webhook endpoint that fails its first `failures` deliveries, then keeps them."""

    def __init__(self, failures):
        self.failures = failures
        self.attempts = []
        self.received = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                receiver.attempts.append((self.headers["Stripe-Signature"], body))
                failing = len(receiver.attempts) <= receiver.failures
                self.send_response(500 if failing else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()
                if not failing:
                    receiver.received.set()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = start_in_thread(self.server) + "/webhooks/stripe/"


@pytest.fixture
def receiver():
    endpoint = Receiver(failures=1)
    yield endpoint
    stop(endpoint.server)


def _verify(header, payload):
    parts = dict(part.split("=", 1) for part in header.split(","))
    expected = hmac.new(SECRET.encode(), f"{parts['t']}.{payload}".encode(),
                        hashlib.sha256).hexdigest()
    return hmac.compare_digest(parts["v1"], expected) and \
        abs(time.time() - int(parts["t"])) < 300


def test_events_are_posted_signed_and_retried_until_accepted(receiver):
    server = build_server("127.0.0.1", 0, webhook_url=receiver.url, webhook_secret=SECRET)
    try:
        client_for(start_in_thread(server), API_KEY).v1.customers.create(
            params={"email": "hook@example.com"})
        assert receiver.received.wait(5), "the event was never delivered"
    finally:
        stop(server)

    (failed_signature, failed_body), (signature, body) = receiver.attempts[:2]
    event = json.loads(body)
    assert failed_body == body
    assert event["type"] == "customer.created"
    assert event["data"]["object"]["email"] == "hook@example.com"
    assert _verify(signature, body) and _verify(failed_signature, failed_body)


def test_a_refund_failure_due_before_a_restart_still_happens_after_it(tmp_path, settings):
    state_path = str(tmp_path / "stripe.json")
    first = build_server("127.0.0.1", 0, state_path=state_path)
    client = client_for(start_in_thread(first), API_KEY)
    intent = client.v1.payment_intents.create(params={
        "amount": 700, "currency": "usd", "payment_method": "pm_card_refundFail",
        "confirm": True})
    refund = client.v1.refunds.create(params={"charge": intent.latest_charge})
    stop(first)

    second = build_server("127.0.0.1", 0, state_path=state_path)
    settings.STRIPE_API_BASE = start_in_thread(second)
    settings.STRIPE_API_KEY = API_KEY
    try:
        deadline = time.monotonic() + 5
        while gateway.get_refund(refund_id=refund.id).status != "failed":
            assert time.monotonic() < deadline, "the refund never failed after the restart"
            time.sleep(0.1)
    finally:
        stop(second)


def test_held_webhooks_wait_for_their_release_then_go_in_order():
    receiver = Receiver(failures=0)
    server = build_server("127.0.0.1", 0, webhook_url=receiver.url, webhook_secret=SECRET,
                          hold_webhooks=True)
    try:
        url = start_in_thread(server)
        client = client_for(url, API_KEY)
        emails = [f"held{n}@example.com" for n in range(3)]
        for email in emails:
            client.v1.customers.create(params={"email": email})
        time.sleep(0.5)
        assert receiver.attempts == []
        released = requests.post(f"{url}/_sandbox/webhooks/release", timeout=5)
        assert released.status_code == 200
        deadline = time.monotonic() + 5
        while len(receiver.attempts) < len(emails):
            assert time.monotonic() < deadline, "the held events were never delivered"
            time.sleep(0.05)
    finally:
        stop(server)
        stop(receiver.server)
    sent = [json.loads(body)["data"]["object"]["email"] for _, body in receiver.attempts]
    assert sent == emails


def test_a_request_whose_body_never_fully_arrived_is_not_acted_on(sandbox, key):
    import socket
    from urllib.parse import urlsplit

    idempotency_key = key()
    body = b"email=half%40example.com&name=Half"
    url = urlsplit(sandbox.url)
    with socket.create_connection((url.hostname, url.port), timeout=5) as sent_in_part:
        sent_in_part.sendall(
            b"POST /v1/customers HTTP/1.1\r\nHost: sandbox\r\n"
            b"Authorization: Bearer " + API_KEY.encode() + b"\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
            b"Idempotency-Key: " + idempotency_key.encode() + b"\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body[:10])
        sent_in_part.shutdown(socket.SHUT_WR)  # the sender dies before the rest
        assert sent_in_part.recv(1024) == b""  # no answer: nothing was done

    created = client_for(sandbox.url, API_KEY).v1.customers.create(
        params={"email": "half@example.com", "name": "Half"},
        options={"idempotency_key": idempotency_key})

    assert created.email == "half@example.com"  # the key was not spent on half a request
