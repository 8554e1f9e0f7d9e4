"""The reconciliation API: finance asks for a run of a period, follows its progress, reads
its report and explains its differences, as on the reconciliation pages and through the
same functions (`finance.reconciliation`).

Finance and admins read runs and reports (VIEW_AUDIT); only finance asks for a run or
explains a difference (RECONCILE). Asking for a run only queues it: a task reads Stripe,
a day at a time, and the run's `days_done` and counts move as it goes.
"""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.services import Origin
from billing_console.access import Capability
from billing_console.api import (
    InputSerializer,
    QuerySerializer,
    cursor_parameter,
    error_responses,
    keyset_list,
    page_of,
)
from billing_console.exceptions import ApplicationError
from billing_console.notes import NOTE_MAX_CHARS
from finance.models import Match, ReconciliationItem, ReconciliationRun
from finance.periods import Period
from finance.reconciliation import (
    REPORT_ROWS,
    events_listed_from,
    newer_run_of_same_period,
    reconciliation_items_explain,
    reconciliation_request,
    report_items,
)


class ReconciliationRunSerializer(serializers.ModelSerializer):
    """A run and its progress: `days_done` of `days_total` whole UTC days are stored, and
    the counts are those of the items stored so far."""

    # A plain string in the schema: other objects have a `status` enum of their own.
    status = serializers.CharField(help_text=", ".join(ReconciliationRun.Status.values))
    started_by = serializers.CharField(source="started_by.username", default=None,
                                       allow_null=True,
                                       help_text="Null when the nightly task asked for it.")
    percent = serializers.IntegerField(help_text="Whole percent of the days done.")

    class Meta:
        model = ReconciliationRun
        fields = ["id", "period_start", "period_end", "status", "days_done", "days_total",
                  "percent", "error", "matched_count", "stripe_only_count",
                  "console_only_count", "amounts_differ_count", "explanations_carried",
                  "started_by", "created_at", "finished_at"]


class ReconciliationReportSerializer(ReconciliationRunSerializer):
    """A run as its report shows it: also whether a newer run of the period replaces it,
    and the first day whose Stripe events were still listed when it ran."""

    replaced_by = serializers.SerializerMethodField()
    events_listed_from = serializers.SerializerMethodField()

    class Meta(ReconciliationRunSerializer.Meta):
        fields = [*ReconciliationRunSerializer.Meta.fields, "replaced_by",
                  "events_listed_from"]

    @extend_schema_field(serializers.IntegerField(
        allow_null=True, help_text="The newer finished run of the same period, if any."))
    def get_replaced_by(self, run):
        newer = newer_run_of_same_period(run)
        return newer.pk if newer else None

    @extend_schema_field(serializers.DateField(
        allow_null=True, help_text="Invoice status changes made outside the console before "
                                   "this day are missing from the run (Stripe lists events "
                                   "for 30 days); null when the whole period was listed."))
    def get_events_listed_from(self, run):
        return events_listed_from(run)


class ReconciliationItemSerializer(serializers.ModelSerializer):
    """One change as either side has it; amounts in the currency's minor unit, null on the
    side that does not have it."""

    zendesk_ticket_id = serializers.IntegerField(allow_null=True, read_only=True,
                                                 help_text="The ticket of its case.")
    explained_by = serializers.CharField(source="explained_by.username", default=None,
                                         allow_null=True)

    class Meta:
        model = ReconciliationItem
        fields = ["id", "run", "match", "object_type", "stripe_object_id", "invoice_status",
                  "money_action_id", "console_amount", "stripe_amount", "stripe_tax",
                  "currency", "case_id", "zendesk_ticket_id", "happened_at", "explained_by",
                  "explained_at", "explanation"]


class PeriodInput(InputSerializer):
    """Whole UTC days, both included: both days, or neither for this month so far."""

    start = serializers.DateField(required=False, default=None, allow_null=True,
                                  input_formats=["%Y-%m-%d"],
                                  help_text="The first day, YYYY-MM-DD (UTC).")
    end = serializers.DateField(required=False, default=None, allow_null=True,
                                input_formats=["%Y-%m-%d"],
                                help_text="The last day, YYYY-MM-DD (UTC), today at the "
                                          "latest.")


