from django import forms

from billing_console.forms import SharedPageForm
from billing_console.notes import NOTE_MAX_CHARS
from cases.models import Category
from guidance.models import Playbook


class PlaybookForm(forms.Form):
    title = forms.CharField(max_length=200)
    category = forms.ChoiceField(choices=Category.choices)
    body = forms.CharField(label="Text (Markdown)", widget=forms.Textarea(attrs={"rows": 18}))


class QuestionForm(forms.Form):
    body = forms.CharField(label="Your question", max_length=NOTE_MAX_CHARS,
                           widget=forms.Textarea(attrs={"rows": 4}),
                           error_messages={"required": "Write the question first."})
    case = forms.IntegerField(required=False, widget=forms.HiddenInput)


class AnswerForm(forms.Form):
    answer = forms.CharField(max_length=NOTE_MAX_CHARS, widget=forms.Textarea(attrs={"rows": 5}),
                             error_messages={"required": "Write the answer first."})


class PromoteForm(forms.Form):
    playbook = forms.ModelChoiceField(label="Add to playbook", queryset=Playbook.objects.all(),
                                      empty_label="Choose a playbook…",
                                      error_messages={"required": "Choose a playbook."})


class CaseGuidanceForm(SharedPageForm):
    id_prefix = "guidance"  # beside the case page's note form
    playbook = forms.ModelChoiceField(label="Start from a playbook", required=False,
                                      queryset=Playbook.objects.all())
    body = forms.CharField(label="Guidance for Tier 2 (Markdown)", required=False,
                           max_length=20_000, widget=forms.Textarea(attrs={"rows": 4}))
    post_to_zendesk = forms.BooleanField(label="Also post to the ticket as an internal note",
                                         required=False)

    def text(self):
        """What was written, or else the chosen playbook's text to start from."""
        data = self.cleaned_data
        if data["body"].strip():
            return data["body"]
        return data["playbook"].body if data["playbook"] else ""
