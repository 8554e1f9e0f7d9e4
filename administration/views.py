"""The admin role's pages, under /manage/: the money policy in the currency's own units,
users with their roles, lock state and Zendesk tie, the intake rule and SLA targets, the
reply templates specialists start from, and the integrations' health (the Zendesk sync,
run now; tickets set aside and webhook events that gave up, each retried). Only
`MANAGE_CONSOLE` opens them. Every change goes through a service
(`administration.services`) and is audited; bad input is the form's error on the page
(400), never a 500."""

import logging

from django.contrib import messages
from django.contrib.auth.models import User
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from kombu.exceptions import OperationalError

from administration import forms, selectors, services
from audit.services import Origin
from billing_console.access import Capability, Role, requires
from billing_console.exceptions import ApplicationError
from billing_console.integrations import inbox, set_aside
from billing_console.money import format_amount, normalise_currency
from billing_console.names import person_name
from billing_console.parsing import whole_number
from cases.models import ReplyTemplate
from cases.services import inbound_event_retry, set_aside_ticket_retry
from cases.sync import sync_health
from cases.tasks import sync_zendesk
from money_actions.models import CurrencyLimit, ReasonCode

logger = logging.getLogger(__name__)
manages = requires(Capability.MANAGE_CONSOLE)


def _apply(form, change):
    """Run `change(cleaned_data)` when `form` is valid; a refusal becomes the form's error.
    Returns whether the change was made."""
    if not form.is_valid():
        return False
    try:
        change(form.cleaned_data)
    except ApplicationError as error:
        _refused(form, error)
        return False
    return True


def _refused(form, error):
    """A service's refusal, on the field it names when the form has one."""
    form.add_error(error.code if error.code in form.fields else None, error.message)


# --- Overview ------------------------------------------------------------------------------


@manages
@require_safe
def index(request):
    return render(request, "administration/index.html", {
        "health": selectors.integration_health(),
        "user_count": User.objects.filter(is_active=True).count(),
        "locked_count": len(selectors.locked_usernames()),
    })


# --- The money policy ----------------------------------------------------------------------


@manages
@require_safe
def policy(request):
    return _policy_page(request)


def _policy_page(request, *, status=200, rules_form=None, role_limit_form=None,
                 reason_add_form=None, currency_form=None, reason_forms=None):
    view = selectors.money_policy()
    rules = view.rules
    return render(request, "administration/policy.html", {
        "policy": view,
        "currency_limits": [_currency_limit_row(limit) for limit in view.currency_limits],
        "role_limits": [(Role(limit.role).label, limit.currency.upper(),
                         format_amount(limit.limit, limit.currency))
                        for limit in view.role_limits],
        "rules_form": rules_form or forms.MoneyPolicyForm(initial={
            name: getattr(rules, name) for name in forms.MoneyPolicyForm.base_fields}),
        "role_limit_form": role_limit_form or forms.RoleLimitForm(),
        "reason_add_form": reason_add_form or forms.ReasonCodeAddForm(),
        "currency_form": currency_form or forms.NewCurrencyForm(),
        "reason_rows": [(reason, (reason_forms or {}).get(reason.pk) or forms.ReasonCodeForm(
            initial={"label": reason.label, "position": reason.position,
                     "active": reason.active}, prefix=f"reason-{reason.pk}"))
                        for reason in view.reason_codes],
    }, status=status)


def _currency_limit_row(limit):
    return {"currency": limit.currency.upper(), "code": limit.currency,
            **{name: format_amount(getattr(limit, name), limit.currency)
               for name in services.CURRENCY_LIMIT_FIELDS}}


@manages
@require_POST
def policy_rules(request):
    form = forms.MoneyPolicyForm(request.POST)
    if _apply(form, lambda data: services.money_policy_set(
            rules=data, actor=request.user, origin=Origin.of(request))):
        messages.success(request, "The money policy's rules are saved.")
        return redirect("administration:policy")
    return _policy_page(request, status=400, rules_form=form)