class ItemQuery(QuerySerializer):
    match = serializers.ChoiceField(choices=Match.values, required=False,
                                    help_text="Only the items of this class.")


class ExplainInput(InputSerializer):
    """Differences of this run explained with one note: all of them, or none."""

    items = serializers.ListField(child=serializers.IntegerField(min_value=1),
                                  min_length=1, max_length=REPORT_ROWS,
                                  help_text="Ids of the run's items.")
    note = serializers.CharField(max_length=NOTE_MAX_CHARS,
                                 help_text="Why, or what was done.")


def _runs():
    return ReconciliationRun.objects.select_related("started_by")


class ReconciliationRunListApi(APIView):
    required_capability = Capability.VIEW_AUDIT

    @extend_schema(parameters=[cursor_parameter()],
                   responses={200: page_of(ReconciliationRunSerializer),
                              **error_responses(409)})
    def get(self, request):
        return keyset_list(request, _runs(), ReconciliationRunSerializer, order=("-id",))


class ReconciliationRequestApi(APIView):
    """Reconcile a period with Stripe: the run is queued (201) and a task runs it; follow it
    at `/api/v1/reconciliations/<id>/`. A run of the same period already queued or running
    is refused (409, code `already_running`): one run of a period goes at a time."""

    required_capability = Capability.RECONCILE

    @extend_schema(request=PeriodInput, responses={201: ReconciliationRunSerializer})
    def post(self, request):
        data = PeriodInput(data=request.data)
        data.is_valid(raise_exception=True)
        period = Period.to_reconcile(data.validated_data["start"], data.validated_data["end"])
        run = reconciliation_request(period=period, actor=request.user,
                                     origin=Origin.of(request))
        return Response(ReconciliationRunSerializer(run).data, status=status.HTTP_201_CREATED)


class ReconciliationReportApi(APIView):
    required_capability = Capability.VIEW_AUDIT

    @extend_schema(operation_id="v1_reconciliation_retrieve",
                   responses=ReconciliationReportSerializer)
    def get(self, request, pk):
        return Response(ReconciliationReportSerializer(get_object_or_404(_runs(), pk=pk)).data)


class ReconciliationItemListApi(APIView):
    """The run's items so far, in the order they were stored; `match` keeps one class."""

    required_capability = Capability.VIEW_AUDIT

    @extend_schema(parameters=[ItemQuery, cursor_parameter()],
                   responses={200: page_of(ReconciliationItemSerializer),
                              **error_responses(409)})
    def get(self, request, pk):
        run = get_object_or_404(ReconciliationRun, pk=pk)
        return keyset_list(request, report_items(run, ItemQuery.read(request).get("match")),
                           ReconciliationItemSerializer, order=("id",))


class ReconciliationExplainApi(APIView):
    """Explain differences of a finished run with one note, as the report's form does: all
    or none. Each gets its `reconciliation.explained` audit event, and the same difference
    reported by other runs is explained with it. Refused (409) for a run still going, a
    matched item or one explained already, with `code` saying which."""

    required_capability = Capability.RECONCILE

    @extend_schema(request=ExplainInput, responses=inline_serializer("Explained", {
        "explained": ReconciliationItemSerializer(many=True,
                                                  help_text="The items given, explained.")}))
    def post(self, request, pk):
        run = get_object_or_404(ReconciliationRun, pk=pk)
        data = ExplainInput(data=request.data)
        data.is_valid(raise_exception=True)
        ids = set(data.validated_data["items"])
        if ids - set(run.items.filter(pk__in=ids).values_list("pk", flat=True)):
            raise ApplicationError("Some of the items are not in this run's report; nothing "
                                   "was explained.", "not_found", status=404)
        reconciliation_items_explain(item_ids=ids, note=data.validated_data["note"],
                                     actor=request.user, origin=Origin.of(request))
        explained = report_items(run).filter(pk__in=ids).order_by("id")
        return Response({"explained": ReconciliationItemSerializer(explained, many=True).data})
