"""The handover page's two forms: the moment to start from, and a note for the next shift."""

import re
from datetime import UTC, datetime

from django import forms

from billing_console.exceptions import ApplicationError
from billing_console.notes import NOTE_MAX_CHARS
from handover.selectors import chosen_since

# What a person types: YYYY-MM-DD HH:MM, in UTC (a "T" between the two, as a browser's
# date-and-time field sends it, is read too).
MOMENT = re.compile(r"(?P<day>[0-9]{4}-[0-9]{2}-[0-9]{2})[ T](?P<time>[0-9]{2}:[0-9]{2})")


class SinceForm(forms.Form):
    since = forms.CharField(label="Since (UTC)", required=False,
                            widget=forms.TextInput(attrs={"placeholder": "YYYY-MM-DD HH:MM"}))

    def __init__(self, *args, now, **kwargs):
        super().__init__(*args, **kwargs)
        self.now = now

    def clean_since(self):
        """A `Since` for the moment typed, None when blank."""
        typed = self.cleaned_data["since"].strip()
        if not typed:
            return None
        match = MOMENT.fullmatch(typed)
        try:
            if match is None:
                raise ValueError(typed)
            at = datetime.fromisoformat(f"{match['day']} {match['time']}").replace(tzinfo=UTC)
        except ValueError:
            raise forms.ValidationError("That is not a time: write it as YYYY-MM-DD HH:MM, "
                                        "in UTC (for example 2026-05-01 14:00).") from None
        try:
            return chosen_since(at, now=self.now)
        except ApplicationError as error:
            raise forms.ValidationError(error.message) from None


class NoteForm(forms.Form):
    body = forms.CharField(
        label="Your note for the next shift", max_length=NOTE_MAX_CHARS,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": "Write the note before leaving it."})
