"""The refund pages: from a charge on the case page, a form, a preview with the policy's
verdicts, and a confirm button that requests the refund once however often it is pressed.

Reads of Stripe happen before any transaction; the request itself goes through
`refunds.services.refund_request`, like the API's.
"""

import uuid

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from audit.services import Origin
from billing_console.access import Capability, requires
from billing_console.exceptions import ApplicationError
from billing_console.integrations.stripe.errors import StripeGatewayError
from billing_console.money import format_amount, to_major_units_text
from cases.models import Case
from cases.selectors import reply_templates_for
from money_actions.idempotency import Answer, answer_once
from money_actions.models import State
from refunds.forms import ConfirmKeyForm, RefundForm
from refunds.selectors import duplicate_charges, read_charge, refund_preview, refundable_remainder
from refunds.services import refund_request, validate_against_charge, validate_request_fields

STRIPE_DOWN = "Stripe is not answering right now, so the charge cannot be read. Try again " \
              "in a minute; nothing has been refunded."


@requires(Capability.REQUEST_MONEY_ACTION)
@require_http_methods(["GET", "POST"])
def refund_new(request, case_pk, charge_id):
    case = get_object_or_404(Case, pk=case_pk)
    try:
        charge = read_charge(charge_id)
        if request.method == "GET":
            return _form_page(request, case, charge, RefundForm(initial=_initial(charge)))
        if "confirm" in request.POST:
            return _confirm(request, case, charge)
        if "edit" in request.POST:
            return _form_page(request, case, charge, RefundForm(request.POST))
        return _preview(request, case, charge)
    except StripeGatewayError:
        messages.error(request, STRIPE_DOWN)
        return redirect("cases:case", pk=case.pk)
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect("cases:case", pk=case.pk)


def _initial(charge):
    """Full refund of what is left, with the `duplicate` reason when one looks likely."""
    reason = "duplicate" if duplicate_charges(charge) else "requested_by_customer"
    return {"amount": to_major_units_text(refundable_remainder(charge), charge.currency),
            "currency": charge.currency, "stripe_reason": reason}


def _preview(request, case, charge):
    form = RefundForm(request.POST)
    try:
        amount = _checked_amount(form, case, charge)
    except ApplicationError as error:
        form.add_error(None, error.message)
        return _form_page(request, case, charge, form, status=400)
    preview = refund_preview(charge=charge, amount=amount,
                             stripe_reason=form.cleaned_data["stripe_reason"],
                             requester=request.user)
    return render(request, "refunds/preview.html", {
        "case": case, "charge": charge, "form": form, "preview": preview,
        "confirm_key": uuid.uuid4(), "shown_amount": format_amount(amount, charge.currency)})


def _checked_amount(form, case, charge):
    """Every check that needs no lock; the service repeats them under the charge's lock."""
    if not form.is_valid():
        raise ApplicationError("Check the fields marked below.", "invalid")
    amount = form.minor_amount(charge.currency)
    data = form.cleaned_data
    validate_request_fields(stripe_reason=data["stripe_reason"],
                            reason_code=data["reason_code"], note=data["note"])
    validate_against_charge(case=case, charge=charge, amount=amount)
    return amount


def _confirm(request, case, charge):
    """Request the refund once per confirm key. The checks run after the key's replay
    check, so a second click gets the first answer, not a complaint that the charge has
    nothing left to refund."""
    form, key = RefundForm(request.POST), ConfirmKeyForm(request.POST)
    try:
        if not key.is_valid():
            raise ApplicationError("This confirmation has expired; preview the refund again.",
                                   "request_key")
        answer = answer_once(
            user=request.user, key=str(key.cleaned_data["request_key"]),
            endpoint=f"refunds.page:{case.pk}:{charge.id}",
            body={name: request.POST.get(name, "") for name in RefundForm.base_fields},
            prepare=lambda: None, commit=lambda _: _request(request, case, charge, form))
    except ApplicationError as error:
        form.add_error(None, error.message)
        return _form_page(request, case, charge, form, status=400)
    messages.success(request, _requested_message(answer))
    return redirect("cases:case", pk=case.pk)


def _request(request, case, charge, form):
    amount = _checked_amount(form, case, charge)
    data = form.cleaned_data
    action = refund_request(
        case=case, charge=charge, amount=amount, currency=data["currency"],
        stripe_reason=data["stripe_reason"], reason_code=data["reason_code"],
        note=data["note"], customer_reply=data["customer_reply"], actor=request.user,
        origin=Origin.of(request))
    return Answer(201, {"id": str(action.pk), "state": action.state,
                        "amount": format_amount(action.amount, action.currency)})


def _requested_message(answer):
    amount = answer.body["amount"]
    if answer.body["state"] == State.PENDING_APPROVAL:
        return f"Refund of {amount} requested. It needs approval and waits for finance; " \
               "the decision will show on this case's timeline."
    return f"Refund of {amount} requested. It is within policy and on its way to Stripe."


def _form_page(request, case, charge, form, *, status=200):
    return render(request, "refunds/request.html", {
        "case": case, "charge": charge, "form": form,
        "remainder": refundable_remainder(charge),
        "duplicates": duplicate_charges(charge),
        "reply_templates": reply_templates_for(case=case),
    }, status=status)
