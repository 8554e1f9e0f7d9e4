"""The audit trail API: the filtered, keyset-paged list, and its CSV export.

The filters are the page's (`audit.filters`). The export streams in constant memory and
is itself an audit event.
"""

from django.core.validators import RegexValidator
from django.http import StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.views import APIView

from audit.exports import csv_blocks, started
from audit.filters import AuditFilters, before_id
from audit.models import AuditEvent, Source
from audit.selectors import audit_event_page, filtered_events
from audit.services import record_for_request
from billing_console.access import Capability, Role
from billing_console.api import (
    CURRENCY_CODE,
    QuerySerializer,
    error_responses,
    page_of,
    paged,
)

# \A and \Z, never ^ and $: Python's $ also matches before a final newline.
AMOUNT = RegexValidator(r"\A([0-9]+(\.[0-9]+)?)?\Z", "An amount such as 12.50.")


def _text(help_text, **options):
    return serializers.CharField(required=False, allow_blank=True, help_text=help_text,
                                 **options)


class AuditQuery(QuerySerializer):
    """The trail's filters (`audit.filters.AuditFilters` reads them): the shape of each is
    checked here; a period that ends before it starts, or an amount the currency cannot
    hold, is refused by the filters' rules (409)."""

    since = serializers.DateField(required=False, input_formats=["%Y-%m-%d"],
                                  help_text="The first day, YYYY-MM-DD (UTC).")
    until = serializers.DateField(required=False, input_formats=["%Y-%m-%d"],
                                  help_text="The last day, YYYY-MM-DD (UTC).")
    actor = _text("A username: who acted, or who requested the money action.")
    role = serializers.ChoiceField(choices=[role.value for role in Role], required=False,
                                   allow_blank=True)
    action = _text("An action, such as refund.succeeded.")
    kind = _text("The kind of money action, such as refund.")
    reason = _text("A reason code.")
    customer = _text("A Stripe customer id.")
    case = serializers.IntegerField(required=False, min_value=0, max_value=10**18 - 1)
    ticket = serializers.IntegerField(required=False, min_value=0, max_value=10**18 - 1,
                                      help_text="A Zendesk ticket number.")
    amount_min = _text("In the currency's major unit, such as 12.50.",
                       max_length=32, validators=[AMOUNT])
    amount_max = _text("In the currency's major unit, such as 12.50.",
                       max_length=32, validators=[AMOUNT])
    currency = _text("An ISO 4217 code.", validators=[CURRENCY_CODE])
    source = serializers.ChoiceField(choices=Source.values, required=False, allow_blank=True)


class AuditPageQuery(AuditQuery):
    before = serializers.IntegerField(
        required=False, min_value=1, max_value=10**18 - 1,
        help_text="The cursor from the previous page's `next`; leave it out for the first page.")


def _filters(request, query=AuditQuery):
    query.read(request)
    return AuditFilters.from_query(request.query_params)


class AuditEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = ["id", "created_at", "actor_username", "actor_role", "ip_address", "source",
                  "action", "object_type", "object_id", "before", "after", "amount",
                  "currency", "case_id", "zendesk_ticket_id", "stripe_object_id",
                  "stripe_request_id", "reason", "outcome", "prev_hash", "hash"]


class AuditEventListApi(APIView):
    required_capability = Capability.VIEW_CASE_AUDIT

    @extend_schema(parameters=[AuditPageQuery],
                   responses={200: page_of(AuditEventSerializer), **error_responses(409)})
    def get(self, request):
        filters = _filters(request, AuditPageQuery)
        page, older = audit_event_page(viewer=request.user, filters=filters,
                                       before_id=before_id(request.query_params))
        return paged(request, AuditEventSerializer(page, many=True).data, name="before",
                     cursor=older)


class AuditExportApi(APIView):
    required_capability = Capability.EXPORT_AUDIT

    @extend_schema(parameters=[AuditQuery],
                   responses={(200, "text/csv"): str, **error_responses(409)})
    def get(self, request):
        filters = _filters(request)
        record_for_request(request, action="audit.exported", object_type="audit_export",
                           reason=f"Filters: {filters.as_query() or 'none'}")
        response = StreamingHttpResponse(
            started(csv_blocks(filtered_events(viewer=request.user, filters=filters))),
            content_type="text/csv; charset=utf-8")
        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.csv"'
        return response
