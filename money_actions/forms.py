"""What every money action's form shares: the internal reason and the note, and typed
amounts. Forms read the input; the services apply the rules."""

from django import forms

from billing_console.money import to_minor_units
from billing_console.notes import NOTE_MAX_CHARS
from money_actions.models import ReasonCode
from money_actions.policy import validate_amount


class ReasonForm(forms.Form):
    """The fields every money action asks for, shown after the kind's own."""

    reason_code = forms.ChoiceField(label="Internal reason",
                                    error_messages={"required": "Choose an internal reason."})
    note = forms.CharField(label="Note (why, for the audit trail and the approver)",
                           max_length=NOTE_MAX_CHARS, widget=forms.Textarea(attrs={"rows": 3}),
                           error_messages={"required": "Write a note saying why."})

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason_code"].choices = [
            ("", "Choose…"),
            *ReasonCode.objects.filter(active=True).values_list("code", "label")]
        own = [name for name in self.fields if name not in ("reason_code", "note")]
        self.order_fields([*own, "reason_code", "note"])

    def requester_words(self):
        """What the requester wrote, shown on the confirm page before money moves (a valid
        form only): {"reason": the internal reason's label, "note": the note,
        "customer_reply": the reply to the customer, "" when the kind has none}."""
        data = self.cleaned_data
        reasons = dict(self.fields["reason_code"].choices)
        return {"reason": reasons.get(data["reason_code"], data["reason_code"]),
                "note": data["note"], "customer_reply": data.get("customer_reply", "")}


def minor_units(text, currency):
    """Typed major units ("12.50") as minor units of `currency`; raises `ApplicationError`."""
    amount = to_minor_units(text, currency)
    validate_amount(amount)
    return amount
