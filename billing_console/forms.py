"""What the apps' forms share, and the sign-in form."""

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.validators import MaxLengthValidator

from billing_console.passwords import PASSWORD_MAX_LENGTH, TOO_LONG


class SharedPageForm(forms.Form):
    """A form on a page with others that have a field of the same name: its fields' ids
    start with `id_prefix`, so no two elements of the page share an id (a label would name
    another form's input). The names a browser sends, and so the views, stay the fields'
    own."""

    id_prefix = ""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", f"{self.id_prefix}-%s")
        super().__init__(*args, **kwargs)


# Django's words for a value no choice has quote it back, whatever its length (a 10 kB
# value posted for a <select> came back whole): every choice field says this instead, as
# Django's own ModelChoiceField does.
NOT_A_CHOICE = "Select a valid choice. That choice is not one of the available choices."


def refuse_choices_briefly():
    """Give every kind of choice field the words `NOT_A_CHOICE` for a value it does not
    offer (called once, from the app's `ready`, before any form is made)."""
    for field_class in (forms.ChoiceField, forms.MultipleChoiceField,
                        forms.ModelMultipleChoiceField):
        field_class.default_error_messages = {
            **field_class.default_error_messages, "invalid_choice": NOT_A_CHOICE}
    forms.ModelMultipleChoiceField.default_error_messages = {
        **forms.ModelMultipleChoiceField.default_error_messages,
        "invalid_pk_value": NOT_A_CHOICE}


class SignInForm(AuthenticationForm):
    """Django's sign-in form, the username held to the user model's length on the server
    too (Django sets it on the widget only), and the password to the longest a password
    may be: a longer one is a form error before anything hashes a password or counts a
    failure, so it never reaches Axes' table (a 500), nor locks anyone out."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].validators.append(
            MaxLengthValidator(self.fields["username"].max_length))
        self.fields["password"].validators.append(
            MaxLengthValidator(PASSWORD_MAX_LENGTH, message=TOO_LONG))
