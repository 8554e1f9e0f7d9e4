"""Signed webhook deliveries, as a Zendesk trigger on ticket create/update sends them.

The body follows the `TicketEventPayload` of Zendesk's webhooks AsyncAPI document (what a
trigger's JSON body template on `conditional_ticket_events` produces), plus `event`
(`ticket_created` / `ticket_updated`), which our trigger template adds. Each delivery is
signed like Zendesk's: `X-Zendesk-Webhook-Signature` is base64(HMAC-SHA256(secret,
timestamp + raw body)) and `X-Zendesk-Webhook-Signature-Timestamp` is the ISO 8601 time
signed. `X-Zendesk-Webhook-Invocation-Id` is unique per delivery (retries keep it).

Deliveries go out from one background thread, in order, each retried a few times with a
short backoff on a connection error or a 5xx; a request handler never waits for them.
"""

import base64
import hashlib
import hmac
import json
import logging
import queue
import threading
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime
from urllib.parse import urlsplit

from .resources import GROUPS

logger = logging.getLogger(__name__)

ATTEMPTS = 4
BACKOFF_SECONDS = (0.2, 1.0, 3.0)
TIMEOUT_SECONDS = 5
WEBHOOK_ID = "01SANDBOXWEBHOOK0000000000"


def sign(secret, timestamp, body):
    digest = hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def ticket_payload(event, ticket, users, comments):
    requester = users.get(ticket["requester_id"]) or {}
    assignee = users.get(ticket["assignee_id"]) or {}
    latest = comments[-1] if comments else None
    return {
        "event": event,
        "id": ticket["id"],
        "external_id": ticket["external_id"],
        "title": ticket["subject"],
        "description": ticket["description"],
        "status": ticket["status"],
        "priority": ticket["priority"],
        "type": ticket["type"],
        "requester_id": ticket["requester_id"],
        "requester_email": requester.get("email"),
        "requester_name": requester.get("name"),
        "assignee_id": ticket["assignee_id"],
        "assignee_email": assignee.get("email"),
        "group_id": ticket["group_id"],
        "group_name": next((g["name"] for g in GROUPS if g["id"] == ticket["group_id"]), None),
        "organization_id": ticket["organization_id"],
        "organization_name": None,
        "tags": list(ticket["tags"]),
        "via": ticket["via"]["channel"],
        "brand_id": ticket["brand_id"],
        "ticket_form_id": ticket["ticket_form_id"],
        "latest_comment": latest and {k: latest[k] for k in ("body", "public", "author_id")},
        "created_at": ticket["created_at"],
        "updated_at": ticket["updated_at"],
    }


class Notifier:
    def __init__(self, url, secret):
        if urlsplit(url).scheme not in ("http", "https"):
            raise ValueError(f"webhook_url must be http(s): {url!r}")
        self._url = url
        self._secret = secret or ""
        self._queue = queue.Queue()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="zendesk-webhooks", daemon=True)
        self._thread.start()

    def send(self, payload):
        self._queue.put(json.dumps(payload).encode())

    def close(self):
        self._stopping.set()
        self._queue.put(None)
        self._thread.join(timeout=TIMEOUT_SECONDS)

    def _run(self):
        while (body := self._queue.get()) is not None:
            self._deliver(body, invocation_id=str(uuid.uuid4()))

    def _deliver(self, body, invocation_id):
        for attempt in range(ATTEMPTS):
            if self._stopping.is_set() or self._post(body, invocation_id):
                return
            if attempt < len(BACKOFF_SECONDS):
                self._stopping.wait(BACKOFF_SECONDS[attempt])
        logger.warning("Gave up delivering Zendesk webhook %s to %s", invocation_id, self._url)

    def _post(self, body, invocation_id):
        timestamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        # The scheme was checked to be http(s) in __init__.
        request = urllib.request.Request(self._url, data=body, method="POST", headers={  # noqa: S310
            "Content-Type": "application/json",
            "User-Agent": "Zendesk Webhook",
            "X-Zendesk-Webhook-Id": WEBHOOK_ID,
            "X-Zendesk-Webhook-Invocation-Id": invocation_id,
            "X-Zendesk-Webhook-Signature-Timestamp": timestamp,
            "X-Zendesk-Webhook-Signature": sign(self._secret, timestamp, body),
        })
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS):  # noqa: S310
                return True
        except urllib.error.HTTPError as error:
            # A 4xx is the receiver's final word (bad signature, say); only 5xx is retried.
            return error.code < 500
        except (urllib.error.URLError, OSError) as error:
            logger.info("Zendesk webhook %s not delivered yet: %s", invocation_id, error)
            return False
