"""The hash chain: how an event's hash is computed, and how the chain is checked."""

import hashlib
import json
from dataclasses import dataclass

from django.core.serializers.json import DjangoJSONEncoder

from audit.exports import export_line
from audit.models import filter_columns

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
class ChainHead:
    """The newest event a verification reached, by id and hash."""

    id: int
    hash: str


@dataclass(frozen=True)
class ChainReport:
    """What a walk of the chain found. `last_verified_id` and `last_verified_hash` are the
    head it reached intact (None and "" when it reached none); `broken_id` names the first
    event that is wrong, or missing, with `problem` in words."""

    checked: int
    last_verified_id: int | None
    broken_id: int | None = None
    problem: str = ""
    last_verified_hash: str = ""

    @property
    def intact(self):
        return self.broken_id is None


def verify_chain(events, *, expected_head=None):
    """Walk events in id order; stop at the first one whose link or content is wrong.

    The links alone cannot show events deleted from the end of the trail: what is left is
    still a chain. So `expected_head`, the `ChainHead` an earlier verification reached,
    must still be there with the same hash; when it is not, the report is broken at its id.
    """
    previous, checked, last_id = GENESIS_HASH, 0, None
    for event in events:
        problem = _problem(event, previous, expected_head)
        if problem:
            return ChainReport(checked, last_id, event.id, problem, _hash_of(last_id, previous))
        previous, checked, last_id = event.hash, checked + 1, event.id
    if expected_head is not None and (last_id or 0) < expected_head.id:
        return ChainReport(checked, last_id, expected_head.id,
                           f"it is missing, though an earlier verification reached it with hash "
                           f"{expected_head.hash}: events were deleted from the end of the "
                           "trail", _hash_of(last_id, previous))
    return ChainReport(checked, last_id, last_verified_hash=_hash_of(last_id, previous))


def _problem(event, previous, expected_head):
    if event.prev_hash != previous:
        return "its link to the previous event"
    if event_hash(event) != event.hash:
        return "its content (hash mismatch)"
    derived = filter_columns(event.action, event.after)
    if any(getattr(event, name) != value for name, value in derived.items()):
        return "its filter columns, which disagree with its content"
    if event.export_line != export_line(event):
        return "its line of the CSV export, which disagrees with its content"
    if expected_head is not None and event.id == expected_head.id and (
            event.hash != expected_head.hash):
        return (f"it is not the event an earlier verification reached, which had hash "
                f"{expected_head.hash}: events were deleted from the end of the trail and "
                "others written in their place")
    return ""


def _hash_of(last_id, previous):
    return previous if last_id is not None else ""
