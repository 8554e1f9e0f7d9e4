"""Webhook intake shared by Stripe and Zendesk: store once, dispatch to registered handlers.

Each source's `webhooks.py` verifies its own signature and then calls `accept`. A delivery
is verified *before* it is stored: storing first would let an unsigned request claim a
real event id, and the genuine event would then be dropped as a repeat.

Apps register handlers by source and event type:

    @inbox.handles("stripe", "refund.updated")
    def on_refund_updated(event): ...

A handler gets the stored `InboundEvent`, re-reads the object it names from the API, and
must be safe to run twice: a failed event is re-run by `replay`.
"""

import logging
from collections import defaultdict
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from billing_console.integrations.models import InboundEvent

logger = logging.getLogger(__name__)

_handlers = defaultdict(list)

# A pending event older than this lost its queue message; the sweeper queues it again.
STALE_AFTER = timedelta(minutes=5)


def handles(source, *event_types):
    def register(handler):
        for event_type in event_types:
            _handlers[(source, event_type)].append(handler)
        return handler

    return register


def handlers_for(source, event_type):
    return list(_handlers.get((source, event_type), ()))


def accept(*, source, event_id, event_type, payload):
    """Store a verified delivery once. Returns (event, created); a repeat changes nothing."""
    try:
        with transaction.atomic():
            event = InboundEvent.objects.create(
                source=source, event_id=event_id, event_type=event_type, payload=payload
            )
    except IntegrityError:
        return InboundEvent.objects.get(source=source, event_id=event_id), False
    transaction.on_commit(lambda: _queue(event.pk))
    return event, True


def _queue(event_pk):
    from billing_console.integrations.tasks import process_inbound_event

    process_inbound_event.delay(event_pk)


def process(event_pk):
    """Run the event's handlers, outside any transaction (they may call Stripe or Zendesk),
    then record the outcome. An event already processed is left alone."""
    event = InboundEvent.objects.get(pk=event_pk)
    if event.status == InboundEvent.Status.PROCESSED:
        return event
    try:
        for handler in handlers_for(event.source, event.event_type):
            handler(event)
    except Exception as error:
        logger.exception("Handling %s failed", event)
        _finish(event, InboundEvent.Status.FAILED, f"{type(error).__name__}: {error}")
    else:
        _finish(event, InboundEvent.Status.PROCESSED, "")
    return event


def _finish(event, status, error):
    event.status = status
    event.last_error = error
    event.attempts += 1
    event.processed_at = timezone.now() if status == InboundEvent.Status.PROCESSED else None
    event.save(update_fields=["status", "last_error", "attempts", "processed_at"])


def replay(*, source, event_ids=None, include_processed=False):
    """Run stored events again, oldest first: the failed ones, or those named."""
    events = InboundEvent.objects.filter(source=source).order_by("received_at", "pk")
    if event_ids:
        events = events.filter(event_id__in=event_ids)
    if not include_processed:
        events = events.exclude(status=InboundEvent.Status.PROCESSED)
    return [process(pk) for pk in events.values_list("pk", flat=True)]


def requeue_stale():
    """Queue again every pending event whose queue message was lost."""
    cutoff = timezone.now() - STALE_AFTER
    stale = InboundEvent.objects.filter(
        status=InboundEvent.Status.PENDING, received_at__lt=cutoff
    ).values_list("pk", flat=True)
    for pk in stale:
        _queue(pk)
    return len(stale)
