from django import forms


class CodeForm(forms.Form):
    """Six digits from the authenticator app, or a recovery code (letters and digits)."""

    code = forms.CharField(
        label="Code", max_length=32, strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autofocus": True,
                                      "spellcheck": "false", "autocapitalize": "off"}))
