"""The hash chain: how an event's hash is computed, and how the chain is checked."""

import hashlib
import json
from dataclasses import dataclass

from django.core.serializers.json import DjangoJSONEncoder

GENESIS_HASH = "0" * 64

# Every stored field but the hash itself, in a fixed order.
HASHED_FIELDS = (
    "id", "created_at", "actor_id", "actor_username", "actor_role", "ip_address", "source",
    "action", "object_type", "object_id", "before", "after", "amount", "currency",
    "case_id", "zendesk_ticket_id", "stripe_object_id", "stripe_request_id", "reason",
    "outcome", "prev_hash",
)


def canonical_json(value):
    return json.dumps(
        value, cls=DjangoJSONEncoder, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )


def as_stored_json(value):
    """The value as the JSON column will give it back, so the hash survives a round trip."""
    return None if value is None else json.loads(canonical_json(value))


def event_hash(event):
    fields = {name: getattr(event, name) for name in HASHED_FIELDS}
    fields["created_at"] = event.created_at.isoformat(timespec="microseconds")
    return hashlib.sha256(canonical_json(fields).encode()).hexdigest()


@dataclass(frozen=True)
class ChainReport:
    checked: int
    last_verified_id: int | None
    broken_id: int | None = None
    problem: str = ""

    @property
    def intact(self):
        return self.broken_id is None


def verify_chain(events):
    """Walk events in id order; stop at the first one whose link or content is wrong."""
    previous = GENESIS_HASH
    checked = 0
    last_id = None
    for event in events:
        if event.prev_hash != previous:
            return ChainReport(checked, last_id, event.id, "its link to the previous event")
        if event_hash(event) != event.hash:
            return ChainReport(checked, last_id, event.id, "its content (hash mismatch)")
        previous = event.hash
        checked += 1
        last_id = event.id
    return ChainReport(checked, last_id)
