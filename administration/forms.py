"""The administration pages' forms. They read what people type (amounts in the currency's
own units, "750.00" for USD) into the values the services take (minor units); the services
apply the rules."""

from django import forms

from administration.services import (
    CURRENCY_LIMIT_FIELDS,
    POLICY_RULE_BOUNDS,
    POLICY_RULE_LABELS,
    REQUESTING_ROLES,
)
from billing_console.access import Role
from billing_console.exceptions import ApplicationError
from billing_console.forms import SharedPageForm
from billing_console.money import decimal_places, to_major_units_text, to_minor_units
from billing_console.notes import NOTE_MAX_CHARS
from cases.models import IntakeRule, Priority, ResolutionCode
from cases.replies import PLACEHOLDERS

CURRENCY_LIMIT_LABELS = {
    "auto_approve_limit": "Auto-approve limit",
    "customer_window_limit": "One customer's total in the window",
    "take_approval_limit": "Money taken: approval above",
    "take_cap": "Money taken: never more than",
}
CURRENCY_LIMIT_HELP = {
    "auto_approve_limit": "Money given back above this, in one action, needs approval.",
    "customer_window_limit": "When what one customer got back in the window comes to more "
                             "than this, it needs approval.",
    "take_approval_limit": "Money taken from a customer (a balance debit, an item added to a "
                           "draft) above this needs approval.",
    "take_cap": "Money taken in one action above this is refused.",
}


def amount_field(label, currency, help_text=""):
    places = decimal_places(currency)
    example = "750" if places == 0 else "750." + "0" * places
    return forms.CharField(label=f"{label} ({currency.upper()})", help_text=help_text,
                           max_length=32, widget=forms.TextInput(attrs={
                               "inputmode": "decimal", "placeholder": example,
                               "autocomplete": "off"}))


class CurrencyLimitForm(forms.Form):
    """A currency's limits, typed in its major units; each cleans to minor units."""

    field_labels = CURRENCY_LIMIT_LABELS

    def __init__(self, *args, currency, row=None, **kwargs):
        if row is not None:
            kwargs.setdefault("initial", {
                name: to_major_units_text(getattr(row, name), currency)
                for name in CURRENCY_LIMIT_FIELDS})
        super().__init__(*args, **kwargs)
        self.currency = currency
        for name in CURRENCY_LIMIT_FIELDS:
            self.fields[name] = amount_field(CURRENCY_LIMIT_LABELS[name], currency,
                                             CURRENCY_LIMIT_HELP[name])

    def clean(self):
        cleaned = super().clean()
        for name in CURRENCY_LIMIT_FIELDS:
            if cleaned.get(name):
                try:
                    cleaned[name] = to_minor_units(cleaned[name], self.currency)
                except ApplicationError as error:
                    self.add_error(name, error.message)
        return cleaned


class NewCurrencyForm(SharedPageForm):
    id_prefix = "new-currency"
    currency = forms.CharField(label="Currency (ISO 4217, e.g. JPY)", min_length=3,
                               max_length=3)


class RoleLimitForm(SharedPageForm):
    id_prefix = "role-limit"
    role = forms.ChoiceField(choices=[(role.value, role.label) for role in REQUESTING_ROLES])
    currency = forms.CharField(label="Currency", min_length=3, max_length=3)
    limit = forms.CharField(label="Limit (blank removes it)", required=False, max_length=32,
                            widget=forms.TextInput(attrs={"inputmode": "decimal"}))

    def clean(self):
        cleaned = super().clean()
        text, currency = cleaned.get("limit", ""), cleaned.get("currency")
        if currency and text:
            try:
                cleaned["limit"] = to_minor_units(text, currency)
            except ApplicationError as error:
                self.add_error("limit" if error.code == "amount" else "currency",
                               error.message)
        elif currency:
            cleaned["limit"] = None
        return cleaned


class MoneyPolicyForm(forms.Form):
    charge_age_days = forms.IntegerField(
        label=POLICY_RULE_LABELS["charge_age_days"],
        min_value=POLICY_RULE_BOUNDS["charge_age_days"][0],
        max_value=POLICY_RULE_BOUNDS["charge_age_days"][1])
    customer_window_days = forms.IntegerField(
        label=POLICY_RULE_LABELS["customer_window_days"],
        min_value=POLICY_RULE_BOUNDS["customer_window_days"][0],
        max_value=POLICY_RULE_BOUNDS["customer_window_days"][1])
    duplicate_window_hours = forms.IntegerField(
        label=POLICY_RULE_LABELS["duplicate_window_hours"],
        min_value=POLICY_RULE_BOUNDS["duplicate_window_hours"][0],
        max_value=POLICY_RULE_BOUNDS["duplicate_window_hours"][1])
    fraudulent_needs_approval = forms.BooleanField(
        label="Money given back for fraud always needs approval", required=False)


