"""Celery tasks of the cases app: write-back to Zendesk, and Zendesk intake (the sync,
one ticket's refresh, matching a Stripe customer).

Write-back follows the one outbox rule (`billing_console/integrations/outbox.py`): the
task claims the `WriteBack` row as `sending` under a row lock before calling Zendesk, and
the sweeper queues only rows nobody holds a live claim on. Zendesk takes no idempotency
key on a ticket update, so each update carries its write-back's id as the custom metadata
of its audit (`WRITE_BACK_KEY`); an attempt after the first looks for it on the ticket
before sending, so an update Zendesk took, whose worker was lost or whose answer never
came, is not sent (and its note not posted) again."""

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from billing_console.integrations.stripe import gateway as stripe_gateway
from billing_console.integrations.stripe.errors import (
    PermanentStripeError,
    TransientStripeError,
)
from billing_console.integrations.zendesk import gateway as zendesk
from billing_console.integrations.zendesk.errors import (
    ZendeskClosedTicket,
    ZendeskError,
    ZendeskTransientError,
)
from cases import lifecycle, services, sync
from cases.models import Case, StripeLink, WriteBack

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
# The custom metadata key of the ticket update that carries a write-back, its id the value.
WRITE_BACK_KEY = "billing_console_write_back"


def _backoff(attempt, retry_after=None):
    delay = retry_after or 2 ** min(attempt, 9)
    return min(delay, settings.CELERY_MAX_RETRY_DELAY_SECONDS)


@shared_task(bind=True, max_retries=MAX_ATTEMPTS)
def send_write_back(self, write_back_id):
    """Send one write-back, once: it is claimed (`sending`, under a row lock) before Zendesk
    is called, so a second message for the same row does nothing meanwhile. It stays
    pending (or failed) until Zendesk accepts it; the sweeper picks up any whose queue
    message or worker was lost."""
    write_back = services.write_back_claim(write_back_id=write_back_id)
    if write_back is None:
        return
    try:
        _deliver(write_back)
    except ZendeskClosedTicket as error:
        # Zendesk refuses every update to a closed ticket: never retried as it is.
        _deliver_to_closed_ticket(self, write_back, error)
        return
    except ZendeskTransientError as error:
        services.write_back_record_failure(write_back=write_back, error=error)
        raise self.retry(countdown=_backoff(write_back.attempts, error.retry_after)) from error
    except Exception as error:
        logger.exception("Write-back %s to ticket %s failed", write_back.pk,
                         write_back.case.zendesk_ticket_id)
        services.write_back_record_failure(write_back=write_back, error=error)
        return
    services.write_back_record_sent(write_back=write_back)


def _deliver(write_back):
    """One ticket update carries the note, the tags and the status together, so a retry
    after a failure never finds half of it already applied."""
    _update_once(
        write_back.case.zendesk_ticket_id, write_back,
        note=write_back.note or None,
        note_html=write_back.note_html or None,
        note_public=write_back.public,
        add_tags=write_back.add_tags,
        remove_tags=write_back.remove_tags,
        status=write_back.zendesk_status or None,
    )


def _mark(write_back):
    return {WRITE_BACK_KEY: str(write_back.pk)}


def _maybe_taken(write_back):
    """An earlier attempt may have reached Zendesk: its worker was lost after the call, or
    the call failed without an answer. (The claim counts this attempt.)"""
    return write_back.attempts > 1


def _update_once(ticket_id, write_back, **changes):
    """Update ticket `ticket_id` with `changes`, marked as the write-back's, unless an
    earlier attempt's update is on the ticket already."""
    if _maybe_taken(write_back) and zendesk.ticket_has_update(ticket_id, _mark(write_back)):
        logger.info("Write-back %s: Zendesk had it already", write_back.pk)
        return
    zendesk.update_ticket(ticket_id, metadata=_mark(write_back), **changes)


def _deliver_to_closed_ticket(task, write_back, refusal):
    """A note for a closed ticket goes to the ticket it was merged into, if it was merged,
    or else out on a follow-up ticket (to the same requester, with the closed ticket's
    tags and the write-back's); without a note, or when that fails for good, the case says
    what Zendesk did not get. What Zendesk could not take just now is tried again, as any
    transient failure."""
    case = write_back.case
    if not write_back.note:
        services.write_back_record_undeliverable(write_back=write_back, error=refusal)
        return
    try:
        follow_up_id = _carry_note(case, write_back)
    except ZendeskTransientError as error:
        services.write_back_record_failure(write_back=write_back, error=error)
        raise task.retry(countdown=_backoff(write_back.attempts, error.retry_after)) from error
    except ZendeskError as error:
        logger.warning("Write-back %s: ticket %s is closed and no follow-up could be made: %s",
                       write_back.pk, case.zendesk_ticket_id, error)
        services.write_back_record_undeliverable(write_back=write_back, error=error)
        return
    services.write_back_record_followed_up(write_back=write_back,
                                           follow_up_ticket_id=follow_up_id)


