"""The API every money action shares: its representation, the list of them
(`/api/v1/money-actions/`, filtered and keyset-paged), finance's decision on one waiting for
approval (`/api/v1/money-actions/<id>/approve/` and `/reject/`), and the requester
withdrawing it (`/withdraw/`). Refunds keep their own approval paths, on the same
views, with their own representation."""

from django.shortcuts import get_object_or_404
from django.utils.functional import lazy
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.services import Origin
from billing_console.access import Capability
from billing_console.api import (
    PAGE_SIZE,
    InputSerializer,
    QuerySerializer,
    amount_field,
    error_responses,
    keyset_list,
    page_of,
)
from billing_console.notes import NOTE_MAX_CHARS
from money_actions import services
from money_actions.kinds import all_kinds
from money_actions.models import MoneyAction, State
from money_actions.selectors import LIST_ORDER, money_actions_filtered

# The list's largest page.
MAX_LIMIT = 100
# Kinds are declared by their apps when they load, after this module.
_kind_slugs = lazy(lambda: ", ".join(kind.slug for kind in all_kinds()), str)


class MoneyActionSerializer(serializers.ModelSerializer):
    """Any money action: `stripe_target_id` is what it acts on (an invoice, a credit note,
    a customer, a subscription), `stripe_object_id` what Stripe made or changed."""

    state = serializers.CharField(help_text=", ".join(State.values))
    kind = serializers.CharField(help_text=_kind_slugs())
    requested_by = serializers.CharField(source="requested_by.username")
    approved_by = serializers.CharField(source="approved_by.username", default=None,
                                        allow_null=True)
    rejected_by = serializers.CharField(source="rejected_by.username", default=None,
                                        allow_null=True)

    class Meta:
        model = MoneyAction
        fields = ["id", "kind", "state", "case", "stripe_customer_id", "stripe_target_id",
                  "stripe_object_id", "amount", "currency", "params", "reason_code", "note",
                  "policy_verdicts", "requested_by", "approved_by", "rejected_by",
                  "decision_note", "decided_at", "stripe_request_id", "failure_reason",
                  "created_at", "updated_at"]


class VerdictSerializer(serializers.Serializer):
    """One rule of the money policy on an action (`money_actions.policy.Verdict`)."""

    rule = serializers.CharField()
    needs_approval = serializers.BooleanField()
    explanation = serializers.CharField(help_text="In words, for a person.")
    warning = serializers.BooleanField(help_text="Worth a look, whether or not it needs "
                                                 "approval.")


class DecisionInput(InputSerializer):
    note = serializers.CharField(required=False, allow_blank=True, default="",
                                 max_length=NOTE_MAX_CHARS)
    amount = amount_field(
        required=False, default=None, allow_null=True,
        help_text="The amount the approver saw; an approval is refused if it has changed.")


class DecisionApi(APIView):
    """Finance's decision on an action waiting for approval; `decide` is the service,
    `actions()` the actions this path may reach, `serializer` how they are shown."""

    required_capability = Capability.APPROVE_MONEY_ACTION
    decide = None
    serializer = MoneyActionSerializer

    @staticmethod
    def actions():
        return MoneyAction.objects.select_related("requested_by", "approved_by",
                                                  "rejected_by")

    @extend_schema(request=DecisionInput, responses=MoneyActionSerializer)
    def post(self, request, pk):
        action = get_object_or_404(self.actions(), pk=pk)
        data = DecisionInput(data=request.data)
        data.is_valid(raise_exception=True)
        self.decide(action_id=action.pk, actor=request.user, origin=Origin.of(request),
                    **self.decision(data.validated_data))
        return Response(self.serializer(self.actions().get(pk=pk)).data)


    @staticmethod
    def decision(data):
        return {"note": data["note"]}


class ApproveApi(DecisionApi):
    decide = staticmethod(services.money_action_approve)

    @staticmethod
    def decision(data):
        return {"note": data["note"], "expected_amount": data["amount"]}


class RejectApi(DecisionApi):
    decide = staticmethod(services.money_action_reject)


class WithdrawApi(DecisionApi):
    """The requester's own change of mind, before the action reaches Stripe."""

    required_capability = Capability.REQUEST_MONEY_ACTION
    decide = staticmethod(services.money_action_withdraw)


# --- The list --------------------------------------------------------------------------------


class MoneyActionQuery(QuerySerializer):
    """The list's filters, each optional; together, an action must match them all."""

    state = serializers.ChoiceField(choices=State.values, required=False)
    kind = serializers.ChoiceField(choices=[], required=False, help_text=_kind_slugs())
    case = serializers.IntegerField(required=False, min_value=1, max_value=10**18 - 1,
                                    help_text="A case's id.")
    customer = serializers.CharField(required=False, max_length=255,
                                     help_text="A Stripe customer id.")
    requester = serializers.CharField(required=False, max_length=150,
                                      help_text="The username of who asked for it.")
    since = serializers.DateField(required=False, input_formats=["%Y-%m-%d"],
                                  help_text="Created on or after this day, YYYY-MM-DD (UTC).")
    until = serializers.DateField(required=False, input_formats=["%Y-%m-%d"],
                                  help_text="Created on or before this day, YYYY-MM-DD (UTC).")
    limit = serializers.IntegerField(required=False, min_value=1, max_value=MAX_LIMIT,
                                     help_text=f"Page size, {PAGE_SIZE} unless given.")
    after = serializers.CharField(required=False, help_text="The cursor from the previous "
                                                            "page's `next`.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [kind.slug for kind in all_kinds()]


class MoneyActionListApi(APIView):
    """Every money action, newest first, to the roles that see money actions: billing
    specialists (who see every case, and each case's actions), finance and admins (who
    decide on them). Tier 2 never sees one."""

    required_capability = Capability.VIEW_MONEY_ACTIONS

    @extend_schema(parameters=[MoneyActionQuery],
                   responses={200: page_of(MoneyActionSerializer), **error_responses(409)})
    def get(self, request):
        query = MoneyActionQuery.read(request)
        actions = money_actions_filtered(
            state=query.get("state"), kind=query.get("kind"), case_id=query.get("case"),
            customer=query.get("customer"), requester=query.get("requester"),
            since=query.get("since"), until=query.get("until"))
        return keyset_list(request, actions.select_related(
            "requested_by", "approved_by", "rejected_by"), MoneyActionSerializer,
            order=LIST_ORDER, size=query.get("limit", PAGE_SIZE))
