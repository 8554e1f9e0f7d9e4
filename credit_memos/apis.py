"""The API for every money action but refunds: preview, request and void credit memos
(Stripe credit notes); void, write off, mark paid or change invoices; move a customer's
balance; change or cancel subscriptions, and cancel one now with a refund of the unused
period.

Amounts are integers in the currency's minor unit. `POST /credit-memos/`,
`POST /invoice-adjustments/` and `POST /subscription-changes/` take an `Idempotency-Key`
header (see `money_actions.idempotency`).
"""

import time
from dataclasses import dataclass, field, replace

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema
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
from billing_console.exceptions import ApplicationError
from billing_console.integrations.stripe.gateway import PRORATION_BEHAVIORS
from billing_console.integrations.stripe.types import CreditLine
from billing_console.notes import NOTE_MAX_CHARS
from cases.models import Case
from credit_memos import kinds, rules
from credit_memos.selectors import (
    MAX_QUANTITY,
    REFUND_UNUSED,
    REFUND_WHOLE,
    SETTLEMENTS,
    STRIPE_REASONS,
    CreditSpec,
    check_item_change,
    credit_memo_preview,
    plans_for,
    read_credit_note,
    read_customer,
    read_invoice,
    read_subscription,
    subscription_change_preview,
)
from credit_memos.services import (
    balance_adjustment_request,
    cancel_with_refund,
    credit_memo_request,
    credit_memo_void,
    invoice_adjustment_request,
    plan_change_moves,
    subscription_cancel_with_refund_request,
    subscription_change_request,
    subscription_verdicts,
    validate_against_invoice,
    validate_spec,
)
from money_actions.apis import MoneyActionSerializer, VerdictSerializer
from money_actions.idempotency import Answer, run_idempotently
from money_actions.kinds import Moves
from money_actions.models import MoneyAction
from money_actions.policy import needs_approval, validate_reason


class CreditLineInput(InputSerializer):
    """One line of the invoice, credited by `amount` or by `quantity` (one of the two)."""

    invoice_line_item = serializers.CharField()
    amount = amount_field(required=False, default=None, allow_null=True)
    quantity = serializers.IntegerField(required=False, default=None, allow_null=True,
                                        min_value=1, max_value=MAX_QUANTITY)


class CreditMemoInput(InputSerializer):
    """Credit `lines` of the invoice, or one custom `amount`; what the invoice no longer
    owes goes to `settle_to`."""

    case_id = serializers.IntegerField()
    invoice_id = serializers.CharField()
    lines = CreditLineInput(many=True, required=False, default=list)
    amount = amount_field(required=False, default=None, allow_null=True)
    settle_to = serializers.ChoiceField(choices=list(SETTLEMENTS), default="customer_balance")
    stripe_reason = serializers.ChoiceField(choices=list(STRIPE_REASONS), required=False,
                                            default=None, allow_null=True)
    memo = serializers.CharField(required=False, allow_blank=True, default="")
    reason_code = serializers.CharField()
    note = serializers.CharField(max_length=NOTE_MAX_CHARS)


class VoidInput(InputSerializer):
    reason_code = serializers.CharField()
    note = serializers.CharField(max_length=NOTE_MAX_CHARS)


class CreditMemoPreviewSerializer(serializers.Serializer):
    """Stripe's preview of the credit note and the policy's verdicts
    (`credit_memos.selectors.credit_memo_preview`); amounts in the invoice currency's minor
    unit."""

    invoice_id = serializers.CharField()
    invoice_status = serializers.CharField()
    currency = serializers.CharField()
    creditable_remainder = serializers.IntegerField(
        help_text="What the invoice can still be credited, credits not yet in Stripe "
                  "counted.")
    amount = serializers.IntegerField()
    subtotal = serializers.IntegerField()
    tax = serializers.IntegerField()
    total = serializers.IntegerField(help_text="The credit, tax included.")
    tax_names = serializers.ListField(child=serializers.CharField(),
                                      help_text="The rates, as people name them (20% VAT).")
    tax_included = serializers.BooleanField(help_text="All the tax is inside the amounts.")
    pre_payment_amount = serializers.IntegerField(
        help_text="What the invoice no longer owes.")
    post_payment_amount = serializers.IntegerField(help_text="What goes back of what was paid.")
    refund_amount = serializers.IntegerField(help_text="Of that, back to the card.")
    credit_amount = serializers.IntegerField(help_text="Of that, to the customer's balance.")
    out_of_band_amount = serializers.IntegerField(help_text="Of that, settled outside Stripe.")
    needs_approval = serializers.BooleanField()
    verdicts = VerdictSerializer(many=True)


