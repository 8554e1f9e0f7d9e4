"""`Idempotency-Key` for API calls that create money actions, as Stripe offers it.

A replay of a key with the same body gets the first answer; with another body, a 409.
Concurrent calls with one key queue on the key's row, so only the first one acts. The
work is split in two so that no network call runs inside a transaction:
`prepare()` reads from Stripe, outside any transaction; `commit(prepared)` runs inside
the one that holds the key's row lock and returns a DRF Response. Only a success is
kept: after an error, the same key and body try again.
"""

import hashlib
import json

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from rest_framework.response import Response

from billing_console.exceptions import ApplicationError
from money_actions.models import IdempotentRequest

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255


def run_idempotently(request, *, endpoint, prepare, commit):
    key = request.headers.get(HEADER)
    if not key:
        return commit(prepare())
    entry = _entry_for(request, key, endpoint)
    if entry.response_status is not None:
        return _replay(entry)
    prepared = prepare()
    with transaction.atomic():
        entry = IdempotentRequest.objects.select_for_update().get(pk=entry.pk)
        if entry.response_status is not None:
            return _replay(entry)
        response = commit(prepared)
        if response.status_code < 400:
            entry.response_status = response.status_code
            entry.response_body = json.loads(json.dumps(response.data, cls=DjangoJSONEncoder))
            entry.save(update_fields=["response_status", "response_body"])
        return response


def _entry_for(request, key, endpoint):
    if len(key) > MAX_KEY_LENGTH:
        raise ApplicationError(f"An {HEADER} has at most {MAX_KEY_LENGTH} characters.",
                               "idempotency_key")
    body_hash = _hash(request.data)
    entry, _ = IdempotentRequest.objects.get_or_create(
        user=request.user, key=key, defaults={"endpoint": endpoint, "body_hash": body_hash})
    if entry.endpoint != endpoint or entry.body_hash != body_hash:
        raise ApplicationError(f"This {HEADER} was used before with another request.",
                               "idempotency_key_reused", status=409)
    return entry


def _hash(data):
    canonical = json.dumps(data, sort_keys=True, cls=DjangoJSONEncoder, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _replay(entry):
    return Response(entry.response_body, status=entry.response_status,
                    headers={"Idempotent-Replayed": "true"})
