"""`POST /webhooks/stripe/`, Stripe's webhook endpoint: check `Stripe-Signature` on the raw
body, then hand the event to the inbox, which stores it once per event id and dispatches it
to the handlers the apps registered (`inbox.handles("stripe", "refund.updated")`).

A delivery is checked before anything is stored, so a forged request can neither run a
handler nor claim a real event's id. The signature is Stripe's scheme, checked here
without the SDK: `t=<timestamp>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`, and the
timestamp may be at most 300 s away from our clock, in the past or in the future, which
stops a captured delivery being replayed later.
"""

import hashlib
import hmac
import logging
import time

from django.conf import settings
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from billing_console.access import PUBLIC, requires
from billing_console.integrations import inbox
from billing_console.integrations.models import InboundEvent
from billing_console.parsing import json_document, whole_number

logger = logging.getLogger(__name__)

TOLERANCE_SECONDS = 300
# The inbox keeps event types of up to 128 characters (ids up to 255); Stripe's are shorter.
MAX_FIELD_LENGTH = 128


class SignatureError(Exception):
    pass


def verify_signature(payload, header, secret, *, tolerance=TOLERANCE_SECONDS, now=None):
    """Raise SignatureError unless `header` signs the raw `payload` bytes with `secret`
    at a time within `tolerance` seconds of `now`, before or after."""
    timestamp, signatures = _parse(header)
    signed = f"{timestamp}.".encode() + payload
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    if not any(hmac.compare_digest(expected, signature) for signature in signatures):
        raise SignatureError("No signature matches the payload.")
    current = time.time() if now is None else now
    # A timestamp ahead of our clock is refused too: otherwise a delivery signed for a
    # time in the future could be replayed until that time plus the tolerance.
    if abs(current - timestamp) > tolerance:
        raise SignatureError("The signature's timestamp is outside the tolerance window.")


def _parse(header):
    timestamp, signatures = None, []
    for part in (header or "").split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and whole_number(value) is not None:
            timestamp = whole_number(value)
        elif name == "v1":
            # Several v1 signatures arrive while a signing secret is being rolled.
            signatures.append(value)
    if timestamp is None or not signatures:
        raise SignatureError("The Stripe-Signature header is missing or malformed.")
    return timestamp, signatures


@requires(PUBLIC)  # anyone may knock; only a valid signature gets in
@csrf_exempt
@require_POST
def receive(request):
    secret = settings.STRIPE_WEBHOOK_SECRET
    if not secret:
        logger.error("A Stripe webhook arrived but STRIPE_WEBHOOK_SECRET is not set.")
        # 503, so Stripe keeps the event and delivers it again once we are configured.
        return JsonResponse({"message": "Webhooks are not configured.",
                             "code": "not_configured"}, status=503)
    try:
        verify_signature(request.body, request.headers.get("Stripe-Signature", ""), secret)
        event = _event(request.body)
    except SignatureError as error:
        return JsonResponse({"message": str(error), "code": "bad_signature"}, status=400)
    except ValueError as error:
        return JsonResponse({"message": str(error), "code": "bad_payload"}, status=400)
    _, created = inbox.accept(source=InboundEvent.Source.STRIPE, event_id=event["id"],
                              event_type=event["type"], payload=event)
    return JsonResponse({"received": True, "duplicate": not created})


def _event(body):
    event = json_document(body)
    if not isinstance(event, dict) or not all(
            isinstance(event.get(field), str) and 0 < len(event[field]) <= MAX_FIELD_LENGTH
            for field in ("id", "type")):
        raise ValueError("The payload is not a Stripe event.")
    return event
