"""The cases API: the queue and a single case, for other programs."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from billing_console.access import Capability
from billing_console.api import cursor_parameter, page_of, paged
from billing_console.parsing import whole_number
from cases.models import Case, CaseEvent
from cases.selectors import PAGE_SIZE, QueueFilters, case_queue

MAX_LIMIT = 100
TIMELINE_LIMIT = 50


class CaseSerializer(serializers.ModelSerializer):
    assignee = serializers.CharField(source="assignee.username", default=None, allow_null=True)

    class Meta:
        model = Case
        fields = [
            "id", "zendesk_ticket_id", "subject", "requester_name", "requester_email",
            "zendesk_status", "category", "state", "priority", "assignee",
            "first_response_due", "resolution_due", "first_responded_at", "resolved_at",
            "stripe_customer_id", "stripe_link", "resolution_code", "resolution_summary",
            "created_at", "updated_at",
        ]


class CaseEventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor.username", default=None, allow_null=True)

    class Meta:
        model = CaseEvent
        fields = ["id", "kind", "created_at", "actor", "body", "public", "data"]


class CaseDetailSerializer(CaseSerializer):
    description = serializers.CharField()
    tags = serializers.ListField(child=serializers.CharField())
    timeline = serializers.SerializerMethodField()

    class Meta(CaseSerializer.Meta):
        fields = [*CaseSerializer.Meta.fields, "description", "tags", "timeline"]

    def get_timeline(self, case) -> list[dict]:
        events = case.events.select_related("actor")[:TIMELINE_LIMIT]
        return CaseEventSerializer(events, many=True).data


QUEUE_PARAMETERS = [
    OpenApiParameter(name, description=text) for name, text in (
        ("state", "open (default), all, or a state"),
        ("assignee", "me, unassigned or anyone"),
        ("category", "a category"),
        ("priority", "low, normal, high or urgent"),
        ("sla", "breached or due_1h"),
        ("stripe", "linked or unlinked"),
        ("q", "ticket id, email, name, subject or Stripe customer id"),
        ("sort", "sla (default), priority or updated"),
        ("limit", f"page size, at most {MAX_LIMIT}"),
    )
] + [cursor_parameter("after")]


def _limit(value):
    number = whole_number(value)
    return min(number, MAX_LIMIT) if number else PAGE_SIZE


class CaseListApi(APIView):
    required_capability = Capability.VIEW_QUEUE

    @extend_schema(parameters=QUEUE_PARAMETERS, responses=page_of(CaseSerializer))
    def get(self, request):
        filters = QueueFilters.from_query(request.query_params)
        page = case_queue(viewer=request.user, filters=filters,
                          cursor=request.query_params.get("after"),
                          size=_limit(request.query_params.get("limit")))
        return paged(request, CaseSerializer(page.cases, many=True).data, name="after",
                     cursor=page.next_cursor)


class CaseDetailApi(APIView):
    required_capability = Capability.VIEW_QUEUE

    @extend_schema(responses=CaseDetailSerializer)
    def get(self, request, pk):
        case = get_object_or_404(Case.objects.select_related("assignee"), pk=pk)
        return Response(CaseDetailSerializer(case).data)
