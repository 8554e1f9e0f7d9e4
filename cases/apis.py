"""The cases API: the queue and a single case, for other programs; a specialist's actions
on a case (assign, state, category, priority, the Stripe customer, a note, resolve), each
through the case page's service; and the case's Stripe snapshot."""

from datetime import UTC, datetime

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.services import Origin
from billing_console.access import Capability
from billing_console.api import (
    InputSerializer,
    QuerySerializer,
    error_responses,
    page_of,
    paged,
)
from billing_console.exceptions import ApplicationError
from billing_console.integrations.stripe.types import tax_names
from billing_console.notes import NOTE_MAX_CHARS
from billing_console.text import quoted
from cases import services
from cases.models import Case, CaseEvent, Category, Priority, ResolutionCode, State, StripeLink
from cases.replies import may_see_card
from cases.selectors import (
    FILTER_OPTIONS,
    PAGE_SIZE,
    QueueFilters,
    case_queue,
    case_replies,
    stripe_snapshot,
)

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


def _option(name, help_text):
    return serializers.ChoiceField(choices=sorted(FILTER_OPTIONS[name]), required=False,
                                   allow_blank=True, help_text=help_text)


class QueueQuery(QuerySerializer):
    """The queue's filters, as the queue page offers them; blank is no filter."""

    state = _option("state", "open (the default), all, or a state")
    assignee = _option("assignee", "anyone (the default), me or unassigned")
    category = _option("category", "a category")
    priority = _option("priority", "a priority")
    sla = _option("sla", "breached, or due within the hour")
    stripe = _option("stripe", "tied to a Stripe customer or not")
    q = serializers.CharField(required=False, allow_blank=True, max_length=200,
                              help_text="ticket number, email, name, subject or Stripe "
                                        "customer id")
    sort = _option("sort", "sla (the default), priority or updated")
    limit = serializers.IntegerField(required=False, min_value=1, max_value=MAX_LIMIT,
                                     help_text=f"page size, {PAGE_SIZE} unless given")
    after = serializers.CharField(required=False, help_text="The cursor from the previous "
                                                            "page's `next`.")


class CaseListApi(APIView):
    required_capability = Capability.VIEW_QUEUE

    @extend_schema(parameters=[QueueQuery],
                   responses={200: page_of(CaseSerializer), **error_responses(409)})
    def get(self, request):
        query = QueueQuery.read(request)
        page = case_queue(viewer=request.user, filters=QueueFilters.from_query(query),
                          cursor=query.get("after"), size=query.get("limit", PAGE_SIZE))
        return paged(request, CaseSerializer(page.cases, many=True).data, name="after",
                     cursor=page.next_cursor)


class CaseDetailApi(APIView):
    required_capability = Capability.VIEW_QUEUE

    @extend_schema(responses=CaseDetailSerializer)
    def get(self, request, pk):
        case = get_object_or_404(Case.objects.select_related("assignee"), pk=pk)
        return Response(CaseDetailSerializer(case).data)


# --- A specialist's actions on a case: each the twin of the case page's, through the same
# service, with the same capability; its audit event says `api`. -------------------------


def _case_now(pk):
    return Case.objects.select_related("assignee").get(pk=pk)


def _act(request, pk, input_class, apply):
    """Read `input_class` from the body, call `apply(case, data, actor=, origin=)` (a
    service) and answer the case as it now is. A service's refusal is a 409 naming its
    rule (`api_exception_handler`)."""
    case = get_object_or_404(Case, pk=pk)
    data = input_class(data=request.data)
    data.is_valid(raise_exception=True)
    apply(case, data.validated_data, actor=request.user, origin=Origin.of(request))
    return Response(CaseSerializer(_case_now(pk)).data)


class AssignInput(InputSerializer):
    assignee = serializers.CharField(
        allow_null=True, max_length=150,
        help_text="The username of an active billing specialist; null unassigns. A new case "
                  "assigned becomes triaged.")


