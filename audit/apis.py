"""The audit trail API: the filtered, keyset-paged list, and its CSV export.

The filters are the page's (`audit.filters`). The export streams in constant memory and
is itself an audit event.
"""

from django.http import StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.views import APIView

from audit.exports import csv_blocks, started
from audit.filters import AuditFilters, before_id
from audit.models import AuditEvent
from audit.selectors import audit_event_page, filtered_events
from audit.services import record_for_request
from billing_console.access import Capability
from billing_console.api import cursor_parameter, page_of, paged

FILTER_PARAMETERS = [OpenApiParameter(name, required=False) for name in (
    "since", "until", "actor", "role", "action", "kind", "reason", "customer", "case",
    "amount_min", "amount_max", "currency", "source")]


class AuditEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = ["id", "created_at", "actor_username", "actor_role", "ip_address", "source",
                  "action", "object_type", "object_id", "before", "after", "amount",
                  "currency", "case_id", "zendesk_ticket_id", "stripe_object_id",
                  "stripe_request_id", "reason", "outcome", "prev_hash", "hash"]


class AuditEventListApi(APIView):
    required_capability = Capability.VIEW_CASE_AUDIT

    @extend_schema(parameters=[*FILTER_PARAMETERS, cursor_parameter("before")],
                   responses=page_of(AuditEventSerializer))
    def get(self, request):
        filters = AuditFilters.from_query(request.query_params)
        page, older = audit_event_page(viewer=request.user, filters=filters,
                                       before_id=before_id(request.query_params))
        return paged(request, AuditEventSerializer(page, many=True).data, name="before",
                     cursor=older)


class AuditExportApi(APIView):
    required_capability = Capability.EXPORT_AUDIT

    @extend_schema(parameters=FILTER_PARAMETERS, responses={(200, "text/csv"): str})
    def get(self, request):
        filters = AuditFilters.from_query(request.query_params)
        record_for_request(request, action="audit.exported", object_type="audit_export",
                           reason=f"Filters: {filters.as_query() or 'none'}")
        response = StreamingHttpResponse(
            started(csv_blocks(filtered_events(viewer=request.user, filters=filters))),
            content_type="text/csv; charset=utf-8")
        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.csv"'
        return response