def _spec(fields):
    return CreditSpec(
        invoice_id=fields["invoice_id"], amount=fields["amount"],
        lines=tuple(CreditLine(**line) for line in fields["lines"]),
        settle_to=fields["settle_to"], stripe_reason=fields["stripe_reason"],
        memo=fields["memo"])


def _prepared(request):
    """The input, checked as far as it can be without a lock, with the invoice read: the
    preview answers for exactly what creating would do."""
    data = CreditMemoInput(data=request.data)
    data.is_valid(raise_exception=True)
    fields = data.validated_data
    spec = _spec(fields)
    validate_spec(spec)
    validate_reason(reason_code=fields["reason_code"], note=fields["note"])
    case = get_object_or_404(Case, pk=fields["case_id"])
    invoice = read_invoice(spec.invoice_id)
    paid = rules.paid_by(invoice)
    amount = validate_against_invoice(case=case, invoice=invoice, spec=spec, paid=paid)
    return fields, spec, case, invoice, paid, amount


def _memos():
    return MoneyAction.objects.filter(kind__in=(kinds.CREDIT_MEMO.slug,
                                                kinds.CREDIT_MEMO_VOID.slug)) \
        .select_related("requested_by", "approved_by")


class CreditMemoPreviewApi(APIView):
    required_capability = Capability.REQUEST_MONEY_ACTION

    @extend_schema(request=CreditMemoInput,
                   responses={200: CreditMemoPreviewSerializer, **error_responses(404, 503)})
    def post(self, request):
        _, spec, case, invoice, paid, amount = _prepared(request)
        return Response(CreditMemoPreviewSerializer(credit_memo_preview(
            case=case, invoice=invoice, paid=paid, spec=spec, amount=amount,
            requester=request.user)).data)


class CreditMemoCreateApi(APIView):
    required_capability = Capability.REQUEST_MONEY_ACTION

    @extend_schema(request=CreditMemoInput,
                   responses={201: MoneyActionSerializer, **error_responses(404, 503)},
                   parameters=[IDEMPOTENCY_KEY_PARAMETER])
    def post(self, request):
        def commit(prepared):
            fields, spec, case, invoice, paid, _ = prepared
            action = credit_memo_request(
                case=case, invoice=invoice, spec=spec, paid=paid,
                reason_code=fields["reason_code"],
                note=fields["note"], actor=request.user, origin=Origin.of(request))
            return Answer(status.HTTP_201_CREATED, MoneyActionSerializer(action).data)

        return run_idempotently(request, endpoint="credit_memos.create",
                                prepare=lambda: _prepared(request), commit=commit)


class CreditMemoDetailApi(APIView):
    required_capability = Capability.VIEW_MONEY_ACTIONS

    @extend_schema(responses=MoneyActionSerializer)
    def get(self, request, pk):
        return Response(MoneyActionSerializer(get_object_or_404(_memos(), pk=pk)).data)


class CreditMemoVoidApi(APIView):
    required_capability = Capability.REQUEST_MONEY_ACTION

    @extend_schema(request=VoidInput,
                   responses={201: MoneyActionSerializer, **error_responses(503)})
    def post(self, request, pk):
        memo = get_object_or_404(_memos(), pk=pk)
        data = VoidInput(data=request.data)
        data.is_valid(raise_exception=True)
        void = credit_memo_void(memo=memo, credit_note=read_credit_note(memo.stripe_object_id),
                                reason_code=data.validated_data["reason_code"],
                                note=data.validated_data["note"], actor=request.user,
                                origin=Origin.of(request))
        # Read again: within policy, the void may already have been submitted.
        return Response(MoneyActionSerializer(_memos().get(pk=void.pk)).data,
                        status=status.HTTP_201_CREATED)


# Invoice adjustments ---------------------------------------------------------------------

# The API's `kind` is the kind's slug.
INVOICE_KINDS = {kind.slug: kind for kind in (kinds.INVOICE_VOID, kinds.INVOICE_UNCOLLECTIBLE,
                                              kinds.INVOICE_PAID_OUT_OF_BAND,
                                              kinds.INVOICE_EDIT)}
