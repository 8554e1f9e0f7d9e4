"""What the apps' forms share, and the sign-in form."""

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.validators import MaxLengthValidator


class SharedPageForm(forms.Form):
    """A form on a page with others that have a field of the same name: its fields' ids
    start with `id_prefix`, so no two elements of the page share an id (a label would name
    another form's input). The names a browser sends, and so the views, stay the fields'
    own."""

    id_prefix = ""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", f"{self.id_prefix}-%s")
        super().__init__(*args, **kwargs)


class SignInForm(AuthenticationForm):
    """Django's sign-in form, the username held to the user model's length on the server
    too (Django sets it on the widget only): a longer one is a form error before anything
    checks a password or counts a failure, so it never reaches Axes' table (a 500)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].validators.append(
            MaxLengthValidator(self.fields["username"].max_length))
