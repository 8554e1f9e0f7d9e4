"""The refund form of the case page. Forms read the input; the services apply the rules."""

from django import forms

from billing_console.exceptions import ApplicationError
from billing_console.notes import NOTE_MAX_CHARS
from money_actions.forms import ReasonForm, minor_units
from refunds.models import StripeReason


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
        required=False, max_length=NOTE_MAX_CHARS,
        widget=forms.Textarea(attrs={"rows": 4}))

    def minor_amount(self, charge_currency):
        """The amount in minor units of the charge's currency; raises `ApplicationError`."""
        currency = self.cleaned_data["currency"]
        if currency.lower() != charge_currency.lower():
            raise ApplicationError(f"The charge is in {charge_currency.upper()}, not "
                                   f"{currency.upper()}. Start again from the charge.",
                                   "currency")
        return minor_units(self.cleaned_data["amount"], charge_currency)
