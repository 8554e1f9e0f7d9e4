"""Idempotency keys for requests that create money actions, as Stripe offers them.

A replay of a key with the same body gets the first answer; with another body, a 409.
Concurrent calls with one key queue on the key's row, so only the first one acts. The
work is split in two so that no network call runs inside a transaction:
`prepare()` reads from Stripe, outside any transaction; `commit(prepared)` runs inside
the one that claims the key's row and returns an `Answer`, which is kept for replays.
A refusal (a 400, 404 or 409, in `prepare()` or `commit()`) keeps nothing, as Stripe's
keys do: the key is claimed only in the transaction that keeps the answer, so the same
key may try again, with the body corrected.

The API takes the key from the `Idempotency-Key` header (`run_idempotently`); the pages
put one in the confirm form, so a double click confirms once (`answer_once`).
"""

import hashlib
import json
from dataclasses import dataclass

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from rest_framework import serializers
from rest_framework.response import Response

from billing_console.api import IDEMPOTENCY_KEY, IDEMPOTENCY_KEY_MAX_LENGTH, IDEMPOTENT_REPLAYED
from billing_console.exceptions import ApplicationError
from money_actions.models import IdempotentRequest


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict
    replayed: bool = False


def run_idempotently(request, *, endpoint, prepare, commit):
    """An API view's answer, given once per `Idempotency-Key` when the caller sends one
    (`IDEMPOTENCY_KEY_PARAMETER` documents it). A key that is too long or not printable is
    a 400."""
    key = request.headers.get(IDEMPOTENCY_KEY)
    if key:
        if len(key) > IDEMPOTENCY_KEY_MAX_LENGTH or not key.isprintable():
            raise serializers.ValidationError({IDEMPOTENCY_KEY: [
                f"At most {IDEMPOTENCY_KEY_MAX_LENGTH} characters of printable text."]})
        answer = answer_once(user=request.user, key=key, endpoint=endpoint,
                             body=request.data, prepare=prepare, commit=commit)
    else:
        answer = commit(prepare())
    headers = {IDEMPOTENT_REPLAYED: "true"} if answer.replayed else None
    return Response(answer.body, status=answer.status, headers=headers)


def answer_once(*, user, key, endpoint, body, prepare, commit):
    """`commit(prepare())`'s `Answer`, kept under `user`'s `key` for `endpoint` and
    `body`; the kept answer when there is one. The key is claimed in the transaction that
    commits, so a refusal, in `prepare()` or in `commit()`, keeps nothing."""
    body_hash = _hash(body)
    kept = IdempotentRequest.objects.filter(user=user, key=key).first()
    if kept is not None and (replay := _replay(kept, endpoint, body_hash)):
        return replay
    prepared = prepare()
    with transaction.atomic():
        # A concurrent call with the key waits here until the first one commits (its
        # answer is then replayed) or rolls back (the key is free again).
        entry, created = IdempotentRequest.objects.select_for_update().get_or_create(
            user=user, key=key, defaults={"endpoint": endpoint, "body_hash": body_hash})
        if not created and (replay := _replay(entry, endpoint, body_hash)):
            return replay
        answer = commit(prepared)
        entry.endpoint, entry.body_hash = endpoint, body_hash
        entry.response_status = answer.status
        entry.response_body = json.loads(json.dumps(answer.body, cls=DjangoJSONEncoder))
        entry.save(update_fields=["endpoint", "body_hash", "response_status",
                                  "response_body"])
        return answer


def _replay(entry, endpoint, body_hash):
    """The answer kept under `entry`'s key for this request; None when it keeps none (a
    claim from before a refusal kept nothing). Another request under the key is a 409."""
    if entry.response_status is None:
        return None
    if entry.endpoint != endpoint or entry.body_hash != body_hash:
        raise ApplicationError(f"This {IDEMPOTENCY_KEY} was used before with another request.",
                               "idempotency_key_reused", status=409)
    return Answer(entry.response_status, entry.response_body, replayed=True)


def _hash(data):
    canonical = json.dumps(data, sort_keys=True, cls=DjangoJSONEncoder, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()
