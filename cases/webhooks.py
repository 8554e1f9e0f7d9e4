"""Zendesk ticket webhooks, as the inbox hands them over: refresh the ticket at once.

The payload only names the ticket; the ticket itself is read again from Zendesk (see
`sync.refresh_ticket`), as every webhook handler does, unless a later webhook for it still
waits: that one's read, made later, sees this change as well. Handlers are registered when
the app loads (`CasesConfig.ready`).
"""

from django.conf import settings

from billing_console.integrations import inbox
from billing_console.integrations.zendesk.errors import ZendeskTransientError
from billing_console.parsing import whole_number
from cases import sync
from cases.tasks import refresh_zendesk_ticket


@inbox.handles("zendesk", *sync.TICKET_WEBHOOKS)
def on_ticket_changed(event):
    ticket_id = _ticket_id(event.payload)
    if ticket_id is None:
        return  # nothing to refresh: a body our trigger did not write
    if sync.tickets_with_webhooks_waiting([ticket_id], after=event.pk):
        return  # a later webhook for the ticket, not yet taken, reads this change too
    try:
        sync.refresh_ticket(ticket_id)
    except ZendeskTransientError as error:
        # Zendesk is busy: the refresh task retries later, so the event is done with.
        delay = min(error.retry_after or 1, settings.CELERY_MAX_RETRY_DELAY_SECONDS)
        refresh_zendesk_ticket.apply_async((ticket_id,), countdown=delay)


def _ticket_id(payload):
    """The ticket id, sent as a number or (by a trigger's `{{ticket.id}}`) as a string."""
    value = payload.get("id")
    if isinstance(value, str):
        value = whole_number(value)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        return None
    return value
