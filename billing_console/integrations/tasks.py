from celery import shared_task

from billing_console.integrations import inbox


@shared_task
def process_inbound_event(event_pk):
    inbox.process(event_pk)


@shared_task
def requeue_stale_inbound_events():
    return inbox.requeue_stale()