BALANCE_KINDS = {kind.slug: kind for kind in (kinds.BALANCE_CREDIT, kinds.BALANCE_DEBIT)}


class AddedItemInput(InputSerializer):
    description = serializers.CharField()
    amount = amount_field()


class InvoiceAdjustmentInput(InputSerializer):
    """`invoice_id` for the invoice kinds; `add`, `remove` (line ids) and `finalize` for
    `invoice_edit`; `amount`, `currency` and `description` for the balance kinds."""

    case_id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=[*INVOICE_KINDS, *BALANCE_KINDS])
    invoice_id = serializers.CharField(required=False, allow_blank=True, default="")
    add = AddedItemInput(many=True, required=False, default=list)
    remove = serializers.ListField(child=serializers.CharField(), required=False, default=list)
    finalize = serializers.BooleanField(required=False, default=True)
    amount = amount_field(required=False, default=None, allow_null=True)
    currency = serializers.CharField(required=False, allow_blank=True, default="",
                                     validators=[CURRENCY_CODE])
    description = serializers.CharField(required=False, allow_blank=True, default="")
    reason_code = serializers.CharField()
    note = serializers.CharField(max_length=NOTE_MAX_CHARS)


class InvoiceAdjustmentApi(APIView):
    required_capability = Capability.REQUEST_MONEY_ACTION

    @extend_schema(request=InvoiceAdjustmentInput,
                   responses={201: MoneyActionSerializer, **error_responses(404, 503)},
                   parameters=[IDEMPOTENCY_KEY_PARAMETER])
    def post(self, request):
        def prepare():
            data = InvoiceAdjustmentInput(data=request.data)
            data.is_valid(raise_exception=True)
            fields = data.validated_data
            validate_reason(reason_code=fields["reason_code"], note=fields["note"])
            case = get_object_or_404(Case, pk=fields["case_id"])
            if fields["kind"] in BALANCE_KINDS:
                return fields, case, read_customer(case.stripe_customer_id)
            return fields, case, read_invoice(fields["invoice_id"])

        def commit(prepared):
            action = _adjust(*prepared, actor=request.user, origin=Origin.of(request))
            return Answer(status.HTTP_201_CREATED, MoneyActionSerializer(action).data)

        return run_idempotently(request, endpoint="invoice_adjustments.create",
                                prepare=prepare, commit=commit)


def _adjust(fields, case, target, *, actor, origin):
    common = {"case": case, "reason_code": fields["reason_code"], "note": fields["note"],
              "actor": actor, "origin": origin}
    if fields["kind"] in BALANCE_KINDS:
        return balance_adjustment_request(
            customer=target, kind=BALANCE_KINDS[fields["kind"]], amount=fields["amount"],
            currency=fields["currency"] or target.currency or "",
            description=fields["description"], **common)
    changes = {key: fields[key] for key in ("add", "remove", "finalize")}
    return invoice_adjustment_request(kind=INVOICE_KINDS[fields["kind"]], invoice=target,
                                      changes=changes, **common)


# Subscription changes --------------------------------------------------------------------

SUBSCRIPTION_KINDS = {kind.slug: kind for kind in (
    kinds.SUBSCRIPTION_CHANGE, kinds.SUBSCRIPTION_CANCEL,
    kinds.SUBSCRIPTION_CANCEL_AT_PERIOD_END, kinds.SUBSCRIPTION_RESUME,
    kinds.SUBSCRIPTION_CANCEL_WITH_REFUND)}
CANCEL_WITH_REFUND = kinds.SUBSCRIPTION_CANCEL_WITH_REFUND.slug
# What a cancellation with a refund gives back, as the API names it, and as the form does.
REFUND_CHOICES = {"unused_period": REFUND_UNUSED, "whole_payment": REFUND_WHOLE}


