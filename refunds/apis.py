"""The refunds API: request, preview, read and change the amount of refunds. Finance
decides on them as on every money action, at `/api/v1/money-actions/<id>/approve|reject/`.

Amounts are integers in the charge currency's minor unit. `POST /refunds/` takes an
`Idempotency-Key` header (see `money_actions.idempotency`).
"""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.services import Origin
from billing_console.access import Capability
from billing_console.api import (
    CURRENCY_CODE,
    IDEMPOTENCY_KEY_PARAMETER,
    InputSerializer,
    amount_field,
    error_responses,
)
from billing_console.notes import NOTE_MAX_CHARS
from cases.models import Case
from cases.replies import reply_as_seen_by
from money_actions.apis import VerdictSerializer
from money_actions.idempotency import Answer, run_idempotently
from money_actions.models import MoneyAction, State
from refunds.kinds import REFUND
from refunds.models import StripeReason
from refunds.selectors import read_charge, refund_preview
from refunds.services import (
    refund_change_amount,
    refund_request,
    validate_against_charge,
    validate_request_fields,
)


class RefundSerializer(serializers.ModelSerializer):
    # A plain string in the schema: cases have a `state` enum too, and two enums of one
    # name make drf-spectacular warn.
    state = serializers.CharField(help_text=", ".join(State.values))
    charge_id = serializers.CharField(source="stripe_target_id")
    refund_id = serializers.CharField(source="stripe_object_id")
    stripe_reason = serializers.CharField(source="params.stripe_reason", default=None,
                                          allow_null=True)
    requested_by = serializers.CharField(source="requested_by.username")
    approved_by = serializers.CharField(source="approved_by.username", default=None,
                                        allow_null=True)
    rejected_by = serializers.CharField(source="rejected_by.username", default=None,
                                        allow_null=True)
    customer_reply = serializers.SerializerMethodField(
        help_text="The public reply it holds until it succeeds, or sent then; the card's "
                  "last four digits only to billing specialists.")

    class Meta:
        model = MoneyAction
        fields = ["id", "state", "case", "stripe_customer_id", "charge_id", "amount",
                  "currency", "stripe_reason", "reason_code", "note", "policy_verdicts",
                  "customer_reply", "requested_by", "approved_by", "rejected_by",
                  "decision_note", "decided_at",
                  "refund_id", "stripe_request_id", "failure_reason", "created_at",
                  "updated_at"]

    def get_customer_reply(self, action) -> str:
        return reply_as_seen_by(action.customer_reply, self.context["request"].user)


class RefundInput(InputSerializer):
    """A refund of `amount` of the charge `charge_id`, for the case `case_id`. `currency`,
    when given, must be the charge's. `reason_code` is one of the console's active reason
    codes (admins keep them)."""

    case_id = serializers.IntegerField()
    charge_id = serializers.CharField()
    amount = amount_field()
    currency = serializers.CharField(required=False, validators=[CURRENCY_CODE])
    stripe_reason = serializers.ChoiceField(choices=StripeReason.values,
                                            default=StripeReason.REQUESTED_BY_CUSTOMER)
    reason_code = serializers.CharField()
    note = serializers.CharField(max_length=NOTE_MAX_CHARS)
    customer_reply = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=NOTE_MAX_CHARS,
        help_text="A public reply posted to the ticket once the refund succeeds.")


class RefundPreviewSerializer(serializers.Serializer):
    """What requesting the refund would do (`refunds.selectors.refund_preview`); amounts
    in the charge currency's minor unit."""

    charge_id = serializers.CharField()
    currency = serializers.CharField()
    captured = serializers.IntegerField()
    refundable_remainder = serializers.IntegerField(
        help_text="What the charge can still give back, requests not yet in Stripe counted.")
    amount = serializers.IntegerField()
    customer_gets = serializers.CharField(help_text="In words, for the customer.")
    needs_approval = serializers.BooleanField()
    verdicts = VerdictSerializer(many=True)
    warnings = serializers.ListField(child=serializers.CharField())
    duplicate_charges = serializers.ListField(
        child=serializers.CharField(), help_text="The customer's charges that look like "
                                                 "duplicates of this one.")
    suggested_stripe_reason = serializers.CharField(allow_null=True)


class AmountInput(InputSerializer):
    amount = amount_field()


def _refunds():
    return MoneyAction.objects.filter(kind=REFUND.slug).select_related(
        "requested_by", "approved_by", "rejected_by")


def _checked_request(request):
    """(fields, case, charge) of a refund request that passes every check a request meets
    before its lock: the preview answers for exactly what creating would do."""
    data = RefundInput(data=request.data)
    data.is_valid(raise_exception=True)
    fields = data.validated_data
    validate_request_fields(stripe_reason=fields["stripe_reason"],
                            reason_code=fields["reason_code"], note=fields["note"])
    case = get_object_or_404(Case, pk=fields["case_id"])
    charge = read_charge(fields["charge_id"])
    validate_against_charge(case=case, charge=charge, amount=fields["amount"],
                            currency=fields.get("currency"))
    return fields, case, charge


class RefundCreateApi(APIView):
    required_capability = Capability.REQUEST_MONEY_ACTION

    @extend_schema(request=RefundInput,
                   responses={201: RefundSerializer, **error_responses(404, 503)},
                   parameters=[IDEMPOTENCY_KEY_PARAMETER])
    def post(self, request):
        def prepare():
            return _checked_request(request)

        def commit(prepared):
            fields, case, charge = prepared
            action = refund_request(
                case=case, charge=charge, amount=fields["amount"],
                currency=fields.get("currency"), stripe_reason=fields["stripe_reason"],
                reason_code=fields["reason_code"], note=fields["note"], actor=request.user,
                customer_reply=fields["customer_reply"], origin=Origin.of(request))
            return Answer(status.HTTP_201_CREATED,
                          RefundSerializer(action, context={"request": request}).data)

        return run_idempotently(request, endpoint="refunds.create", prepare=prepare,
                                commit=commit)


class RefundPreviewApi(APIView):
    required_capability = Capability.REQUEST_MONEY_ACTION

    @extend_schema(request=RefundInput,
                   responses={200: RefundPreviewSerializer, **error_responses(404, 503)})
    def post(self, request):
        fields, case, charge = _checked_request(request)
        return Response(RefundPreviewSerializer(refund_preview(
            charge=charge, amount=fields["amount"], stripe_reason=fields["stripe_reason"],
            requester=request.user)).data)


class RefundDetailApi(APIView):
    required_capability = Capability.VIEW_MONEY_ACTIONS

    @extend_schema(responses=RefundSerializer)
    def get(self, request, pk):
        return Response(RefundSerializer(get_object_or_404(_refunds(), pk=pk),
                                         context={"request": request}).data)


class RefundAmountApi(APIView):
    """Change the amount of a refund not yet submitted; any approval is void."""

    required_capability = Capability.REQUEST_MONEY_ACTION

    @extend_schema(request=AmountInput, responses={200: RefundSerializer,
                                                   **error_responses(503)})
    def post(self, request, pk):
        action = get_object_or_404(_refunds(), pk=pk)
        data = AmountInput(data=request.data)
        data.is_valid(raise_exception=True)
        amount = data.validated_data["amount"]
        refund_change_amount(action=action, charge=read_charge(action.stripe_target_id),
                             amount=amount, actor=request.user, origin=Origin.of(request))
        return Response(RefundSerializer(_refunds().get(pk=pk),
                                         context={"request": request}).data)
