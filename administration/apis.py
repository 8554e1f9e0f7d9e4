"""The integrations' health API, for admins, as on `/manage/integrations/` and through the
same services: the Zendesk sync's state, the records the database refused (set aside), the
webhook events that gave up after their retries, and a retry of one.

Like every admin page, these need the admin role and a second factor, which an API token
cannot carry: they answer a session that gave one (the console's own pages calling the
API), and refuse a token (403).
"""

import logging

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from kombu.exceptions import OperationalError
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from administration import selectors
from audit.services import Origin
from billing_console.access import Capability
from billing_console.api import cursor_parameter, error_responses, keyset_list, page_of
from billing_console.exceptions import ApplicationError
from billing_console.integrations.models import InboundEvent, SetAsideRecord
from cases.services import inbound_event_retry, set_aside_ticket_retry
from cases.sync import TICKET, ZENDESK

logger = logging.getLogger(__name__)


class SyncSerializer(serializers.Serializer):
    """The Zendesk sync: when it last ran and succeeded, how far behind Zendesk it is, and
    its last error (`failing` when that error is newer than the last success)."""

    last_run_at = serializers.DateTimeField(allow_null=True)
    last_success_at = serializers.DateTimeField(allow_null=True)
    newest_ticket_updated_at = serializers.DateTimeField(
        allow_null=True, help_text="The newest ticket change stored.")
    lag_seconds = serializers.SerializerMethodField()
    last_error = serializers.CharField()
    last_error_at = serializers.DateTimeField(allow_null=True)
    failing = serializers.BooleanField()

    def get_lag_seconds(self, health) -> int | None:
        """Whole seconds since the newest ticket change stored; null before the first."""
        return int(health.lag.total_seconds()) if health.lag is not None else None


class HealthSerializer(serializers.Serializer):
    zendesk_sync = SyncSerializer(source="sync")
    set_aside = serializers.IntegerField(help_text="Records set aside.")
    gave_up = serializers.IntegerField(help_text="Webhook events that gave up.")


def _source():
    # A plain string in the schema: the audit trail's events have a `source` enum of their
    # own.
    return serializers.CharField(help_text=", ".join(InboundEvent.Source.values))


class SetAsideSerializer(serializers.ModelSerializer):
    source = _source()

    class Meta:
        model = SetAsideRecord
        fields = ["id", "source", "kind", "external_id", "reason", "times",
                  "first_set_aside_at", "last_set_aside_at"]


class WebhookEventSerializer(serializers.ModelSerializer):
    """A webhook delivery as the console keeps it, without its payload."""

    source = _source()
    # A plain string in the schema: other objects have a `status` enum of their own.
    status = serializers.CharField(help_text=", ".join(InboundEvent.Status.values))

    class Meta:
        model = InboundEvent
        fields = ["id", "source", "event_id", "event_type", "status", "attempts",
                  "last_error", "received_at", "next_attempt_at"]


class IntegrationHealthApi(APIView):
    required_capability = Capability.MANAGE_CONSOLE

    @extend_schema(responses=HealthSerializer)
    def get(self, request):
        return Response(HealthSerializer(selectors.integration_health()).data)


class SetAsideListApi(APIView):
    """The records set aside, the latest first."""

    required_capability = Capability.MANAGE_CONSOLE

    @extend_schema(parameters=[cursor_parameter()],
                   responses={200: page_of(SetAsideSerializer), **error_responses(409)})
    def get(self, request):
        return keyset_list(request, selectors.set_aside_records(), SetAsideSerializer,
                           order=("-last_set_aside_at", "-id"))


class GaveUpListApi(APIView):
    """The webhook events that gave up, the latest received first."""

    required_capability = Capability.MANAGE_CONSOLE

    @extend_schema(parameters=[cursor_parameter()],
                   responses={200: page_of(WebhookEventSerializer), **error_responses(409)})
    def get(self, request):
        return keyset_list(request, selectors.gave_up_events(), WebhookEventSerializer,
                           order=("-received_at", "-id"))


class WebhookEventRetryApi(APIView):
    """Run a webhook event that gave up through its handlers again, now (202: it is
    pending, and a worker runs it; with the task queue down, the sweeper queues it once
    the queue is back). Refused (409, code `event_not_given_up`) when it is not waiting
    for a retry."""

    required_capability = Capability.MANAGE_CONSOLE

    @extend_schema(request=None,
                   responses={202: WebhookEventSerializer, **error_responses(409)})
    def post(self, request, pk):
        event = get_object_or_404(InboundEvent.objects.defer("payload"), pk=pk)
        try:
            inbound_event_retry(event_id=event.pk, actor=request.user,
                                origin=Origin.of(request))
        except OperationalError:
            logger.exception("Could not queue the retry of webhook event %s", event.pk)
        event.refresh_from_db()
        return Response(WebhookEventSerializer(event).data, status=status.HTTP_202_ACCEPTED)


class SetAsideTicketRetryApi(APIView):
    """Fetch a Zendesk ticket that was set aside and store it again (202: a task does it;
    stored, it leaves the list, refused again, it stays with the new reason). Refused (409,
    code `not_set_aside`) when the ticket is not set aside; 503 when the task queue is
    down."""

    required_capability = Capability.MANAGE_CONSOLE

    @extend_schema(request=None,
                   responses={202: SetAsideSerializer, **error_responses(409, 503)})
    def post(self, request, ticket_id):
        held = get_object_or_404(SetAsideRecord, source=ZENDESK, kind=TICKET,
                                 external_id=str(ticket_id))
        try:
            set_aside_ticket_retry(ticket_id=ticket_id, actor=request.user,
                                   origin=Origin.of(request))
        except OperationalError:
            logger.exception("Could not queue the refresh of set-aside ticket %s", ticket_id)
            raise ApplicationError("The task queue is unreachable; retry the ticket once it "
                                   "is back.", "queue_unavailable", status=503) from None
        return Response(SetAsideSerializer(held).data, status=status.HTTP_202_ACCEPTED)