@manages
@require_safe
def currency_add(request):
    """The "add a currency" form: on to that currency's own page, where its limits are set."""
    form = forms.NewCurrencyForm(request.GET)
    if form.is_valid():
        try:
            code = normalise_currency(form.cleaned_data["currency"])
        except ApplicationError as error:
            form.add_error("currency", error.message)
        else:
            return redirect("administration:currency-limit", currency=code.lower())
    return _policy_page(request, status=400, currency_form=form)


@manages
@require_http_methods(["GET", "HEAD", "POST"])
def currency_limit(request, currency):
    try:
        code = normalise_currency(currency)
    except ApplicationError as error:
        return render(request, "400.html", {"message": error.message,
                                            "retry_url": reverse("administration:policy")},
                      status=400)
    row = CurrencyLimit.objects.filter(currency=code.lower()).first()
    form = forms.CurrencyLimitForm(request.POST or None, currency=code, row=row)
    if request.method == "POST" and _apply(form, lambda data: services.currency_limit_set(
            currency=code, limits=data, actor=request.user, origin=Origin.of(request))):
        messages.success(request, f"The {code} limits are saved.")
        return redirect("administration:policy")
    return render(request, "administration/currency_limit.html", {
        "form": form, "currency": code, "new": row is None,
    }, status=400 if form.errors else 200)


@manages
@require_POST
def role_limit(request):
    form = forms.RoleLimitForm(request.POST)
    if _apply(form, lambda data: services.role_limit_set(
            role=data["role"], currency=data["currency"], limit=data["limit"],
            actor=request.user, origin=Origin.of(request))):
        messages.success(request, "The role's limit is saved.")
        return redirect("administration:policy")
    return _policy_page(request, status=400, role_limit_form=form)


@manages
@require_POST
def reason_add(request):
    form = forms.ReasonCodeAddForm(request.POST)
    if _apply(form, lambda data: services.reason_code_add(
            label=data["label"], actor=request.user, origin=Origin.of(request))):
        messages.success(request, f"The reason “{form.cleaned_data['label']}” is added.")
        return redirect("administration:policy")
    return _policy_page(request, status=400, reason_add_form=form)


@manages
@require_POST
def reason_change(request, pk):
    reason = get_object_or_404(ReasonCode, pk=pk)
    form = forms.ReasonCodeForm(request.POST, prefix=f"reason-{reason.pk}")
    if _apply(form, lambda data: services.reason_code_change(
            reason_code_id=reason.pk, label=data["label"], active=data["active"],
            position=data["position"], actor=request.user, origin=Origin.of(request))):
        messages.success(request, f"The reason “{form.cleaned_data['label']}” is saved.")
        return redirect("administration:policy")
    return _policy_page(request, status=400, reason_forms={reason.pk: form})


# --- Users ---------------------------------------------------------------------------------


@manages
@require_safe
def users(request):
    failure_limit, cooloff_minutes = selectors.lockout_rule()
    return render(request, "administration/users.html", {
        "rows": selectors.users(), "failure_limit": failure_limit,
        "cooloff_minutes": cooloff_minutes})


@manages
@require_http_methods(["GET", "HEAD", "POST"])
def user_add(request):
    form = forms.NewUserForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            person = services.user_create(**form.cleaned_data, actor=request.user,
                                          origin=Origin.of(request))
        except ApplicationError as error:
            _refused(form, error)
        else:
            messages.success(request, f"{person_name(person)} can now sign in.")
            return redirect("administration:user", pk=person.pk)
    return render(request, "administration/user_add.html", {"form": form},
                  status=400 if form.errors else 200)


