"""Idempotency keys for requests that create money actions, as Stripe offers them.

A replay of a key with the same body gets the first answer; with another body, a 409.
Concurrent calls with one key queue on the key's row, so only the first one acts. The
work is split in two so that no network call runs inside a transaction:
`prepare()` reads from Stripe, outside any transaction; `commit(prepared)` runs inside
the one that holds the key's row lock and returns an `Answer`, which is kept for replays.
A refusal (`ApplicationError`) rolls that transaction back and keeps nothing, so the same
key and body may try again.

The API takes the key from the `Idempotency-Key` header (`run_idempotently`); the pages
put one in the confirm form, so a double click confirms once (`answer_once`).
"""

import hashlib
import json
from dataclasses import dataclass

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from rest_framework.response import Response

from billing_console.exceptions import ApplicationError
from money_actions.models import IdempotentRequest

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict
    replayed: bool = False


def run_idempotently(request, *, endpoint, prepare, commit):
    """An API view's answer, given once per `Idempotency-Key` when the caller sends one."""
    key = request.headers.get(HEADER)
    if key:
        answer = answer_once(user=request.user, key=key, endpoint=endpoint,
                             body=request.data, prepare=prepare, commit=commit)
    else:
        answer = commit(prepare())
    headers = {"Idempotent-Replayed": "true"} if answer.replayed else None
    return Response(answer.body, status=answer.status, headers=headers)


def answer_once(*, user, key, endpoint, body, prepare, commit):
    entry = _entry_for(user, key, endpoint, body)
    if entry.response_status is not None:
        return _replay(entry)
    prepared = prepare()
    with transaction.atomic():
        entry = IdempotentRequest.objects.select_for_update().get(pk=entry.pk)
        if entry.response_status is not None:
            return _replay(entry)
        answer = commit(prepared)
        entry.response_status = answer.status
        entry.response_body = json.loads(json.dumps(answer.body, cls=DjangoJSONEncoder))
        entry.save(update_fields=["response_status", "response_body"])
        return answer


def _entry_for(user, key, endpoint, body):
    if len(key) > MAX_KEY_LENGTH:
        raise ApplicationError(f"An {HEADER} has at most {MAX_KEY_LENGTH} characters.",
                               "idempotency_key")
    if not key.isprintable():
        raise ApplicationError(f"An {HEADER} is printable text: no control characters.",
                               "idempotency_key")
    body_hash = _hash(body)
    entry, _ = IdempotentRequest.objects.get_or_create(
        user=user, key=key, defaults={"endpoint": endpoint, "body_hash": body_hash})
    if entry.endpoint != endpoint or entry.body_hash != body_hash:
        raise ApplicationError(f"This {HEADER} was used before with another request.",
                               "idempotency_key_reused", status=409)
    return entry


def _hash(data):
    canonical = json.dumps(data, sort_keys=True, cls=DjangoJSONEncoder, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _replay(entry):
    return Answer(entry.response_status, entry.response_body, replayed=True)
