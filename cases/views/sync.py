"""`/cases/sync/`: the Zendesk sync's health for admins, and a button to run it now."""

import logging

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods
from kombu.exceptions import OperationalError

from billing_console.access import Capability, requires
from cases.models import IntakeRule
from cases.sync import sync_health
from cases.tasks import sync_zendesk

logger = logging.getLogger(__name__)


@requires(Capability.MANAGE_CONSOLE)
@require_http_methods(["GET", "POST"])
def sync_status(request):
    if request.method == "POST":
        return _sync_now(request)
    return render(request, "cases/sync.html", {
        "health": sync_health(),
        "rule": IntakeRule.objects.filter(pk=1).first(),
    })


def _sync_now(request):
    try:
        sync_zendesk.delay()
    except OperationalError:
        logger.exception("Could not queue a Zendesk sync")
        messages.error(request, "The task queue is unreachable; the sync was not started. "
                                "Beat will try again within a minute once it is back.")
    else:
        messages.success(request, "Zendesk sync queued; it runs within seconds.")
    return redirect("cases:sync")
