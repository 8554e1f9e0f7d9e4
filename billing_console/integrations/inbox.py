"""Webhook intake shared by Stripe and Zendesk: store once, dispatch to registered handlers,
retry what failed, give up after `MAX_ATTEMPTS`.

Each source's `webhooks.py` verifies its own signature and then calls `accept`. A delivery
is verified *before* it is stored: storing first would let an unsigned request claim a
real event id, and the genuine event would then be dropped as a repeat.

Apps register handlers by source and event type:

    @inbox.handles("stripe", "refund.updated")
    def on_refund_updated(event): ...

A handler gets the stored `InboundEvent`, re-reads the object it names from the API, and
must be safe to run twice: a failed event runs again.

The row is its own outbox, under the one outbox rule (`outbox.py`): `process` claims it
as `processing` under a row lock before any handler runs, so two workers given the same
event never run its handlers at the same time, and a processed event never runs again
by itself. A claim older than `CLAIM_TIMEOUT` belongs to a lost worker and may be taken
again.

A failed event runs again at `next_attempt_at`, after 1, 2, 4 ... minutes (at most
`LONGEST_WAIT`). The failing worker queues that retry itself when the wait fits in a
Celery countdown (`CELERY_MAX_RETRY_DELAY_SECONDS`, kept below the broker's visibility
timeout); `requeue_due`, run by beat, queues longer waits and whatever a lost message or
worker left behind. After `MAX_ATTEMPTS` the event has `gave_up`: it waits for an admin
(the integrations page's "retry now", or `manage.py stripe_replay_events`).
"""

import logging
from collections import defaultdict
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from kombu.exceptions import OperationalError

from billing_console.integrations.models import InboundEvent
from billing_console.integrations.outbox import Outbox
from billing_console.text import report, storable

logger = logging.getLogger(__name__)

Status = InboundEvent.Status

_handlers = defaultdict(list)

# A pending event older than this lost its queue message; the sweeper queues it again.
STALE_AFTER = timedelta(minutes=5)
MAX_ATTEMPTS = 8
FIRST_WAIT = timedelta(minutes=1)
LONGEST_WAIT = timedelta(hours=1)
# Far longer than a handler takes (each Stripe or Zendesk call it makes gives up within
# about a minute, retries included), so that only a lost worker's claim expires.
CLAIM_TIMEOUT = timedelta(minutes=10)

OUTBOX = Outbox(
    model=InboundEvent,
    claimed=Status.PROCESSING,
    claim_timeout=CLAIM_TIMEOUT,
    ready=lambda now: Q(status=Status.PENDING) | Q(status=Status.FAILED,
                                                   next_attempt_at__lte=now),
)


def handles(source, *event_types):
    def register(handler):
        for event_type in event_types:
            _handlers[(source, event_type)].append(handler)
        return handler

    return register


def handlers_for(source, event_type):
    return list(_handlers.get((source, event_type), ()))


def accept(*, source, event_id, event_type, payload):
    """Store a verified delivery once. Returns (event, created); a repeat changes nothing.

    What the database cannot store (a NUL in a ticket's subject) is replaced first, and
    reported (`text.report`): a delivery is never refused for its content, so Stripe and
    Zendesk do not send it again and again."""
    event_id, id_places = storable(event_id, where="event id")
    event_type, type_places = storable(event_type, where="event type")
    payload, payload_places = storable(payload, where="payload")
    try:
        with transaction.atomic():
            event = InboundEvent.objects.create(
                source=source, event_id=event_id, event_type=event_type, payload=payload
            )
            report(id_places + type_places + payload_places,
                   what=f"The {source} webhook event {event_id}",
                   object_type="inbound_event", object_id=event.pk)
    except IntegrityError:
        return InboundEvent.objects.get(source=source, event_id=event_id), False
    transaction.on_commit(lambda: _queue(event.pk))
    return event, True


def _queue(event_pk, countdown=None):
    from billing_console.integrations.tasks import process_inbound_event

    process_inbound_event.apply_async((event_pk,), countdown=countdown)


def process(event_pk):
    """Claim the event, run its handlers outside any transaction (they may call Stripe or
    Zendesk), then record the outcome. Returns the event as it stands afterwards (None if
    it is gone). An event that is not claimable (processed, not yet due, given up, or being
    run by another worker) is left alone."""
    event = OUTBOX.claim(event_pk)
    if event is None:
        return InboundEvent.objects.filter(pk=event_pk).first()
    try:
        for handler in handlers_for(event.source, event.event_type):
            handler(event)
    except Exception as error:
        logger.exception("Handling %s failed (attempt %s)", event, event.attempts)
        _record_failure(event, f"{type(error).__name__}: {error}")
    else:
        OUTBOX.settle(event, status=Status.PROCESSED, processed_at=timezone.now(),
                      last_error="", next_attempt_at=None)
    event.refresh_from_db()
    return event