class SubscriptionChangeInput(InputSerializer):
    """`item_id`, `price_id` and/or `quantity`, and `proration_behavior` for
    `subscription_change`; `prorate` and `invoice_now` for `subscription_cancel`; `refund`
    and `at` for `subscription_cancel_refund`."""

    case_id = serializers.IntegerField()
    subscription_id = serializers.CharField()
    kind = serializers.ChoiceField(choices=list(SUBSCRIPTION_KINDS))
    item_id = serializers.CharField(required=False, allow_blank=True, default="")
    price_id = serializers.CharField(required=False, default=None, allow_null=True)
    quantity = serializers.IntegerField(required=False, default=None, allow_null=True,
                                        min_value=1, max_value=MAX_QUANTITY)
    proration_behavior = serializers.ChoiceField(choices=PRORATION_BEHAVIORS, required=False,
                                                 default="create_prorations")
    prorate = serializers.BooleanField(required=False, default=False)
    invoice_now = serializers.BooleanField(required=False, default=False)
    refund = serializers.ChoiceField(
        choices=list(REFUND_CHOICES), required=False, default="unused_period",
        help_text="What goes back to the card that paid the last invoice: the unused part "
                  "of the period it paid for, or the whole payment.")
    at = serializers.IntegerField(
        required=False, default=None, allow_null=True, min_value=0,
        help_text="Unix seconds (UTC): the moment the unused period starts, as the preview "
                  "gave it, so that the refund requested is the one previewed; at most an "
                  "hour old. Now when left out.")
    reason_code = serializers.CharField()
    note = serializers.CharField(max_length=NOTE_MAX_CHARS)


class PreviewLineSerializer(serializers.Serializer):
    description = serializers.CharField(allow_null=True)
    amount = serializers.IntegerField(help_text="Before exclusive taxes.")
    proration = serializers.BooleanField()
    period_start = serializers.IntegerField(allow_null=True, help_text="Unix seconds (UTC).")
    period_end = serializers.IntegerField(allow_null=True, help_text="Unix seconds (UTC).")


class SubscriptionChangePreviewSerializer(serializers.Serializer):
    """Stripe's invoice preview of the change at its own proration date
    (`credit_memos.selectors.subscription_change_preview`); amounts in minor units."""

    kind = serializers.ChoiceField(choices=[kinds.SUBSCRIPTION_CHANGE.slug])
    subscription_id = serializers.CharField()
    currency = serializers.CharField()
    proration_behavior = serializers.CharField()
    proration_total = serializers.IntegerField(
        help_text="The prorations with the tax on top: above zero the customer pays, below "
                  "zero they are credited.")
    proration_tax = serializers.IntegerField()
    restarts_period = serializers.BooleanField(
        help_text="The new plan bills at another interval: Stripe starts its first full "
                  "period now and invoices it at once, whatever the proration behavior.")
    invoiced_now = serializers.BooleanField(
        help_text="The change makes an invoice at once (`always_invoice`, or "
                  "`restarts_period`); `invoice_total` is then what it charges.")
    invoice_total = serializers.IntegerField()
    amount_due = serializers.IntegerField()
    next_invoice_total = serializers.IntegerField(help_text="The next renewal's invoice.")
    next_invoice_date = serializers.IntegerField(allow_null=True,
                                                 help_text="Unix seconds (UTC).")
    lines = PreviewLineSerializer(many=True)
    moves = serializers.ChoiceField(
        choices=[moves.value for moves in Moves],
        help_text="What the change moves, and when: invoiced at once, `invoice_total` "
                  "(`takes_now` above zero, `gives_back_now` below); on the next invoice, "
                  "`proration_total`; `nothing`. Kept on the action, in `params.moves`.")
    amount = serializers.IntegerField(
        help_text="What it moves, unsigned: what the request's `amount` is and the policy "
                  "checks, as money taken or money given back.")
    needs_approval = serializers.BooleanField()
    verdicts = VerdictSerializer(many=True)


class RefundedChargeSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="The card charge that paid the last invoice: the "
                                         "refund goes back on it.")
    amount = serializers.IntegerField(help_text="What it charged.")
    created = serializers.IntegerField(help_text="Unix seconds (UTC).")
    invoice_id = serializers.CharField(help_text="The subscription's last paid invoice.")
    refundable = serializers.IntegerField(
        help_text="What the console may still refund of it: what Stripe says it can "
                  "refund, less the console's refunds and credits on it on their way.")


class PaidPeriodSerializer(serializers.Serializer):
    start = serializers.IntegerField(help_text="Unix seconds (UTC).")
    end = serializers.IntegerField(help_text="Unix seconds (UTC).")
    seconds = serializers.IntegerField()
    paid = serializers.IntegerField(help_text="What its plan lines cost, tax included, at "
                                              "most what the invoice was paid.")


