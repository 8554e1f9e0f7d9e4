from django import forms


class DecisionForm(forms.Form):
    note = forms.CharField(required=False, max_length=5_000)
    # The amount the page showed: an approval covers that amount and no other.
    amount = forms.IntegerField(required=False, min_value=0)