class CaseAssignApi(APIView):
    required_capability = Capability.WORK_CASES

    @extend_schema(request=AssignInput, responses=CaseSerializer)
    def post(self, request, pk):
        def apply(case, data, **who):
            username = data["assignee"]
            assignee = None if username is None else services.assignee_named(username)
            services.case_assign(case_ids=[case.pk], assignee=assignee, **who)

        return _act(request, pk, AssignInput, apply)


class StateInput(InputSerializer):
    state = serializers.ChoiceField(
        choices=State.choices,
        help_text="Where the case may go from its state, as on the case page; a case is "
                  "resolved through `resolve/`, with a code and a summary. While a money "
                  "action on the case waits for finance or is on its way to Stripe, the "
                  "case is not closed, nor taken off waiting on finance while finance "
                  "decides (409 `money_waiting`, saying what waits).")


class CaseStateApi(APIView):
    required_capability = Capability.WORK_CASES

    @extend_schema(request=StateInput, responses=CaseSerializer)
    def post(self, request, pk):
        return _act(request, pk, StateInput, lambda case, data, **who: services.case_transition(
            case=case, to_state=data["state"], **who))


class CategoryInput(InputSerializer):
    category = serializers.ChoiceField(choices=Category.choices)


class CaseCategoryApi(APIView):
    required_capability = Capability.WORK_CASES

    @extend_schema(request=CategoryInput, responses=CaseSerializer)
    def post(self, request, pk):
        return _act(request, pk, CategoryInput,
                    lambda case, data, **who: services.case_set_category(
                        case=case, category=data["category"], **who))


class PriorityInput(InputSerializer):
    priority = serializers.ChoiceField(
        choices=Priority.choices, help_text="The SLA's deadlines follow the priority.")


class CasePriorityApi(APIView):
    required_capability = Capability.WORK_CASES

    @extend_schema(request=PriorityInput, responses=CaseSerializer)
    def post(self, request, pk):
        return _act(request, pk, PriorityInput,
                    lambda case, data, **who: services.case_set_priority(
                        case=case, priority=data["priority"], **who))


class StripeCustomerInput(InputSerializer):
    customer_id = serializers.CharField(
        max_length=255, help_text="The customer matched for the case (`stripe_customer_id`), "
                                  "or one of the candidates when several match.")


class CaseStripeCustomerApi(APIView):
    """Confirm which Stripe customer the requester is: money moves only for a confirmed
    customer."""

    required_capability = Capability.WORK_CASES

    @extend_schema(request=StripeCustomerInput, responses=CaseSerializer)
    def post(self, request, pk):
        return _act(request, pk, StripeCustomerInput,
                    lambda case, data, **who: services.case_confirm_stripe_customer(
                        case=case, customer_id=data["customer_id"], **who))


class NoteInput(InputSerializer):
    body = serializers.CharField(max_length=NOTE_MAX_CHARS, help_text="Markdown.")
    post_to_zendesk = serializers.BooleanField(
        default=False, help_text="Also post it to the Zendesk ticket, as an internal note "
                                 "(never public).")


class CaseNoteApi(APIView):
    """A console note on the case's timeline."""

    required_capability = Capability.WORK_CASES

    @extend_schema(request=NoteInput, responses={201: CaseEventSerializer})
    def post(self, request, pk):
        case = get_object_or_404(Case, pk=pk)
        data = NoteInput(data=request.data)
        data.is_valid(raise_exception=True)
        note = services.case_add_note(case=case, body=data.validated_data["body"],
                                      post_to_zendesk=data.validated_data["post_to_zendesk"],
                                      actor=request.user, origin=Origin.of(request))
        return Response(CaseEventSerializer(note).data, status=status.HTTP_201_CREATED)


class ResolveInput(InputSerializer):
    resolution_code = serializers.ChoiceField(choices=ResolutionCode.choices)
    summary = serializers.CharField(max_length=NOTE_MAX_CHARS,
                                    help_text="Why, for the timeline and the ticket.")
    public_reply = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=NOTE_MAX_CHARS,
        help_text="A public reply to the customer on the Zendesk ticket.")
    reply_template = serializers.CharField(
        required=False, allow_null=True, default=None, max_length=120,
        help_text="The name of an active reply template (`reply-templates/`): the reply is "
                  "that template filled in for the case. Not with `public_reply`.")


