"""The refund form of the case page, and what every money action's form shares: the
internal reason and the note. Forms read the input; the services apply the rules."""

from django import forms

from billing_console.exceptions import ApplicationError
from billing_console.money import to_minor_units
from refunds.models import ReasonCode, StripeReason
from refunds.services import validate_amount


class ReasonForm(forms.Form):
    """The fields every money action asks for, shown after the kind's own."""

    reason_code = forms.ChoiceField(label="Internal reason",
                                    error_messages={"required": "Choose an internal reason."})
    note = forms.CharField(label="Note (why, for the audit trail and the approver)",
                           max_length=5_000, widget=forms.Textarea(attrs={"rows": 3}),
                           error_messages={"required": "Write a note saying why."})

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason_code"].choices = [
            ("", "Choose…"),
            *ReasonCode.objects.filter(active=True).values_list("code", "label")]
        own = [name for name in self.fields if name not in ("reason_code", "note")]
        self.order_fields([*own, "reason_code", "note"])


def minor_units(text, currency):
    """Typed major units ("12.50") as minor units of `currency`; raises `ApplicationError`."""
    amount = to_minor_units(text, currency)
    validate_amount(amount)
    return amount


class RefundForm(ReasonForm):
    amount = forms.CharField(
        label="Amount", max_length=32,
        help_text="The whole remainder is filled in; lower it for a partial refund.",
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
        error_messages={"required": "Enter the amount to refund."})
    # Sent back as shown, so an amount typed against one currency is never read in another.
    currency = forms.CharField(widget=forms.HiddenInput, max_length=3)
    stripe_reason = forms.ChoiceField(label="Reason given to Stripe",
                                      choices=StripeReason.choices)
    customer_reply = forms.CharField(
        label="Public reply to the customer once the refund succeeds (optional)",
        required=False, max_length=20_000, widget=forms.Textarea(attrs={"rows": 4}))

    def minor_amount(self, charge_currency):
        """The amount in minor units of the charge's currency; raises `ApplicationError`."""
        currency = self.cleaned_data["currency"]
        if currency.lower() != charge_currency.lower():
            raise ApplicationError(f"The charge is in {charge_currency.upper()}, not "
                                   f"{currency.upper()}. Start again from the charge.",
                                   "currency")
        return minor_units(self.cleaned_data["amount"], charge_currency)