@manages
@require_http_methods(["GET", "HEAD", "POST"])
def user(request, pk):
    person = get_object_or_404(User, pk=pk)
    form = forms.UserForm(request.POST or None, initial=_user_initial(request, person))
    if request.method == "POST" and _apply(form, lambda data: services.user_change(
            user_id=person.pk, **data, actor=request.user, origin=Origin.of(request))):
        messages.success(request, f"{person_name(person)} is saved.")
        return redirect("administration:user", pk=person.pk)
    return _user_page(request, person, form=form)


def _user_initial(request, person):
    row = selectors.user_row(person)
    return {"first_name": person.first_name, "last_name": person.last_name,
            "email": person.email, "is_active": person.is_active,
            "roles": [role.value for role in row.roles],
            "zendesk_user_id": row.zendesk_user_id, "zendesk_group_id": row.zendesk_group_id}


def _user_page(request, person, *, form=None, password_form=None):
    form = form or forms.UserForm(initial=_user_initial(request, person))
    password_form = password_form or forms.PasswordForm()
    return render(request, "administration/user.html", {
        "person": person, "row": selectors.user_row(person), "form": form,
        "password_form": password_form,
    }, status=400 if form.errors or password_form.errors else 200)


@manages
@require_POST
def user_password(request, pk):
    person = get_object_or_404(User, pk=pk)
    form = forms.PasswordForm(request.POST)
    if _apply(form, lambda data: services.user_password_set(
            user_id=person.pk, password=data["password"], actor=request.user,
            origin=Origin.of(request))):
        messages.success(request, f"{person_name(person)} has a new password; tell them "
                                  "through a channel only they read.")
        return redirect("administration:user", pk=person.pk)
    return _user_page(request, person, password_form=form)


@manages
@require_POST
def user_unlock(request, pk):
    person = get_object_or_404(User, pk=pk)
    try:
        services.user_unlock(user_id=person.pk, actor=request.user, origin=Origin.of(request))
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"{person_name(person)} is unlocked and can sign in again.")
    back = reverse("administration:user", args=[person.pk])
    return redirect(back if request.POST.get("back") == "user" else "administration:users")


# --- Intake and SLA ------------------------------------------------------------------------


@manages
@require_safe
def intake(request):
    return _intake_page(request)


def _intake_page(request, *, status=200, rule_form=None, sla_form=None):
    rule = selectors.intake_rule()
    return render(request, "administration/intake.html", {
        "rule_form": rule_form or forms.IntakeRuleForm(initial={
            "match": rule.match, "tag": rule.tag, "group_id": rule.group_id}),
        "sla_form": sla_form or forms.SlaTargetsForm(targets=selectors.sla_targets()),
    }, status=status)


@manages
@require_POST
def intake_rule(request):
    form = forms.IntakeRuleForm(request.POST)
    if _apply(form, lambda data: services.intake_rule_set(
            **data, actor=request.user, origin=Origin.of(request))):
        messages.success(request, "The intake rule is saved; the next sync applies it.")
        return redirect("administration:intake")
    return _intake_page(request, status=400, rule_form=form)


@manages
@require_POST
def sla_targets(request):
    form = forms.SlaTargetsForm(request.POST)
    if _apply(form, lambda data: services.sla_targets_set(
            targets=form.targets(), actor=request.user, origin=Origin.of(request))):
        messages.success(request, "The SLA targets are saved; cases opened from now on "
                                  "follow them.")
        return redirect("administration:intake")
    return _intake_page(request, status=400, sla_form=form)


# --- Reply templates -----------------------------------------------------------------------


@manages
@require_safe
def replies(request):
    return _replies_page(request)


def _replies_page(request, *, status=200, add_form=None, forms_by_id=None):
    """Each template as a form of its own, then the form that adds one; `forms_by_id`
    holds a refused form, as it was sent."""
    forms_by_id = forms_by_id or {}
    rows = [(template, forms_by_id.get(template.pk) or forms.ReplyTemplateForm(
        prefix=f"reply-{template.pk}", initial={
            field: getattr(template, field) for field in services.REPLY_TEMPLATE_FIELDS}))
        for template in ReplyTemplate.objects.all()]
    return render(request, "administration/replies.html", {
        "rows": rows, "add_form": add_form or forms.ReplyTemplateAddForm(prefix="new-reply"),
    }, status=status)