class CaseResolveApi(APIView):
    """Resolve the case with a resolution code and a summary; Zendesk hears of it (the
    ticket solved, an internal note), and of the public reply if there is one. Refused
    (409 `money_waiting`, saying what waits) while a money action on the case waits for
    finance or is on its way to Stripe."""

    required_capability = Capability.WORK_CASES

    @extend_schema(request=ResolveInput, responses=CaseSerializer)
    def post(self, request, pk):
        def apply(case, data, **who):
            services.case_resolve(case=case, code=data["resolution_code"], summary=data["summary"],
                                  public_reply=_reply(case, data, who["actor"]), **who)

        return _act(request, pk, ResolveInput, apply)


def _reply(case, data, viewer):
    """The public reply: as written, or the named template filled in for the case and its
    newest money action, as `viewer` may read it."""
    name = data["reply_template"]
    if name is None:
        return data["public_reply"]
    if data["public_reply"]:
        raise ApplicationError("Send the reply as `public_reply` or name a `reply_template`, "
                               "not both.", "reply_twice")
    reply = dict(case_replies(case=case, viewer=viewer)[1]).get(name)
    if reply is None:
        raise ApplicationError(f"There is no active reply template named {quoted(name)}.",
                               "reply_template")
    return reply


class ReplyTemplateSerializer(serializers.Serializer):
    name = serializers.CharField()
    body = serializers.CharField(help_text="Filled in for the case.")


class CaseReplyTemplatesApi(APIView):
    """The reply templates a case can be resolved with, filled in for it and its newest
    money action, in the order the resolution form offers them."""

    required_capability = Capability.WORK_CASES

    @extend_schema(responses=page_of(ReplyTemplateSerializer))
    def get(self, request, pk):
        case = get_object_or_404(Case, pk=pk)
        templates = [{"name": name, "body": body}
                     for name, body in case_replies(case=case, viewer=request.user)[1]]
        return paged(request, ReplyTemplateSerializer(templates, many=True).data, cursor=None)


# --- The case's Stripe snapshot: the case page's Stripe panel, for programs --------------


class StripeTime(serializers.DateTimeField):
    """A Stripe time (Unix seconds) as ISO 8601, in UTC."""

    def to_representation(self, value):
        return super().to_representation(datetime.fromtimestamp(value, UTC))


class StripeCustomerSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField(allow_null=True)
    email = serializers.CharField(allow_null=True)
    balance = serializers.IntegerField(help_text="In minor units; below zero is credit.")
    currency = serializers.CharField(allow_null=True)
    delinquent = serializers.BooleanField()


class SubscriptionItemSerializer(serializers.Serializer):
    plan_name = serializers.CharField(allow_null=True, help_text="Its product and period.")
    price = serializers.CharField()
    quantity = serializers.IntegerField()
    unit_amount = serializers.IntegerField(allow_null=True, help_text="In minor units.")
    currency = serializers.CharField()
    interval = serializers.CharField(allow_null=True)


class SubscriptionSerializer(serializers.Serializer):
    id = serializers.CharField()
    status = serializers.CharField()
    cancel_at_period_end = serializers.BooleanField()
    start_date = StripeTime()
    items = SubscriptionItemSerializer(many=True)


class InvoiceLineSerializer(serializers.Serializer):
    description = serializers.CharField(allow_null=True)
    quantity = serializers.IntegerField(allow_null=True)
    amount = serializers.IntegerField(help_text="In minor units, before exclusive taxes.")
    tax_rates = serializers.SerializerMethodField(help_text="As people name them: 20% VAT.")

    def get_tax_rates(self, line) -> list[str]:
        return tax_names(line.taxes, self.context["rates"].get(line.id, {}))