class UnusedPeriodSerializer(serializers.Serializer):
    start = serializers.IntegerField(help_text="Unix seconds (UTC): `at`, within the period.")
    end = serializers.IntegerField(help_text="Unix seconds (UTC): the paid period's end.")
    seconds = serializers.IntegerField(help_text="0 once the paid period has ended.")


class CancellationSerializer(serializers.Serializer):
    status = serializers.CharField(help_text="The subscription's status now; `canceled` "
                                             "once the action goes through.")
    prorate = serializers.BooleanField(help_text="Always false: the refund gives back, so "
                                                 "Stripe credits nothing.")
    invoice_now = serializers.BooleanField(help_text="Always false: nothing is invoiced.")


class CancelWithRefundPreviewSerializer(serializers.Serializer):
    """Cancel now, and refund the unused part of the last payment (or all of it) to the
    card that paid it: worked out by the same function as the page's preview and the
    request (`credit_memos.services.cancel_with_refund`), with the policy's verdicts on
    the refund. Amounts in minor units of `currency`."""

    kind = serializers.ChoiceField(choices=[CANCEL_WITH_REFUND])
    subscription_id = serializers.CharField()
    currency = serializers.CharField()
    refund = serializers.ChoiceField(choices=list(REFUND_CHOICES))
    at = serializers.IntegerField(help_text="Unix seconds (UTC): the moment the refund is "
                                            "worked out at; send it with the request.")
    amount = serializers.IntegerField(
        help_text="The refund: `worked_out`, at most `charge.refundable`. What the request "
                  "asks and the policy checks.")
    worked_out = serializers.IntegerField(
        help_text="`unused_period.seconds` ÷ `paid_period.seconds` × `paid_period.paid`, "
                  "rounded up in the customer's favour; for `whole_payment`, what the "
                  "charge charged.")
    charge = RefundedChargeSerializer()
    paid_period = PaidPeriodSerializer()
    unused_period = UnusedPeriodSerializer()
    cancellation = CancellationSerializer()
    needs_approval = serializers.BooleanField()
    verdicts = VerdictSerializer(many=True)


SubscriptionPreview = PolymorphicProxySerializer(
    component_name="SubscriptionPreview", resource_type_field_name="kind",
    serializers={kinds.SUBSCRIPTION_CHANGE.slug: SubscriptionChangePreviewSerializer,
                 CANCEL_WITH_REFUND: CancelWithRefundPreviewSerializer})


@dataclass(frozen=True)
class SubscriptionRead:
    """A subscription change's input, checked, with what it needs read from Stripe, all
    outside any transaction, so that the preview answers for exactly what requesting
    would do. A price or quantity change: `change`, the new `price` and Stripe's
    `preview`; a cancellation now: `change`; a cancellation with a refund: its last
    `payment` and the charge that `paid` it (`rules.last_paid`), `whole` and `at`."""

    fields: dict
    case: Case
    subscription: object
    kind: object
    change: dict = field(default_factory=dict)
    price: object = None
    preview: dict | None = None
    payment: object = None
    paid: object = None
    whole: bool = False
    at: int = 0


def _subscription_change(request):
    """The `SubscriptionRead` of the request."""
    data = SubscriptionChangeInput(data=request.data)
    data.is_valid(raise_exception=True)
    fields = data.validated_data
    validate_reason(reason_code=fields["reason_code"], note=fields["note"])
    case = get_object_or_404(Case, pk=fields["case_id"])
    subscription = read_subscription(fields["subscription_id"])
    kind = SUBSCRIPTION_KINDS[fields["kind"]]
    read = SubscriptionRead(fields=fields, case=case, subscription=subscription, kind=kind)
    if kind == kinds.SUBSCRIPTION_CHANGE:
        change = {key: fields[key] for key in ("item_id", "price_id", "quantity",
                                               "proration_behavior")}
        change["proration_date"] = int(time.time())
        price = check_item_change(subscription, change, plans_for(subscription))
        return replace(read, change=change, price=price,
                       preview=subscription_change_preview(subscription, change, price))
    if kind == kinds.SUBSCRIPTION_CANCEL:
        return replace(read, change={"prorate": fields["prorate"],
                                     "invoice_now": fields["invoice_now"]})
    if kind == kinds.SUBSCRIPTION_CANCEL_WITH_REFUND:
        payment, paid = rules.last_paid(subscription)
        at = fields["at"] if fields["at"] is not None else int(time.time())
        return replace(read, payment=payment, paid=paid, at=at,
                       whole=REFUND_CHOICES[fields["refund"]] == REFUND_WHOLE)
    return read


