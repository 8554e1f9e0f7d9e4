"""`/cases/sync/`: the health of the integrations for admins. The Zendesk sync's state and a
button to run it now; Zendesk tickets the database refused, set aside, and webhook events
that gave up after their retries, each with a button to retry it now."""

import logging

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods
from kombu.exceptions import OperationalError

from billing_console.access import Capability, requires
from billing_console.exceptions import ApplicationError
from billing_console.integrations import inbox, set_aside
from billing_console.parsing import whole_number
from cases.models import IntakeRule
from cases.services import inbound_event_retry, set_aside_ticket_retry
from cases.sync import sync_health
from cases.tasks import sync_zendesk

logger = logging.getLogger(__name__)


@requires(Capability.MANAGE_CONSOLE)
@require_http_methods(["GET", "POST"])
def sync_status(request):
    if request.method == "POST":
        if "retry_event" in request.POST:
            return _retry_event(request)
        if "retry_ticket" in request.POST:
            return _retry_ticket(request)
        return _sync_now(request)
    return render(request, "cases/sync.html", {
        "health": sync_health(),
        "rule": IntakeRule.objects.filter(pk=1).first(),
        "gave_up": inbox.gave_up(),
        "gave_up_count": inbox.gave_up_count(),
        "max_attempts": inbox.MAX_ATTEMPTS,
        "set_aside": set_aside.listed(),
        "set_aside_count": set_aside.count(),
    })


def _sync_now(request):
    try:
        sync_zendesk.delay()
    except OperationalError:
        logger.exception("Could not queue a Zendesk sync")
        messages.error(request, "The task queue is unreachable; the sync was not started. "
                                "The console tries again by itself every minute once the "
                                "queue is back.")
    else:
        messages.success(request, "Zendesk sync queued; it runs within seconds.")
    return redirect("cases:sync")


def _retry_event(request):
    event_id = whole_number(request.POST["retry_event"])
    # The event is pending again: if the queue is down, the inbox's sweeper queues it.
    return _queue_again(
        request, lambda: inbound_event_retry(event_id=event_id, actor=request.user),
        unreachable="The task queue is unreachable; the event will run once it is back.",
        done=lambda event: f"{event.get_source_display()} event {event.event_id} queued to "
                           "run again.")


def _retry_ticket(request):
    ticket_id = whole_number(request.POST["retry_ticket"])
    return _queue_again(
        request, lambda: set_aside_ticket_retry(ticket_id=ticket_id, actor=request.user),
        unreachable="The task queue is unreachable; retry the ticket once it is back.",
        done=lambda _: f"Ticket {ticket_id} queued to be fetched again; it leaves this list "
                       "once it is stored.")


def _queue_again(request, retry, *, unreachable, done):
    """Run an admin's retry and say how it went, back on the sync page."""
    try:
        retried = retry()
    except ApplicationError as error:
        messages.error(request, error.message)
    except OperationalError:
        logger.exception("Could not queue a retry from the sync page")
        messages.error(request, unreachable)
    else:
        messages.success(request, done(retried))
    return redirect("cases:sync")
