"""What the apps' forms share."""

from django import forms


class SharedPageForm(forms.Form):
    """A form on a page with others that have a field of the same name: its fields' ids
    start with `id_prefix`, so no two elements of the page share an id (a label would name
    another form's input). The names a browser sends, and so the views, stay the fields'
    own."""

    id_prefix = ""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", f"{self.id_prefix}-%s")
        super().__init__(*args, **kwargs)
