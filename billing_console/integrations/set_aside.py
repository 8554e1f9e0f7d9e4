"""Records that could not be stored, set aside so that one bad record never stops a batch.

A caller that fails to store one record (the database refused it) calls `set_aside`
inside its own transaction, goes on with the rest, and calls `clear` for what it stored:
a record stored later, by any path, leaves the list. Only data errors set a record aside
(`BAD_RECORD_ERRORS`); a lost connection or a lock conflict is the batch's failure, and
the batch is tried again whole.
"""

import logging

from django.db import DataError, IntegrityError
from django.utils import timezone

from billing_console.integrations.models import SetAsideRecord
from billing_console.text import storable

logger = logging.getLogger(__name__)

# What the database (or its driver: a value it cannot adapt) says of one record's data.
BAD_RECORD_ERRORS = (DataError, IntegrityError, ValueError, OverflowError)
REASON_LENGTH = 2000


def set_aside(*, source, kind, external_id, error):
    """Keep the record aside with `error` as its reason (counting how often); logged."""
    reason = storable(f"{type(error).__name__}: {error}"[:REASON_LENGTH])[0]
    logger.error("Set aside %s %s %s: %s", source, kind, external_id, reason)
    record, created = SetAsideRecord.objects.get_or_create(
        source=source, kind=kind, external_id=str(external_id),
        defaults={"reason": reason, "last_set_aside_at": timezone.now()})
    if not created:
        record.reason, record.times = reason, record.times + 1
        record.last_set_aside_at = timezone.now()
        record.save(update_fields=["reason", "times", "last_set_aside_at"])
    return record


def clear(*, source, kind, external_ids):
    """The records stored after all leave the list."""
    SetAsideRecord.objects.filter(source=source, kind=kind,
                                  external_id__in=[str(i) for i in external_ids]).delete()


def listed(*, limit=50):
    """The records set aside, latest first: what the integrations page lists."""
    return list(SetAsideRecord.objects.order_by("-last_set_aside_at", "-pk")[:limit])


def count():
    return SetAsideRecord.objects.count()
