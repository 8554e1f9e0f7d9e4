"""Celery tasks of the webhook inbox (see `inbox.py` for claims, retries and giving up)."""

from celery import shared_task

from billing_console.integrations import inbox


@shared_task
def process_inbound_event(event_pk):
    inbox.process(event_pk)


@shared_task
def requeue_stale_inbound_events():
    """Beat's sweep of the inbox: failed events now due, lost messages, lost workers."""
    return inbox.requeue_due()
