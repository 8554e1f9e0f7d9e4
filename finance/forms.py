"""Forms of finance's pages: a decision on a money action (approvals), and the period to
reconcile and a difference's explanation (reconciliation). The period's rules live in
`periods.Period`; the form only reads the dates."""

from django import forms

from billing_console.dates import EARLIEST_DAY, LATEST_DAY
from billing_console.exceptions import ApplicationError
from billing_console.notes import NOTE_MAX_CHARS
from finance.periods import Period

DATE_FORMAT_MESSAGE = "Enter the day as YYYY-MM-DD."


def _day_field(label):
    return forms.DateField(
        label=label, input_formats=["%Y-%m-%d"], required=False,
        widget=forms.DateInput(attrs={"type": "date", "min": EARLIEST_DAY.isoformat(),
                                      "max": LATEST_DAY.isoformat()}, format="%Y-%m-%d"),
        error_messages={"invalid": DATE_FORMAT_MESSAGE})


class PeriodForm(forms.Form):
    """Both days, or neither for this month so far (`Period.to_reconcile`)."""

    start = _day_field("First day (UTC)")
    end = _day_field("Last day (UTC)")

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            cleaned["period"] = Period.to_reconcile(cleaned.get("start"), cleaned.get("end"))
        except ApplicationError as error:
            raise forms.ValidationError(error.message, code=error.code) from error
        return cleaned


class ExplainForm(forms.Form):
    # Which class the report was filtered by, to go back to the same view.
    shown = forms.CharField(required=False)
    note = forms.CharField(required=False, max_length=NOTE_MAX_CHARS)


def chosen_ids(data):
    """The item ids a report's checkboxes sent (`item`, repeated); what is not a whole
    number is no item and is left out."""
    return [int(value) for value in data.getlist("item")
            if value.isascii() and value.isdigit() and len(value) < 19]


class DecisionForm(forms.Form):
    note = forms.CharField(label="Note", required=False, max_length=NOTE_MAX_CHARS)
    # The amount the page showed: an approval covers that amount and no other.
    amount = forms.IntegerField(label="Amount shown", required=False, min_value=0)