@manages
@require_POST
def reply_add(request):
    form = forms.ReplyTemplateAddForm(request.POST, prefix="new-reply")
    if _apply(form, lambda data: services.reply_template_add(
            name=data["name"], body=data["body"], resolution_code=data["resolution_code"],
            actor=request.user, origin=Origin.of(request))):
        messages.success(request, f"The template “{form.cleaned_data['name']}” is added.")
        return redirect("administration:replies")
    return _replies_page(request, status=400, add_form=form)


@manages
@require_POST
def reply_change(request, pk):
    template = get_object_or_404(ReplyTemplate, pk=pk)
    form = forms.ReplyTemplateForm(request.POST, prefix=f"reply-{template.pk}")
    if _apply(form, lambda data: services.reply_template_change(
            template_id=template.pk, name=data["name"], body=data["body"],
            resolution_code=data["resolution_code"], active=data["active"],
            position=data["position"], actor=request.user, origin=Origin.of(request))):
        messages.success(request, f"The template “{form.cleaned_data['name']}” is saved.")
        return redirect("administration:replies")
    return _replies_page(request, status=400, forms_by_id={template.pk: form})


# --- Integrations --------------------------------------------------------------------------


@manages
@require_http_methods(["GET", "POST"])
def integrations(request):
    """The Zendesk sync's state with "Sync now"; the tickets the database refused (set
    aside) and the webhook events that gave up after their retries, each with a retry."""
    if request.method == "POST":
        if "retry_event" in request.POST:
            return _retry_event(request)
        if "retry_ticket" in request.POST:
            return _retry_ticket(request)
        return _sync_now(request)
    return render(request, "administration/integrations.html", {
        "health": sync_health(),
        "rule": selectors.intake_rule(),
        "gave_up": inbox.gave_up(),
        "gave_up_count": inbox.gave_up_count(),
        "max_attempts": inbox.MAX_ATTEMPTS,
        "set_aside": set_aside.listed(),
        "set_aside_count": set_aside.count(),
    })


def _sync_now(request):
    try:
        sync_zendesk.delay()
    except OperationalError:
        logger.exception("Could not queue a Zendesk sync")
        messages.error(request, "The task queue is unreachable; the sync was not started. "
                                "The console tries again by itself every minute once the "
                                "queue is back.")
    else:
        messages.success(request, "Zendesk sync queued; it runs within seconds.")
    return redirect("administration:integrations")


def _retry_event(request):
    event_id = whole_number(request.POST["retry_event"])
    # The event is pending again: if the queue is down, the inbox's sweeper queues it.
    return _queue_again(
        request, lambda: inbound_event_retry(event_id=event_id, actor=request.user),
        unreachable="The task queue is unreachable; the event will run once it is back.",
        done=lambda event: f"{event.get_source_display()} event {event.event_id} queued to "
                           "run again.")


def _retry_ticket(request):
    ticket_id = whole_number(request.POST["retry_ticket"])
    return _queue_again(
        request, lambda: set_aside_ticket_retry(ticket_id=ticket_id, actor=request.user),
        unreachable="The task queue is unreachable; retry the ticket once it is back.",
        done=lambda _: f"Ticket {ticket_id} queued to be fetched again; it leaves this list "
                       "once it is stored.")


def _queue_again(request, retry, *, unreachable, done):
    """Run an admin's retry and say how it went, back on the integrations page."""
    try:
        retried = retry()
    except ApplicationError as error:
        messages.error(request, error.message)
    except OperationalError:
        logger.exception("Could not queue a retry from the integrations page")
        messages.error(request, unreachable)
    else:
        messages.success(request, done(retried))
    return redirect("administration:integrations")
