"""`POST /webhooks/zendesk/`: Zendesk's signed ticket webhooks, verified and stored once.

Zendesk signs `timestamp + raw body` with HMAC-SHA256 under the webhook's signing secret
(`ZENDESK_WEBHOOK_SECRET`) and sends the base64 digest in `X-Zendesk-Webhook-Signature`,
the ISO 8601 timestamp in `X-Zendesk-Webhook-Signature-Timestamp`. We refuse a timestamp
more than five minutes away from our clock, so a captured delivery cannot be replayed
later. A delivery is verified before it is stored (see `inbox`), and stored under its
`X-Zendesk-Webhook-Invocation-Id`, which Zendesk keeps across retries: a repeat changes
nothing. Handlers registered with `inbox.handles("zendesk", "ticket_created", ...)` then
run from Celery; they re-read the ticket through the gateway rather than trust the body.
"""

import base64
import hashlib
import hmac
import logging
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from billing_console.access import PUBLIC, requires
from billing_console.integrations import inbox
from billing_console.integrations.models import InboundEvent
from billing_console.parsing import json_document

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Zendesk-Webhook-Signature"
TIMESTAMP_HEADER = "X-Zendesk-Webhook-Signature-Timestamp"
INVOCATION_HEADER = "X-Zendesk-Webhook-Invocation-Id"
TOLERANCE = timedelta(minutes=5)
# Our trigger's JSON body names the event; a body without it is still a ticket event.
DEFAULT_EVENT_TYPE = "ticket_event"
MAX_ID_LENGTH = 255


class InvalidDelivery(Exception):
    """The request is not a genuine, fresh Zendesk delivery."""


@requires(PUBLIC)  # anyone may knock; only a valid signature gets in
@csrf_exempt
@require_POST
def receive(request):
    secret = settings.ZENDESK_WEBHOOK_SECRET
    if not secret:
        logger.error("Zendesk webhook received but ZENDESK_WEBHOOK_SECRET is not set")
        return JsonResponse({"message": "Zendesk webhooks are not configured"}, status=503)
    try:
        verify(body=request.body, signature=request.headers.get(SIGNATURE_HEADER, ""),
               timestamp=request.headers.get(TIMESTAMP_HEADER, ""), secret=secret)
        event_id, event_type, payload = parse(request.body, request.headers)
    except InvalidDelivery as refused:
        return JsonResponse({"message": str(refused), "code": "invalid_webhook"}, status=400)
    _, created = inbox.accept(source=InboundEvent.Source.ZENDESK, event_id=event_id,
                              event_type=event_type, payload=payload)
    return JsonResponse({"received": True, "duplicate": not created})


def verify(*, body, signature, timestamp, secret, now=None):
    """Raise InvalidDelivery unless `signature` signs `timestamp + body` and the timestamp
    is within `TOLERANCE` of `now`."""
    expected = base64.b64encode(
        hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256).digest()
    ).decode()
    if not signature or not hmac.compare_digest(expected, signature):
        raise InvalidDelivery("The webhook signature does not match")
    signed_at = _parse_timestamp(timestamp)
    if abs((now or datetime.now(UTC)) - signed_at) > TOLERANCE:
        raise InvalidDelivery("The webhook timestamp is outside the accepted window")


def parse(body, headers):
    """(event id, event type, payload) of a verified delivery."""
    event_id = headers.get(INVOCATION_HEADER, "").strip()
    if not event_id or len(event_id) > MAX_ID_LENGTH:
        raise InvalidDelivery(f"{INVOCATION_HEADER} is missing")
    try:
        payload = json_document(body)
    except ValueError:  # UnicodeDecodeError is one
        raise InvalidDelivery("The webhook body is not JSON") from None
    if not isinstance(payload, dict):
        raise InvalidDelivery("The webhook body is not a JSON object")
    event_type = payload.get("event") or DEFAULT_EVENT_TYPE
    if not isinstance(event_type, str) or len(event_type) > 128:
        raise InvalidDelivery("The webhook event type is not valid")
    return event_id, event_type, payload


def _parse_timestamp(value):
    try:
        signed_at = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidDelivery("The webhook timestamp is not a date") from None
    return signed_at if signed_at.tzinfo else signed_at.replace(tzinfo=UTC)