def _cancel_with_refund_preview(read, requester):
    """What `CancelWithRefundPreviewSerializer` shows of the read's cancellation, from
    `services.cancel_with_refund`, which refuses what the request would refuse."""
    offer = cancel_with_refund(case=read.case, subscription=read.subscription,
                               payment=read.payment, paid=read.paid, whole=read.whole,
                               at=read.at, requester=requester)
    payment, charge = offer.payment, offer.charge
    return {
        "kind": CANCEL_WITH_REFUND, "subscription_id": read.subscription.id,
        "currency": charge.currency, "refund": read.fields["refund"], "at": offer.at,
        "amount": offer.amount, "worked_out": offer.asked,
        "charge": {"id": charge.id, "amount": charge.amount, "created": charge.created,
                   "invoice_id": payment.invoice.id, "refundable": offer.left},
        "paid_period": {"start": payment.period_start, "end": payment.period_end,
                        "seconds": payment.period_seconds, "paid": payment.paid_for_period},
        "unused_period": {"start": min(max(offer.at, payment.period_start),
                                       payment.period_end),
                          "end": payment.period_end,
                          "seconds": payment.unused_seconds(offer.at)},
        "cancellation": {"status": read.subscription.status, "prorate": False,
                         "invoice_now": False},
        "needs_approval": needs_approval(offer.verdicts),
        "verdicts": [verdict.as_json() for verdict in offer.verdicts]}


def _plan_change_preview(read, requester):
    """What `SubscriptionChangePreviewSerializer` shows of the read's plan change: Stripe's
    preview, what it moves and the policy's verdicts on that, as the request has them."""
    moves, amount = plan_change_moves(read.preview)
    verdicts = subscription_verdicts(kind=read.kind, subscription=read.subscription,
                                     change=read.change, preview=read.preview,
                                     requester=requester)
    return {**read.preview, "kind": read.kind.slug, "moves": moves.value, "amount": amount,
            "needs_approval": needs_approval(verdicts),
            "verdicts": [verdict.as_json() for verdict in verdicts]}


class SubscriptionChangePreviewApi(APIView):
    required_capability = Capability.REQUEST_MONEY_ACTION

    @extend_schema(request=SubscriptionChangeInput,
                   responses={200: SubscriptionPreview, **error_responses(404, 503)})
    def post(self, request):
        read = _subscription_change(request)
        if read.kind == kinds.SUBSCRIPTION_CANCEL_WITH_REFUND:
            return Response(CancelWithRefundPreviewSerializer(
                _cancel_with_refund_preview(read, request.user)).data)
        if read.preview is None:
            raise ApplicationError("Only a price or quantity change, or a cancellation with "
                                   "a refund, has a preview.", "kind")
        return Response(SubscriptionChangePreviewSerializer(
            _plan_change_preview(read, request.user)).data)


def _subscription_request(read, *, actor, origin):
    """The money action `read` asks for, through its kind's service."""
    fields = read.fields
    common = {"case": read.case, "subscription": read.subscription,
              "reason_code": fields["reason_code"], "note": fields["note"], "actor": actor,
              "origin": origin}
    if read.kind == kinds.SUBSCRIPTION_CANCEL_WITH_REFUND:
        return subscription_cancel_with_refund_request(
            payment=read.payment, paid=read.paid, whole=read.whole, at=read.at, **common)
    return subscription_change_request(
        kind=read.kind, change=read.change, price=read.price,
        preview=read.preview, **common)


class SubscriptionChangeApi(APIView):
    required_capability = Capability.REQUEST_MONEY_ACTION

    @extend_schema(request=SubscriptionChangeInput,
                   responses={201: MoneyActionSerializer, **error_responses(404, 503)},
                   parameters=[IDEMPOTENCY_KEY_PARAMETER])
    def post(self, request):
        def commit(read):
            action = _subscription_request(read, actor=request.user,
                                           origin=Origin.of(request))
            return Answer(status.HTTP_201_CREATED, MoneyActionSerializer(action).data)

        return run_idempotently(
            request, endpoint="subscription_changes.create", commit=commit,
            prepare=lambda: _subscription_change(request))
