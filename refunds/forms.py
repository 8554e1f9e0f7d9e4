"""The refund form of the case page. It reads the input; the services apply the rules."""

from django import forms

from billing_console.exceptions import ApplicationError
from billing_console.money import to_minor_units
from refunds.models import ReasonCode, StripeReason
from refunds.services import validate_amount


class RefundForm(forms.Form):
    amount = forms.CharField(label="Amount", max_length=32,
                             error_messages={"required": "Enter the amount to refund."})
    # Sent back as shown, so an amount typed against one currency is never read in another.
    currency = forms.CharField(widget=forms.HiddenInput, max_length=3)
    stripe_reason = forms.ChoiceField(label="Reason given to Stripe",
                                      choices=StripeReason.choices)
    reason_code = forms.ChoiceField(label="Internal reason",
                                    error_messages={"required": "Choose an internal reason."})
    note = forms.CharField(label="Note (why, for the audit trail and the approver)",
                           max_length=5_000, widget=forms.Textarea(attrs={"rows": 3}),
                           error_messages={"required": "Write a note saying why."})
    customer_reply = forms.CharField(
        label="Public reply to the customer once the refund succeeds (optional)",
        required=False, max_length=20_000, widget=forms.Textarea(attrs={"rows": 4}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason_code"].choices = [
            ("", "Choose…"),
            *ReasonCode.objects.filter(active=True).values_list("code", "label")]

    def minor_amount(self, charge_currency):
        """The amount in minor units of the charge's currency; raises `ApplicationError`."""
        currency = self.cleaned_data["currency"]
        if currency.lower() != charge_currency.lower():
            raise ApplicationError(f"The charge is in {charge_currency.upper()}, not "
                                   f"{currency.upper()}. Start again from the charge.",
                                   "currency")
        amount = to_minor_units(self.cleaned_data["amount"], charge_currency)
        validate_amount(amount)
        return amount


class ConfirmKeyForm(forms.Form):
    """The key the preview hands to the confirm button: a double click confirms once."""

    request_key = forms.UUIDField(widget=forms.HiddenInput)