class ReasonCodeAddForm(forms.Form):
    label = forms.CharField(label="New reason", max_length=120)


class ReasonCodeForm(forms.Form):
    label = forms.CharField(label="Reason", max_length=120)
    position = forms.IntegerField(label="Position", min_value=0, max_value=1_000)
    active = forms.BooleanField(label="Offered", required=False)


def _role_choices():
    return [(role.value, role.label) for role in Role]


class UserForm(forms.Form):
    first_name = forms.CharField(label="First name", max_length=150, required=False)
    last_name = forms.CharField(label="Last name", max_length=150, required=False)
    email = forms.EmailField(label="Email", required=False)
    roles = forms.MultipleChoiceField(label="Roles", choices=_role_choices, required=False,
                                      widget=forms.CheckboxSelectMultiple)
    is_active = forms.BooleanField(label="May sign in", required=False)
    zendesk_user_id = forms.IntegerField(
        label="Zendesk user id", required=False, min_value=1,
        help_text="A Tier 2 agent sees the cases this Zendesk agent escalated.")
    zendesk_group_id = forms.IntegerField(
        label="Zendesk group id", required=False, min_value=1,
        help_text="…and those escalated from this Zendesk group.")

    def clean_roles(self):
        return [Role(value) for value in self.cleaned_data["roles"]]


class NewUserForm(forms.Form):
    username = forms.CharField(label="Username", max_length=150)
    first_name = forms.CharField(label="First name", max_length=150, required=False)
    last_name = forms.CharField(label="Last name", max_length=150, required=False)
    email = forms.EmailField(label="Email", required=False)
    roles = forms.MultipleChoiceField(label="Roles", choices=_role_choices, required=False,
                                      widget=forms.CheckboxSelectMultiple)
    password = forms.CharField(label="First password", widget=forms.PasswordInput(
        attrs={"autocomplete": "new-password"}))

    def clean_roles(self):
        return [Role(value) for value in self.cleaned_data["roles"]]


class PasswordForm(forms.Form):
    password = forms.CharField(label="New password", widget=forms.PasswordInput(
        attrs={"autocomplete": "new-password"}))


class IntakeRuleForm(forms.Form):
    match = forms.ChoiceField(label="Tickets that become cases",
                              choices=IntakeRule.Match.choices,
                              widget=forms.RadioSelect)
    tag = forms.CharField(label="Zendesk tag", max_length=80, required=False)
    group_id = forms.IntegerField(label="Zendesk group id", required=False, min_value=1)


class SlaTargetsForm(forms.Form):
    """Two whole-hour fields per priority: `<priority>_first_response` and
    `<priority>_resolution`."""

    field_labels = {f"{priority.value}_{part}": f"{priority.label}: hours to {words}"
                    for priority in Priority
                    for part, words in (("first_response", "first response"),
                                        ("resolution", "resolution"))}

    def __init__(self, *args, targets=None, **kwargs):
        super().__init__(*args, **kwargs)
        for priority in Priority:
            target = (targets or {}).get(priority.value)
            for part in ("first_response", "resolution"):
                name = f"{priority.value}_{part}"
                self.fields[name] = forms.IntegerField(
                    label=self.field_labels[name], min_value=1,
                    initial=getattr(target, f"{part}_hours", None))

    def targets(self):
        """{priority: (first response hours, resolution hours)}, once valid."""
        return {priority: (self.cleaned_data[f"{priority}_first_response"],
                           self.cleaned_data[f"{priority}_resolution"])
                for priority in Priority.values}

class ReplyTemplateAddForm(forms.Form):
    """A new template; its page's forms each have a prefix ("new-reply", "reply-<id>"), so
    that their fields' names and ids differ."""

    name = forms.CharField(label="Name", max_length=120)
    resolution_code = forms.ChoiceField(
        label="Chosen after", required=False,
        choices=[("", "No resolution of its own"), *ResolutionCode.choices],
        help_text="The resolution form, after a money action of that kind, starts from it.")
    body = forms.CharField(label="Reply", max_length=NOTE_MAX_CHARS,
                           widget=forms.Textarea(attrs={"rows": 6}),
                           help_text="Placeholders the console fills in: "
                                     f"{', '.join(PLACEHOLDERS)}.")


class ReplyTemplateForm(ReplyTemplateAddForm):
    position = forms.IntegerField(label="Position", min_value=0, max_value=1_000)
    active = forms.BooleanField(label="Offered", required=False)
