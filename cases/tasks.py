"""Celery tasks of the cases app: write-back to Zendesk."""

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from billing_console.integrations.zendesk import gateway as zendesk
from billing_console.integrations.zendesk.errors import ZendeskTransientError
from cases.models import WriteBack

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8


def _backoff(attempt, retry_after=None):
    delay = retry_after or 2 ** min(attempt, 9)
    return min(delay, settings.CELERY_MAX_RETRY_DELAY_SECONDS)


@shared_task(bind=True, max_retries=MAX_ATTEMPTS)
def send_write_back(self, write_back_id):
    """Send one write-back. It stays pending (or failed) until Zendesk accepts it; the
    sweeper picks up any whose queue message was lost."""
    with transaction.atomic():
        write_back = (WriteBack.objects.select_for_update(skip_locked=True)
                      .select_related("case").filter(pk=write_back_id).first())
        if write_back is None or write_back.status == WriteBack.Status.SENT:
            return
        write_back.attempts += 1
        write_back.save(update_fields=["attempts"])
    try:
        _deliver(write_back)
    except ZendeskTransientError as error:
        _mark_failed(write_back, error)
        raise self.retry(countdown=_backoff(write_back.attempts, error.retry_after)) from error
    except Exception as error:
        logger.exception("Write-back %s to ticket %s failed", write_back.pk,
                         write_back.case.zendesk_ticket_id)
        _mark_failed(write_back, error)
        return
    WriteBack.objects.filter(pk=write_back.pk).update(
        status=WriteBack.Status.SENT, sent_at=timezone.now(), last_error="")


def _deliver(write_back):
    """One ticket update carries the note, the tags and the status together, so a retry
    after a failure never finds half of it already applied."""
    zendesk.update_ticket(
        write_back.case.zendesk_ticket_id,
        note=write_back.note or None,
        note_public=write_back.public,
        add_tags=write_back.add_tags,
        status=write_back.zendesk_status or None,
    )


def _mark_failed(write_back, error):
    WriteBack.objects.filter(pk=write_back.pk).update(
        status=WriteBack.Status.FAILED, last_error=f"{type(error).__name__}: {error}"[:2000])


@shared_task
def resend_unsent_write_backs():
    """The row is the outbox: queue again whatever Zendesk has not confirmed."""
    stale = WriteBack.objects.exclude(status=WriteBack.Status.SENT).filter(
        created_at__lt=timezone.now() - timedelta(minutes=2),
        attempts__lt=MAX_ATTEMPTS * 3,
    ).values_list("pk", flat=True)
    for pk in stale:
        send_write_back.delay(pk)
    return len(stale)
