"""Forms of the case page. They only read the input; the services apply the rules."""

from django import forms

from billing_console.notes import NOTE_MAX_CHARS
from cases.models import Category, Priority, ResolutionCode, State


class TransitionForm(forms.Form):
    to_state = forms.ChoiceField(label="Move to", choices=State.choices)


class AssignForm(forms.Form):
    assignee = forms.ChoiceField(choices=[("me", "Me"), ("nobody", "Nobody")])


class CategoryForm(forms.Form):
    category = forms.ChoiceField(choices=Category.choices)


class PriorityForm(forms.Form):
    priority = forms.ChoiceField(choices=Priority.choices)


class NoteForm(forms.Form):
    body = forms.CharField(label="Note", widget=forms.Textarea(attrs={"rows": 3}),
                           max_length=NOTE_MAX_CHARS,
                           error_messages={"required": "Write the note "
                                                              "before saving it."})
    post_to_zendesk = forms.BooleanField(label="Also post to Zendesk as an internal note",
                                         required=False)


class ResolveForm(forms.Form):
    code = forms.ChoiceField(label="Resolution code",
                             choices=[("", "Choose…"), *ResolutionCode.choices],
                             error_messages={"required": "Choose a resolution code."})
    summary = forms.CharField(label="Summary", widget=forms.Textarea(attrs={"rows": 3}),
                              max_length=NOTE_MAX_CHARS,
                              error_messages={"required": "Write a summary of the resolution."})
    public_reply = forms.CharField(label="Public reply to the customer (optional)",
                                   required=False, max_length=NOTE_MAX_CHARS,
                                   widget=forms.Textarea(attrs={"rows": 6}))


class StripeCustomerForm(forms.Form):
    customer_id = forms.CharField(label="Stripe customer", max_length=255)

