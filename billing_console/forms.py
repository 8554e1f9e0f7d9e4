"""What the apps' forms share, the sign-in form, and the labels people know each field by.

A refusal names a field by the label its page shows ("Auto-approve limit"), never by the
name it is sent under ("auto_approve_limit"): `first_error` for a form's error shown above
its page, `parameter_label` for a refusal made before any view ran (a character no record
can contain). A form's fields have their labels (Django makes one of a field's name when
the form gives none, as the page shows it); a form whose fields are made as it is built
names them in its `field_labels`; the query parameters a page reads without a form (a
list's filters) are named by the app that reads them, from its AppConfig.ready
(`register_parameter_labels`).
"""

import inspect
import sys
from functools import cache
from pathlib import Path
from types import CodeType, ModuleType

from django import forms
from django.apps import apps
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import NON_FIELD_ERRORS
from django.core.validators import MaxLengthValidator
from django.forms.utils import pretty_name
from django.urls import Resolver404, resolve

from billing_console.names import in_words
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


# --- fields by their labels ----------------------------------------------------------------


def first_error(form):
    """The first error of an invalid bound `form`, for a message at the top of its page:
    "Label: what is wrong" for a field's, by the label the page shows; an error of the
    whole form as it is."""
    for name, errors in form.errors.items():
        if name == NON_FIELD_ERRORS:
            return errors[0]
        field = form.fields.get(name)
        label = field.label if field is not None and field.label else pretty_name(name)
        return f"{label}: {errors[0]}"
    return "That request could not be read."


# app label → {parameter: label}, of the parameters no form declares.
_PARAMETER_LABELS = {}


def register_parameter_labels(app_label, labels):
    """Name the query parameters the pages of `app_label` read without a form."""
    _PARAMETER_LABELS.setdefault(app_label, {}).update(labels)


def parameter_label(name, *, path):
    """The label people know the query or form parameter `name` of a request to `path` by:
    that of a form the view itself names (the form that was posted, where the view's module
    imports several with a field of that name: the case page's note and question both have
    a "body"), else of a form the view's module uses, else of the view's app (its forms' or
    its registered ones), else of any form of the console; else the name in words ("Line 0
    amount"), never the name as sent. A prefixed form's parameter ("reason-4-label") is
    named by its field ("label")."""
    view, view_module, app = _view_of(path)
    field = name.rpartition("-")[2]
    for labels in (_view_labels(view), _module_labels(view_module),
                   {**_app_form_labels().get(app, {}), **_PARAMETER_LABELS.get(app, {})},
                   _all_form_labels()):
        for key in (name, field):
            if labels.get(key):
                return labels[key]
    return in_words(field)


def _view_of(path):
    """(the view function at `path`, its decorators taken off; its module; its app's
    label), or (None, "", "") when no view is."""
    try:
        view = resolve(path).func
    except Resolver404:
        return None, "", ""
    module = getattr(getattr(view, "view_class", None) or getattr(view, "cls", None) or view,
                     "__module__", "")
    config = apps.get_containing_app_config(module)
    return inspect.unwrap(view), module, config.label if config is not None else ""


@cache
def _view_labels(view):
    """{field name: label} of the console's forms that the function `view` (or a function
    defined in it) names; {} for a class's view, or one that names none."""
    code = getattr(view, "__code__", None)
    if code is None:
        return {}
    scope = vars(sys.modules.get(view.__module__, ModuleType("")))
    labels = {}
    for name in _names_in(code):
        form_class = scope.get(name)
        if isinstance(form_class, type) and form_class in _console_forms():
            labels.update(form_labels(form_class))
    return labels


def _names_in(code):
    """The global names a function's code, and the code of the functions it defines, use."""
    yield from code.co_names
    for const in code.co_consts:
        if isinstance(const, CodeType):
            yield from _names_in(const)


def form_labels(form_class):
    """{field name: label} of `form_class`, as its page shows each: the field's label, or
    the one Django makes of its name; and its `field_labels`, for fields it makes as it is
    built."""
    labels = {name: field.label or pretty_name(name)
              for name, field in form_class.base_fields.items()}
    return {**labels, **getattr(form_class, "field_labels", {})}


@cache
def _console_forms():
    """{form class: its app's label} of every form of the console's own apps (not Django's
    or a package's), as the apps' modules have defined them by the time a request is
    answered (the URLs import every view, and the views their forms)."""
    root = Path(settings.BASE_DIR).resolve()
    found, waiting = {}, list(forms.BaseForm.__subclasses__())
    while waiting:
        form_class = waiting.pop()
        waiting.extend(form_class.__subclasses__())
        config = apps.get_containing_app_config(form_class.__module__)
        if config is not None and root in Path(config.path).resolve().parents:
            found[form_class] = config.label
    return found


@cache
def _app_form_labels():
    """{app label: {field name: label}} of the console's forms, app by app."""
    by_app = {}
    for form_class, app in _console_forms().items():
        by_app.setdefault(app, {}).update(form_labels(form_class))
    return by_app


@cache
def _all_form_labels():
    return {name: label for labels in _app_form_labels().values()
            for name, label in labels.items()}


@cache
def _module_labels(module_name):
    """{field name: label} of the console's forms that the module `module_name` (a view's)
    names: those it imported, and those of the modules of its own app it imported."""
    module = sys.modules.get(module_name)
    if module is None:
        return {}
    app = module_name.partition(".")[0]
    named = list(vars(module).values())
    named += [value for item in named if isinstance(item, ModuleType)
              and item.__name__.partition(".")[0] == app for value in vars(item).values()]
    labels = {}
    for form_class in named:
        if isinstance(form_class, type) and form_class in _console_forms():
            labels.update(form_labels(form_class))
    return labels
