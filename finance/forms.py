"""Forms of finance's pages: a decision on a money action (approvals), and the period to
reconcile and a difference's explanation (reconciliation). The period's rules live in
`periods.Period`; the form only reads the dates."""

from django import forms

from billing_console.exceptions import ApplicationError
from finance.periods import Period

DATE_FORMAT_MESSAGE = "Enter the day as YYYY-MM-DD."


def _day_field(label, which):
    return forms.DateField(
        label=label, input_formats=["%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": DATE_FORMAT_MESSAGE,
                        "required": f"Give the {which} day of the period."})


class PeriodForm(forms.Form):
    start = _day_field("First day (UTC)", "first")
    end = _day_field("Last day (UTC)", "last")

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            cleaned["period"] = Period.to_reconcile(cleaned["start"], cleaned["end"])
        except ApplicationError as error:
            raise forms.ValidationError(error.message, code=error.code) from error
        return cleaned


class ExplainForm(forms.Form):
    # Which class the report was filtered by, to go back to the same view.
    shown = forms.CharField(required=False)
    note = forms.CharField(required=False, max_length=5000)


class DecisionForm(forms.Form):
    note = forms.CharField(required=False, max_length=5_000)
    # The amount the page showed: an approval covers that amount and no other.
    amount = forms.IntegerField(required=False, min_value=0)
