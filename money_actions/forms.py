from django import forms


class DecisionForm(forms.Form):
    note = forms.CharField(required=False, max_length=5_000)
