"""The Stripe sandbox, started once in this process on a free port, and each test's
settings pointed at it. Tests arrange data with the sandbox's SDK builders and act through
the gateway, so both sides of every call are the real `stripe` SDK over HTTP."""

import json
import threading
import urllib.error
import urllib.request
import uuid

import pytest

from billing_console.integrations.stripe.sandbox import build_server
from billing_console.integrations.stripe.sandbox.builders import client_for

API_KEY = "sk_test_contract"


class Sandbox:
    """A handle on the running sandbox: its address, an SDK client, and its test controls."""

    def __init__(self, url):
        self.url = url
        self.client = client_for(url, API_KEY)

    def inject(self, path, status, *, count=1, retry_after=None):
        spec = {"path": path, "status": status, "count": count}
        if retry_after is not None:
            spec["retry_after"] = retry_after
        self._control("POST", "/_sandbox/faults", spec)

    def clear_faults(self):
        self._control("DELETE", "/_sandbox/faults")

    def get_json(self, path):
        """The raw JSON the sandbox answers, as Stripe would send it over the wire."""
        status, _, body = send(self.url + path,
                               headers={"Authorization": f"Bearer {API_KEY}"})
        assert status == 200, body
        return body

    def requests_to(self, path):
        return self._control("GET", f"/_sandbox/requests?path={path}")["data"]

    def _control(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        status, _, answer = send(self.url + path, method=method, data=data)
        assert status == 200, answer
        return answer


def send(url, *, method="GET", data=None, headers=None):
    """(status, headers, JSON body) of a plain HTTP request to the loopback sandbox."""
    request = urllib.request.Request(url, data=data, method=method,  # noqa: S310 (http only)
                                     headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read())


def start_in_thread(server):
    """Serve in a daemon thread; returns the server's base URL."""
    # A short poll interval makes shutdown() quick.
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                     daemon=True).start()
    host, port = server.server_address[:2]
    return f"http://{host}:{port}"


def stop(server):
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def sandbox_server():
    server = build_server("127.0.0.1", 0)
    start_in_thread(server)
    yield server
    stop(server)


@pytest.fixture(scope="session")
def sandbox_handle(sandbox_server):
    host, port = sandbox_server.server_address[:2]
    return Sandbox(f"http://{host}:{port}")


@pytest.fixture
def sandbox(sandbox_handle, settings):
    handle = sandbox_handle
    settings.STRIPE_API_BASE = handle.url
    settings.STRIPE_API_KEY = API_KEY
    settings.STRIPE_MAX_NETWORK_RETRIES = 2
    settings.STRIPE_TIMEOUT_SECONDS = 10
    yield handle
    handle.clear_faults()


@pytest.fixture
def key():
    """A fresh idempotency key, as a money action row would derive from its id."""
    return lambda: f"console-test-{uuid.uuid4()}"


@pytest.fixture
def customer(sandbox):
    suffix = uuid.uuid4().hex[:8]
    return sandbox.client.v1.customers.create(params={
        "name": f"Ada {suffix}", "email": f"ada.{suffix}@example.com",
        "invoice_settings": {"default_payment_method": "pm_card_visa"}})
