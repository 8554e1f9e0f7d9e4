"""The Zendesk sandbox, served in-process on a free port for each test, with the gateway's
settings pointed at it."""

import base64
import json
import threading
import urllib.request

import pytest

from billing_console.integrations.zendesk.sandbox import build_server

EMAIL = "console@example.com"
TOKEN = "sandbox-token"


class RunningSandbox:
    """A started sandbox, and a plain-HTTP client for setting up data and test controls."""

    def __init__(self, server):
        self.server = server
        host, port = server.server_address[:2]
        self.url = f"http://{host}:{port}"

    def call(self, method, path, body=None):
        """Straight to the API, bypassing the gateway: (status, parsed body)."""
        data = None if body is None else json.dumps(body).encode()
        credentials = base64.b64encode(f"{EMAIL}/token:{TOKEN}".encode()).decode()
        # Loopback only: the URL is the sandbox's own.
        request = urllib.request.Request(self.url + path, data=data, method=method, headers={  # noqa: S310
            "Authorization": f"Basic {credentials}", "Content-Type": "application/json",
        })
        try:
            with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
                raw, status = response.read(), response.status
        except urllib.error.HTTPError as error:
            raw, status = error.read(), error.code
        return status, (json.loads(raw) if raw else None)

    def create_ticket(self, **fields):
        fields.setdefault("subject", "Charged twice")
        fields.setdefault("comment", {"body": "I was charged twice this month."})
        fields.setdefault("requester", {"name": "Ava Okafor", "email": "ava@example.com"})
        status, body = self.call("POST", "/api/v2/tickets.json", {"ticket": fields})
        assert status == 201, body
        return body["ticket"]

    def add_tickets(self, specs):
        """Tickets made directly in the store (fast), in order; returns them."""
        store = self.server.store
        author_id = store.agent_for(EMAIL)["id"]
        return [store.create_ticket(spec, author_id)[0] for spec in specs]

    def export_requests(self):
        return [r for r in self.requests_received() if "/incremental/tickets/" in r]

    def inject_fault(self, **spec):
        status, body = self.call("POST", "/_sandbox/faults", spec)
        assert status == 201, body

    def requests_received(self):
        return self.call("GET", "/_sandbox/requests")[1]["requests"]


def start(**options):
    server = build_server("127.0.0.1", 0, **options)
    # A short poll interval: shutdown() waits for it, once per test.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02},
                              daemon=True)
    thread.start()
    return server, thread


def point_gateway(settings, running):
    """Send the gateway's calls to this sandbox, for the current test."""
    settings.ZENDESK_API_URL = running.url
    settings.ZENDESK_SUBDOMAIN = "billing-console-test"
    settings.ZENDESK_EMAIL = EMAIL
    settings.ZENDESK_API_TOKEN = TOKEN


def stop(server, thread):
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def sandbox(zendesk_sandbox):
    """The project-wide `zendesk_sandbox` under a short name; a module builds it
    differently by overriding `zendesk_sandbox_options`."""
    return zendesk_sandbox
