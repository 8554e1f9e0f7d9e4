"""The refund page: from a charge in the case's Stripe panel, the shared money-action page
flow (`money_actions.pages`): form, preview with the policy's verdicts, confirm once."""

from django.utils.text import capfirst
from django.views.decorators.http import require_http_methods

from billing_console.access import Capability, requires
from billing_console.money import format_amount, to_major_units_text
from billing_console.names import reason_label, stripe_name
from cases.replies import MoneyFacts
from money_actions.pages import ActionPage, Preview, action_page_view
from money_actions.policy import Verdict
from money_actions.selectors import refund_left_on
from refunds.forms import RefundForm
from refunds.kinds import REFUND
from refunds.selectors import (
    DUPLICATE_REASON_CODE,
    charge_kept,
    duplicate_names,
    duplicate_note,
    duplicate_run,
    refund_preview,
)
from refunds.services import (
    nothing_taken,
    refund_request,
    validate_against_charge,
    validate_request_fields,
)


class RefundPage(ActionPage):
    kind = REFUND
    title = "Refund a charge"
    noun = "refund"
    form_class = RefundForm
    summary_template = "refunds/_charge_summary.html"

    def __init__(self):
        self._runs = {}

    def form(self, charge, data=None):
        form = super().form(charge, data)
        form.fields["amount"].label = f"Amount ({charge.currency.upper()})"
        return form

    def initial(self, charge):
        """A full refund of what is left. For a likely duplicate, whether a suggestion or
        the charge's own "Refund…" opened the page, all a duplicate's refund says: Stripe's
        reason "duplicate", the internal reason and a note naming the charge kept."""
        remainder = refund_left_on(charge)
        initial = {"amount": to_major_units_text(remainder, charge.currency),
                   "currency": charge.currency, "stripe_reason": "requested_by_customer"}
        run = self._duplicate_run(charge)
        if run:
            initial["stripe_reason"] = "duplicate"
        if run and remainder:
            initial.update(reason_code=DUPLICATE_REASON_CODE,
                           note=duplicate_note(charge, charge_kept(run, charge), remainder))
        return initial

    def context(self, case, charge):
        remainder = refund_left_on(charge)
        return {"charge": charge, "remainder": remainder,
                "duplicates": self._duplicate_names(charge),
                "nothing_to_do": None if remainder else _nothing_to_refund(charge)}

    def _duplicate_names(self, charge):
        """The other charges of `charge`'s run of likely duplicates, named (`duplicate_names`)."""
        run = self._duplicate_run(charge)
        return [name for each, name in zip(run, duplicate_names(run), strict=True)
                if each.id != charge.id]

    def _duplicate_run(self, charge):
        """`duplicate_run`, read once for the form and its context (a page serves one
        request)."""
        if charge.id not in self._runs:
            self._runs[charge.id] = duplicate_run(charge)
        return self._runs[charge.id]

    def preview(self, *, case, target, form, user):
        amount = self._checked_amount(case, target, form)
        data = form.cleaned_data
        shown = refund_preview(charge=target, amount=amount,
                               stripe_reason=data["stripe_reason"], requester=user)
        warnings = list(shown["warnings"])
        suggested = shown["suggested_stripe_reason"]
        if suggested and data["stripe_reason"] != suggested:
            warnings.append(f"{_count_charges(shown['duplicate_charges'])} of the same "
                            "amount within the duplicate window look like duplicates of "
                            f"this one: consider the reason “{reason_label(suggested)}”.")
        warnings.extend(self._reply_names_another_amount(target, amount,
                                                         data["customer_reply"]))
        currency = target.currency
        return Preview(
            verdicts=[Verdict(**verdict) for verdict in shown["verdicts"]], warnings=warnings,
            confirm_label=f"Confirm refund of {format_amount(amount, currency)}", rows=[
                ("Charge", capfirst(stripe_name(target))),
                ("Can still be refunded",
                 f"{format_amount(shown['refundable_remainder'], currency)} of "
                 f"{format_amount(shown['captured'], currency)}"),
                ("The customer gets", shown["customer_gets"]),
                ("Reason", f"{reason_label(data['stripe_reason'])} · "
                           f"{reason_label(data['reason_code'])}")])

    def request(self, *, case, target, form, user, origin, prepared):
        amount = self._checked_amount(case, target, form)
        data = form.cleaned_data
        return refund_request(
            case=case, charge=target, amount=amount, currency=data["currency"],
            stripe_reason=data["stripe_reason"], reason_code=data["reason_code"],
            note=data["note"], customer_reply=data["customer_reply"], actor=user,
            origin=origin)

    @staticmethod
    def _checked_amount(case, charge, form):
        """Every check that needs no lock; the service repeats them under the charge's."""
        amount = form.minor_amount(charge.currency)
        data = form.cleaned_data
        validate_request_fields(stripe_reason=data["stripe_reason"],
                                reason_code=data["reason_code"], note=data["note"])
        validate_against_charge(case=case, charge=charge, amount=amount)
        return amount

    def _reply_names_another_amount(self, charge, amount, reply):
        """The drafted reply names the whole remainder; a partial refund's reply must not."""
        offered = self.facts(charge).amount
        whole = format_amount(offered, charge.currency)
        if amount == offered or whole not in reply:
            return []
        return [f"The reply to the customer says {whole}, but this refund is "
                f"{format_amount(amount, charge.currency)}: edit the reply before you "
                "confirm."]

    def facts(self, charge):
        """The whole remainder refunded to the card that paid the charge."""
        return MoneyFacts(resolution_code=REFUND.resolution_code,
                          amount=refund_left_on(charge), currency=charge.currency,
                          target_name=stripe_name(charge), target_noun=REFUND.target_noun,
                          card_last4=charge.card_last4, kind=REFUND.slug)


def _nothing_to_refund(charge):
    """(title, words) of the refund page of a charge with nothing left to refund."""
    if not_taken := nothing_taken(charge):
        return "Nothing to refund", not_taken
    return ("Nothing left to refund", "This charge has been refunded in full, or the rest is "
            "already requested. Its requests are on the case's timeline.")


def _count_charges(charge_ids):
    """"Another charge", "2 other charges"."""
    return "Another charge" if len(charge_ids) == 1 else f"{len(charge_ids)} other charges"


@requires(Capability.REQUEST_MONEY_ACTION)
@require_http_methods(["GET", "POST"])
def refund_new(request, case_pk, charge_id):
    return action_page_view(RefundPage(), request, case_pk, charge_id)