class InvoiceSerializer(serializers.Serializer):
    id = serializers.CharField(allow_null=True)
    number = serializers.CharField(allow_null=True, help_text="Null on a draft.")
    status = serializers.CharField(allow_null=True)
    currency = serializers.CharField()
    subtotal = serializers.IntegerField()
    tax = serializers.IntegerField(help_text="All its tax, inclusive and exclusive.")
    tax_included = serializers.BooleanField(help_text="All its tax is inside the lines.")
    total = serializers.IntegerField()
    amount_due = serializers.IntegerField()
    amount_paid = serializers.IntegerField()
    amount_remaining = serializers.IntegerField()
    created = StripeTime()
    lines = InvoiceLineSerializer(many=True)


class RefundSummarySerializer(serializers.Serializer):
    id = serializers.CharField()
    amount = serializers.IntegerField()
    currency = serializers.CharField()
    status = serializers.CharField()


class ChargeSerializer(serializers.Serializer):
    id = serializers.CharField()
    description = serializers.CharField(allow_null=True)
    card_last4 = serializers.SerializerMethodField(
        help_text="The paying card's last four digits, to billing specialists only (who "
                  "match them with what the customer says); null to other roles and for "
                  "other payment methods.")
    status = serializers.CharField()
    failure_message = serializers.CharField(allow_null=True)
    amount = serializers.IntegerField()
    currency = serializers.CharField()
    refundable_amount = serializers.IntegerField(help_text="What can still be refunded.")
    refunds = RefundSummarySerializer(many=True)
    created = StripeTime()

    def get_card_last4(self, charge) -> str | None:
        return charge.card_last4 if self.context["sees_card"] else None


class DisputeSerializer(serializers.Serializer):
    id = serializers.CharField()
    charge = serializers.CharField()
    amount = serializers.IntegerField()
    currency = serializers.CharField()
    status = serializers.CharField()
    reason = serializers.CharField()
    created = StripeTime()


class CreditNoteSerializer(serializers.Serializer):
    id = serializers.CharField()
    number = serializers.CharField()
    invoice = serializers.CharField()
    status = serializers.CharField()
    reason = serializers.CharField(allow_null=True)
    amount = serializers.IntegerField(help_text="The credit, tax included.")
    tax = serializers.IntegerField()
    currency = serializers.CharField()
    created = StripeTime()


class StripeSnapshotSerializer(serializers.Serializer):
    """What Stripe holds for the case's customer, as the case page's Stripe panel shows it
    (read within the last minute). Amounts are integers in the currency's minor unit,
    times in UTC; statuses and reasons are Stripe's codes."""

    stripe_link = serializers.CharField(
        help_text="verified, unverified or named; unverified or named: no one has confirmed "
                  "yet that the customer is the requester, and no money can move for the "
                  "case until then.")
    customer = StripeCustomerSerializer()
    subscriptions = SubscriptionSerializer(many=True)
    invoices = InvoiceSerializer(many=True)
    charges = ChargeSerializer(many=True)
    disputes = DisputeSerializer(many=True)
    credit_notes = CreditNoteSerializer(many=True)


class CaseStripeApi(APIView):
    required_capability = Capability.VIEW_QUEUE

    @extend_schema(responses={200: StripeSnapshotSerializer, **error_responses(409, 503)})
    def get(self, request, pk):
        case = get_object_or_404(Case, pk=pk)
        if case.stripe_link == StripeLink.AMBIGUOUS:
            raise ApplicationError("Several Stripe customers match the requester; confirm "
                                   "one (`stripe/customer/`) first.", "stripe_link_ambiguous")
        if not case.stripe_customer_id:
            raise ApplicationError("No Stripe customer is linked to this case.",
                                   "no_stripe_customer")
        snapshot = stripe_snapshot(customer_id=case.stripe_customer_id)
        context = {"sees_card": may_see_card(request.user),
                   "rates": {line.id: invoice.tax_rates for invoice in snapshot.invoices
                             for line in invoice.lines}}
        return Response(StripeSnapshotSerializer(
            {"stripe_link": case.stripe_link, **vars(snapshot)}, context=context).data)