def _carry_note(case, write_back):
    """The id of the ticket that takes a note its own closed ticket would not: the one it
    was merged into, or a follow-up, made once however often this runs."""
    if case.merged_into_ticket_id:
        _update_once(case.merged_into_ticket_id, write_back, note=write_back.note,
                     note_html=write_back.note_html or None, note_public=write_back.public)
        return case.merged_into_ticket_id
    made = _maybe_taken(write_back) and zendesk.follow_up_made(case.zendesk_ticket_id,
                                                               _mark(write_back))
    if made:
        return made
    return zendesk.create_follow_up_ticket(
        case.zendesk_ticket_id, body=write_back.note, html_body=write_back.note_html or None,
        public=write_back.public, requester_id=case.requester_zendesk_id,
        subject=f"Follow-up: {case.subject}"[:150] if case.subject else None,
        add_tags=[*write_back.add_tags, lifecycle.FOLLOW_UP_TAG],
        remove_tags=write_back.remove_tags, metadata=_mark(write_back)).id


def unsent_write_backs(*, now=None):
    """Write-backs the sweeper sends again: unclaimed and unsent (or claimed by a lost
    worker), older than a queued message takes, and not yet tried too often."""
    now = now or timezone.now()
    return WriteBack.objects.filter(
        services.WRITE_BACKS.claimable(now),
        created_at__lt=now - timedelta(minutes=2),
        attempts__lt=MAX_ATTEMPTS * 3,
    )


@shared_task
def resend_unsent_write_backs():
    """The row is the outbox: queue again whatever Zendesk has not confirmed."""
    stale = list(unsent_write_backs().values_list("pk", flat=True))
    for pk in stale:
        send_write_back.delay(pk)
    return len(stale)


# --- Zendesk intake ------------------------------------------------------------------------

SYNC_MAX_RETRIES = 5
# One email rarely belongs to more customers than a specialist can choose between.
STRIPE_CANDIDATE_LIMIT = 10


@shared_task(bind=True, max_retries=SYNC_MAX_RETRIES)
def sync_zendesk(self):
    """Beat, every minute: the export from the stored cursor. The run has recorded a
    failure on the sync state already; a 429 or an outage is retried after Zendesk's
    `Retry-After`, by Celery, never by sleeping."""
    try:
        run = sync.sync_zendesk_once()
    except sync.SyncAlreadyRunning:
        return None
    except ZendeskTransientError as error:
        raise self.retry(countdown=_backoff(self.request.retries, error.retry_after)) from error
    return {"pages": run.pages, "tickets": run.tickets, "created": run.created,
            "updated": run.updated, "closed": run.closed}


@shared_task(bind=True, max_retries=MAX_ATTEMPTS)
def refresh_zendesk_ticket(self, ticket_id):
    """One ticket and its comments, for a webhook or a new case."""
    try:
        sync.refresh_ticket(ticket_id)
    except ZendeskTransientError as error:
        raise self.retry(countdown=_backoff(self.request.retries, error.retry_after)) from error


@shared_task(bind=True, max_retries=MAX_ATTEMPTS)
def link_stripe_customer(self, case_id):
    """Verify the customer named on the ticket in Stripe (`sync.record_named_customer_check`),
    or match the requester's email to Stripe customers (`sync.record_stripe_match`). Stripe
    is called here, outside any transaction; the answer is stored in a new one."""
    case = Case.objects.filter(pk=case_id).only(
        "requester_email", "stripe_link", "stripe_customer_id").first()
    if case is None or not sync.wants_stripe_match(case):
        return
    email = case.requester_email
    try:
        if case.stripe_link == StripeLink.NAMED:
            named = case.stripe_customer_id
            exists = stripe_gateway.customer_exists(customer_id=named)
            customers = () if exists or not email else stripe_gateway.find_customers_by_email(
                email=email, limit=STRIPE_CANDIDATE_LIMIT)
            sync.record_named_customer_check(case_id=case_id, customer_id=named,
                                             exists=exists, email=email, customers=customers)
            return
        customers = stripe_gateway.find_customers_by_email(email=email,
                                                           limit=STRIPE_CANDIDATE_LIMIT)
    except TransientStripeError as error:
        raise self.retry(countdown=_backoff(self.request.retries, error.retry_after)) from error
    except PermanentStripeError:
        logger.exception("Matching a Stripe customer for case %s failed", case_id)
        return
    sync.record_stripe_match(case_id=case_id, email=email, customers=customers)


@shared_task
def queue_case_follow_ups(*, comment_ticket_ids=(), stripe_ticket_ids=()):
    """A task per case for the work a sync page leaves (comments, Stripe matching): the
    page queues one message, not a thousand, and each case's task retries on its own."""
    for ticket_id in comment_ticket_ids:
        refresh_zendesk_ticket.delay(ticket_id)
    case_ids = Case.objects.filter(zendesk_ticket_id__in=stripe_ticket_ids).values_list(
        "pk", flat=True)
    for case_id in case_ids:
        link_stripe_customer.delay(case_id)