def retry_wait(attempts):
    """How long an event that failed `attempts` times waits before the next attempt."""
    return min(FIRST_WAIT * 2 ** (attempts - 1), LONGEST_WAIT)


def _record_failure(event, error):
    if event.attempts >= MAX_ATTEMPTS:
        logger.error("Gave up on %s after %s attempts", event, event.attempts)
        OUTBOX.settle(event, status=Status.GAVE_UP, last_error=error, next_attempt_at=None)
        return
    wait = retry_wait(event.attempts)
    recorded = OUTBOX.settle(event, status=Status.FAILED, last_error=error,
                             next_attempt_at=timezone.now() + wait)
    # A longer countdown than the broker's visibility timeout would run again and again;
    # the sweeper queues such a retry when it is due.
    if recorded and wait.total_seconds() <= settings.CELERY_MAX_RETRY_DELAY_SECONDS:
        try:
            _queue(event.pk, countdown=wait.total_seconds())
        except OperationalError:
            logger.warning("Could not queue the retry of %s; the sweeper will", event)


def replay(*, source, event_ids=None, include_processed=False):
    """Run stored events again now, oldest first: every one not processed (failed, given up,
    or pending), or those named. An event a worker is running now is left to it."""
    events = InboundEvent.objects.filter(source=source).order_by("received_at", "pk")
    if event_ids:
        events = events.filter(event_id__in=event_ids)
    if not include_processed:
        events = events.exclude(status=Status.PROCESSED)
    replayed = []
    for pk in events.values_list("pk", flat=True):
        if _reopen(pk) and (event := process(pk)) is not None:
            replayed.append(event)
    return replayed


def _reopen(event_pk):
    """Make the event ready to run at once, unless a worker holds a live claim on it."""
    live_claim = Q(status=Status.PROCESSING,
                   claimed_at__gte=timezone.now() - CLAIM_TIMEOUT)
    return InboundEvent.objects.filter(pk=event_pk).exclude(live_claim).update(
        status=Status.PENDING, next_attempt_at=None, claimed_at=None)


def retry_now(event_pk):
    """Put an event that gave up back in line, to run at once; a failure gives up again.
    Call it inside the transaction that records who asked: it locks the row, and the
    task is queued when that transaction commits. Returns the event, or None when it has
    not given up (it is gone, or already running again)."""
    event = (InboundEvent.objects.select_for_update()
             .filter(pk=event_pk, status=Status.GAVE_UP).first())
    if event is None:
        return None
    event.status, event.next_attempt_at = Status.PENDING, None
    event.save(update_fields=["status", "next_attempt_at"])
    transaction.on_commit(lambda: _queue(event.pk))
    return event


def requeue_due(*, now=None):
    """The sweeper: queue every event a worker may claim now (failed ones whose time has
    come, claims of lost workers, pending ones whose message was lost), once the lost
    workers' last attempts have given up. Returns how many were queued."""
    now = now or timezone.now()
    _give_up_on_lost_last_attempts(now)
    in_flight = Q(status=Status.PENDING, received_at__gte=now - STALE_AFTER)
    due = list(InboundEvent.objects.filter(OUTBOX.claimable(now)).exclude(in_flight)
               .order_by("received_at", "pk").values_list("pk", flat=True))
    for pk in due:
        _queue(pk)
    return len(due)


def _give_up_on_lost_last_attempts(now):
    """A worker lost during the last attempt (perhaps killed by the event itself) counts
    as that attempt failing: one UPDATE, so no worker can claim the row meanwhile."""
    return InboundEvent.objects.filter(
        status=Status.PROCESSING, claimed_at__lt=now - CLAIM_TIMEOUT,
        attempts__gte=MAX_ATTEMPTS,
    ).update(status=Status.GAVE_UP, claimed_at=None, next_attempt_at=None,
             last_error="The worker running the last attempt was lost before it finished.")


def gave_up(*, limit=50):
    """Events that gave up, newest first: what the integrations page lists for admins."""
    return list(InboundEvent.objects.filter(status=Status.GAVE_UP)
                .only("source", "event_type", "event_id", "attempts", "last_error",
                      "received_at")
                .order_by("-received_at", "-pk")[:limit])


def gave_up_count():
    return InboundEvent.objects.filter(status=Status.GAVE_UP).count()
