"""Writing audit events. `record` is the only way a row gets into the trail."""

import ipaddress
from dataclasses import dataclass
from functools import partial

from django.db import connection, transaction
from django.utils import timezone

from audit.chain import GENESIS_HASH, ChainHead, as_stored_json, event_hash
from audit.exports import export_line
from audit.models import (
    AuditEvent,
    AuditExport,
    ChainVerification,
    Outcome,
    Source,
    filter_columns,
    role_label,
)
from billing_console.access import roles_of

# Any fixed 64-bit number: it names the lock that serialises writers of the chain.
_CHAIN_LOCK_KEY = 0x6175646974  # "audit"


def _lock_chain():
    """Serialise chain writers until the surrounding transaction ends.

    PostgreSQL: a transaction-scoped advisory lock, so two writers cannot both read the
    same last hash and fork the chain. SQLite: transactions begin IMMEDIATE (see
    settings), which already takes the one database-wide write lock.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK_KEY])


def _lock_actor(event):
    """Lock the actor's row as the event's foreign key check will (KEY SHARE), but before
    the chain's lock, which thereby stays the transaction's last (see `record`)."""
    if connection.vendor == "postgresql" and event.actor_id is not None:
        users = connection.ops.quote_name(AuditEvent.actor.field.related_model._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT 1 FROM {users} WHERE id = %s FOR KEY SHARE",  # noqa: S608
                           [event.actor_id])


def _normalised_ip(ip):
    return ipaddress.ip_address(ip).compressed if ip else None


def record(
    *, action, actor=None, actor_role="", ip=None, source=Source.CONSOLE, object_type="",
    object_id="", before=None, after=None, amount=None, currency="", case_id=None,
    zendesk_ticket_id=None, stripe_object_id="", stripe_request_id="", reason="",
    outcome=Outcome.SUCCESS,
):
    """Append one event to the chain, as part of the caller's transaction when there is one.

    Returns the `AuditEvent`. Inside a transaction it joins the chain just before COMMIT
    (`connection.run_before_commit`): only then are its `id`, `created_at`, `prev_hash`
    and `hash` filled in, and it is dropped if the transaction (or the savepoint it was
    recorded in) rolls back. The chain's lock is thereby the transaction's last lock,
    after every row lock, so a writer holding a row never waits for the chain while a
    writer holding the chain waits for that row (that was a deadlock). Events keep the
    order in which they were recorded. Outside a transaction it is written at once.

    `before` and `after` are copied now, as the JSON column will give them back; the
    filters' columns are derived from them now too (`filter_columns`).
    """
    after = as_stored_json(after)
    event = AuditEvent(
        actor=actor if actor is not None and actor.is_authenticated else None,
        actor_username=actor.get_username() if actor is not None else "",
        actor_role=actor_role or _role_label(actor),
        ip_address=_normalised_ip(ip),
        source=source,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        before=as_stored_json(before),
        after=after,
        amount=amount,
        currency=currency.upper(),
        case_id=case_id,
        zendesk_ticket_id=zendesk_ticket_id,
        stripe_object_id=stripe_object_id,
        stripe_request_id=stripe_request_id,
        reason=reason,
        outcome=outcome,
        **filter_columns(action, after),
    )
    connection.run_before_commit(partial(_append_to_chain, event))
    return event


def _append_to_chain(event):
    """Link `event` after the chain's last event and insert it, under the chain's lock
    (held until COMMIT, which follows at once). The id is part of the hash, so it is
    taken here too; the time is taken under the lock, from the database's clock, so ids
    and times rise together whichever host wrote the event (the trail's period filter
    relies on it, `audit.filters`)."""
    _lock_actor(event)
    _lock_chain()
    last = AuditEvent.objects.order_by("-id").values_list("id", "hash").first()
    last_id, event.prev_hash = last or (0, GENESIS_HASH)
    event.id = last_id + 1
    event.created_at = _database_now()
    event.hash = event_hash(event)
    event.export_line = export_line(event)
    event.save(force_insert=True)


def _database_now():
    """Now, by the database's clock: one clock for the web and the workers. SQLite's
    writers are one host's processes, which share its clock."""
    if connection.vendor != "postgresql":
        return timezone.now()
    with connection.cursor() as cursor:
        cursor.execute("SELECT clock_timestamp()")
        return cursor.fetchone()[0]


def _role_label(actor):
    if actor is None or not actor.is_authenticated:
        return ""
    return role_label(roles_of(actor))


def client_ip(request):
    return request.META.get("REMOTE_ADDR") or None


def request_source(request):
    return Source.API if request.path.startswith("/api/") else Source.CONSOLE


@dataclass(frozen=True)
class Origin:
    """Where a person's request came from, handed to services that audit on its behalf."""

    source: str = Source.CONSOLE
    ip: str | None = None

    @classmethod
    def of(cls, request):
        return cls(source=request_source(request), ip=client_ip(request))


def record_for_request(request, *, action, **fields):
    """`record` with who, from where and through what taken from the request."""
    user = getattr(request, "user", None)
    return record(
        action=action,
        actor=user if user is not None and user.is_authenticated else None,
        ip=client_ip(request),
        source=request_source(request),
        **fields,
    )


def record_denial(request, reason):
    return record_for_request(
        request,
        action="access.denied",
        object_type="url",
        object_id=f"{request.method} {request.path}"[:128],
        reason=reason,
        outcome=Outcome.DENIED,
    )


def audit_chain_verify():
    """Check the whole chain, and that the head the latest intact check reached is still
    there with the same hash; keep the result, with the head this check reached, as a
    `ChainVerification` (returned). A broken or shortened chain is a result, not an error."""
    from audit.selectors import verify_audit_chain

    report = verify_audit_chain(expected_head=_last_proven_head())
    return ChainVerification.objects.create(
        finished_at=timezone.now(), checked=report.checked,
        last_verified_id=report.last_verified_id,
        last_verified_hash=report.last_verified_hash, broken_id=report.broken_id,
        problem=report.problem)


def _last_proven_head():
    """Only an intact check's head: a broken one must not become the new normal, so a
    trail cut short keeps failing until someone restores it."""
    proven = (ChainVerification.objects.filter(broken_id__isnull=True)
              .exclude(last_verified_hash="").order_by("-finished_at", "-id").first())
    return ChainHead(proven.last_verified_id, proven.last_verified_hash) if proven else None


def audit_export_request(request, filters):
    """A background CSV export of `filters`, itself an audit event; the task starts once
    the row is committed."""
    from audit.tasks import write_audit_export

    with transaction.atomic():
        export = AuditExport.objects.create(requested_by=request.user,
                                            query=filters.as_query())
        record_for_request(request, action="audit.exported", object_type="audit_export",
                           object_id=export.pk,
                           reason=f"Filters: {filters.as_query() or 'none'} (background)")
        transaction.on_commit(lambda: write_audit_export.delay(export.pk))
    return export
